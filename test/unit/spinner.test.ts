import { describe, expect, it } from 'vitest';
import { startSpinner } from '../../src/cli/spinner.js';
import type { Io } from '../../src/cli/io.js';

function fakeIo(isTTY: boolean, env: NodeJS.ProcessEnv = {}, columns = 80): { io: Io; written: () => string } {
  let out = '';
  const stream = { isTTY, write: (s: string) => ((out += s), true), columns, cursorTo: () => true, clearLine: () => true, moveCursor: () => true };
  return { io: { stdin: process.stdin, stdout: { write: () => true }, stderr: stream, env, cwd: '/' }, written: () => out };
}

describe('progress spinner', () => {
  it('draws on a terminal and clears itself', async () => {
    const { io, written } = fakeIo(true);
    const spinner = await startSpinner(io, 'Packing 12 files');
    await new Promise((r) => setTimeout(r, 150));
    spinner.stop();
    expect(written()).toContain('Packing 12 files');
  });

  it.each([
    ['not a terminal', false, {}, 80],
    ['in CI', true, { CI: 'true' }, 80],
    ['on a terminal of no width (ora would redraw forever)', true, {}, 0],
  ])('stays silent when %s', async (_name, isTTY, env, columns) => {
    const { io, written } = fakeIo(isTTY, env, columns);
    const spinner = await startSpinner(io, 'Packing');
    spinner.stop();
    expect(written()).toBe('');
  });
});

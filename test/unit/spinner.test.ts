import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { startSpinner } from '../../src/cli/spinner.js';
import type { Io } from '../../src/cli/io.js';

function fakeIo(isTTY: boolean, env: NodeJS.ProcessEnv = {}, columns = 80): { io: Io; written: () => string } {
  let out = '';
  // A cleared line shows in the output as <clear>.
  const stream = {
    isTTY,
    write: (s: string) => ((out += s), true),
    columns,
    cursorTo: () => true,
    clearLine: () => ((out += '<clear>'), true),
    moveCursor: () => true,
  };
  return {
    io: { stdin: process.stdin, stdout: { write: () => true }, stderr: stream, env, cwd: '/' },
    written: () => out,
  };
}

describe('progress spinner', () => {
  it('draws on a terminal and clears itself', async () => {
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const { io, written } = fakeIo(true);
    const spinner = await startSpinner(io, 'Packing 12 files');
    vi.advanceTimersByTime(150); // a frame or two, without waiting for them
    spinner.stop();
    expect(written().split('Packing 12 files').length - 1).toBeGreaterThan(1);
    expect(written().lastIndexOf('<clear>')).toBeGreaterThan(written().lastIndexOf('Packing 12 files'));
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

import { readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSources, findPython } from '../../src/check/python-syntax.js';
import { tempDir } from '../helpers/plugin.js';

const python = findPython(process.env);
const posix = process.platform !== 'win32';

const source = (p: string, text: string | Buffer) => ({ path: p, data: Buffer.from(text) });

/** An executable shell script standing in for Python. */
async function fakePython(body: string): Promise<string> {
  const file = path.join(await tempDir(), 'python3');
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('compiling Python sources', () => {
  it.skipIf(!python)('reports where each file fails to compile, as importing it would', async () => {
    const outcome = await compileSources(
      [
        source('ok.py', 'from x import y\n\n\ndef f():\n    return y\n'),
        source('colon.py', 'def f(:\n    pass\n'),
        source('accent.py', 'name = "héllo" )\n'),
        source('outside.py', 'return 1\n'),
        source('null.py', 'x = 1\0\n'),
        source('indent.py', 'if True:\npass\n'),
      ],
      process.env,
    );
    expect(outcome.ran).toBe(true);
    if (!outcome.ran) return;
    const found = outcome.errors.map((e) => [e.path, e.line, e.column, e.message.split(':')[0]]);
    // How a null byte is reported (position, SyntaxError or ValueError) depends on the version.
    expect(found.find((f) => f[0] === 'null.py')?.[3]).toMatch(/Error$/);
    expect(found.filter((f) => f[0] !== 'null.py')).toEqual([
      ['colon.py', 1, 7, 'SyntaxError'],
      ['accent.py', 1, 16, 'SyntaxError'], // columns count characters, not bytes
      ['outside.py', 1, 1, 'SyntaxError'],
      ['indent.py', 2, 1, 'IndentationError'],
    ]);
    expect(outcome.errors[2]!.message).toBe("SyntaxError: 'return' outside function");
  });

  it.skipIf(!python || !posix)('serves every plugin of a run from one Python process', async () => {
    const dir = await tempDir();
    const log = path.join(dir, 'started.log');
    const wrapper = path.join(dir, 'python-wrapper');
    await writeFile(wrapper, `#!/bin/sh\necho started >> "${log}"\nexec "${python}" "$@"\n`);
    await chmod(wrapper, 0o755);
    const env = { ...process.env, PYTHON_INTERPRETER_PATH: wrapper };
    const outcomes = await Promise.all(
      ['a', 'b', 'c'].map((name) => compileSources([source(`${name}.py`, `${name} = (\n`)], env)),
    );
    expect(outcomes.map((o) => o.ran && o.errors.map((e) => e.path))).toEqual([['a.py'], ['b.py'], ['c.py']]);
    expect(readFileSync(log, 'utf8')).toBe('started\n');
  });

  it('takes PYTHON_INTERPRETER_PATH as a path from the current directory when it has a separator', async () => {
    const dir = await tempDir();
    const fake = path.join(dir, 'py');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    const relative = `.${path.sep}${path.relative(process.cwd(), fake)}`;
    expect(findPython({ PYTHON_INTERPRETER_PATH: relative, PATH: dir })).toBe(fake);
    expect(findPython({ PYTHON_INTERPRETER_PATH: 'py', PATH: dir })).toBe(fake);
  });

  it('says why nothing was compiled when there is no Python', async () => {
    const env = { PATH: await tempDir() };
    expect(findPython(env)).toBeUndefined();
    expect(await compileSources([source('a.py', 'x = 1\n')], env)).toEqual({
      ran: false,
      reason: 'no python3 or python was found on PATH',
    });
  });

  it.skipIf(!posix)('says why when the interpreter fails, answers nonsense or hangs', async () => {
    const failing = await fakePython('echo "python: broken install" >&2\nexit 3');
    const failed = await compileSources([source('a.py', '')], { PYTHON_INTERPRETER_PATH: failing });
    expect(failed).toEqual({ ran: false, reason: `${failing} did not run the check (python: broken install)` });

    const talker = await fakePython('echo nonsense\nsleep 5');
    const talked = await compileSources([source('a.py', '')], { PYTHON_INTERPRETER_PATH: talker });
    expect(talked).toEqual({ ran: false, reason: `${talker} answered something else than the check's report` });

    const hanging = await fakePython('exec sleep 30');
    const started = Date.now();
    const hung = await compileSources([source('a.py', '')], { PYTHON_INTERPRETER_PATH: hanging }, 300);
    expect(hung).toEqual({ ran: false, reason: `${hanging} took longer than 0.3 s` });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

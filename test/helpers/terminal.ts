import { PassThrough } from 'node:stream';

export const KEY = { enter: '\r', down: '\x1b[B', up: '\x1b[A', space: ' ', ctrlC: '\x03', clearLine: '\x15' };

export type Terminal = ReturnType<typeof terminal>;

/**
 * A fake terminal for driving the @inquirer prompts in-process: keystrokes go in, the screen (without
 * colour codes) comes out. `answer` waits until a prompt appears on the screen after the last one
 * answered, then types.
 */
export function terminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  // Each prompt ends its output stream when done, as a real terminal shrugs off; keep ours open.
  const output = Object.assign(new PassThrough(), { end: () => output });
  let screen = '';
  output.on('data', (d: Buffer) => (screen += d.toString('utf8')));
  const plain = () => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  let from = 0;
  const answer = async (text: string, ...keys: string[]) => {
    const deadline = Date.now() + 5000;
    let at: number;
    while ((at = plain().indexOf(text, from)) < 0) {
      if (Date.now() > deadline) throw new Error(`prompt "${text}" never appeared; screen:\n${plain().slice(-800)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    from = at + text.length;
    for (const k of keys) input.write(k);
  };
  return { input, output, answer, plain };
}

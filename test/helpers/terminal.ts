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
  return { input, output, answer, plain, screen: () => visible(screen) };
}

/**
 * What a terminal would show after `raw`: the lines left once the cursor moves and erasures the
 * prompts use (ESC[nA up, ESC[nB down, ESC[nG column, ESC[K / ESC[2K erase) are applied, colour
 * codes dropped. Shows what a prompt leaves behind, which `plain` (everything ever written) cannot.
 */
function visible(raw: string): string {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const line = (lines[row] ?? '').padEnd(col);
    lines[row] = line.slice(0, col) + ch + line.slice(col + 1);
    col++;
  };
  for (const token of raw.match(/\x1b\[[0-9;?]*[A-Za-z]|[^]/g) ?? []) {
    const csi = /^\x1b\[([0-9;?]*)([A-Za-z])$/.exec(token);
    if (!csi) {
      if (token === '\n') {
        row++;
        col = 0;
        lines[row] ??= '';
      } else if (token === '\r') col = 0;
      else put(token);
      continue;
    }
    const n = Number(csi[1]) || 1;
    if (csi[2] === 'A') row = Math.max(0, row - n);
    else if (csi[2] === 'B') row += n;
    else if (csi[2] === 'G') col = n - 1;
    else if (csi[2] === 'K') lines[row] = csi[1] === '2' ? '' : (lines[row] ?? '').slice(0, col);
    lines[row] ??= '';
  }
  return lines.map((l) => l.trimEnd()).join('\n');
}

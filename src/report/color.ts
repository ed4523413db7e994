/** The few text styles the CLI uses; each returns its input unchanged when colour is off. */
export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
}

const ANSI: Record<keyof Colors, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
};

/**
 * Colour for one output stream: only on a terminal and without NO_COLOR, unless FORCE_COLOR
 * asks for it (`FORCE_COLOR=0` turns it off). Plain ANSI codes: a colour library would load
 * terminal-detection modules at start-up for what these few lines do.
 */
export function colorFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  const force = env.FORCE_COLOR;
  const enabled =
    force !== undefined && force !== ''
      ? force !== '0' && force !== 'false'
      : Boolean(stream.isTTY) && env.NO_COLOR === undefined;
  const style = (name: keyof Colors) => {
    const [open, close] = ANSI[name];
    return enabled ? (s: string) => `\x1b[${open}m${s}\x1b[${close}m` : (s: string) => s;
  };
  return {
    bold: style('bold'),
    dim: style('dim'),
    red: style('red'),
    green: style('green'),
    yellow: style('yellow'),
    blue: style('blue'),
  };
}

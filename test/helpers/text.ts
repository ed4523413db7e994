import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXAMPLE } from './plugin.js';

/** A file of the bundled example plugin, as text. */
export function exampleFile(rel: string): string {
  return readFileSync(path.join(EXAMPLE, rel), 'utf8');
}

/** `text` with each [from, to] replaced once; fails loudly when `from` is not there. */
export function edit(text: string, ...replacements: [string, string][]): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`edit: ${JSON.stringify(from)} not found`);
    out = out.replace(from, to);
  }
  return out;
}

/** 1-based number of the first line of `text` that contains `needle`. */
export function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`lineOf: ${JSON.stringify(needle)} not found`);
  return index + 1;
}

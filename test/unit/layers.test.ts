import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/plugin.js';

/**
 * The folders of src/, bottom to top (docs/development.md, "Layout"). A module may import from its own folder
 * and from the layers below it, never from a layer above or a sibling of its own layer: that keeps
 * the folder-level import graph free of cycles and tells a reader where any behaviour lives.
 */
const LAYERS: string[][] = [
  ['diagnostics', 'generated', 'package-root.ts', 'package-files.ts', 'version.ts'],
  ['project'],
  ['check', 'pack'],
  ['debug', 'scaffold'],
  ['edit', 'bundle'],
  ['pipelines'],
  ['report'],
  ['cli'],
];

const SRC = path.join(REPO, 'src');

/** The top-level folder (or root file) of src/ that a path belongs to. */
const unitOf = (file: string) => path.relative(SRC, file).split(path.sep)[0]!;
const layerOf = (unit: string) => LAYERS.findIndex((layer) => layer.includes(unit));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of static and dynamic imports. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)].map((m) => m[1]!);
}

describe('src/ layers', () => {
  const files = sources(SRC);

  it('places every folder of src/ in a layer', () => {
    const units = [...new Set(files.map(unitOf))];
    expect(units.filter((u) => layerOf(u) < 0)).toEqual([]);
  });

  it('imports only from the same folder or from layers below', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = unitOf(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const to = unitOf(path.resolve(path.dirname(file), spec));
        if (to !== from && layerOf(to) >= layerOf(from)) wrong.push(`${path.relative(REPO, file)} imports ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('prints and exits only in src/cli', () => {
    const offenders = files
      .filter((f) => unitOf(f) !== 'cli')
      .filter((f) => /\bconsole\.|process\.(exit|stdout|stderr)\b/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(REPO, f));
    expect(offenders).toEqual([]);
  });
});

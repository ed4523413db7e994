// Builds a ~50 MB plugin for `npm run bench`: the bundled example plus hundreds of Python sources
// and large assets of both kinds a real plugin ships (compressible data, incompressible images).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Deterministic bytes (no Math.random): the same tree, and the same figures, on every run. */
function noise(length, seed) {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, length - 4));
  }
  return out;
}

export function makeLargePlugin(example, dest) {
  cpSync(example, dest, { recursive: true });
  const sources = path.join(dest, 'tools', 'generated');
  mkdirSync(sources, { recursive: true });
  for (let i = 0; i < 400; i++) {
    const body = Array.from(
      { length: 600 },
      (_, j) => `    value_${j} = compute(${i}, ${j}, "line ${j} of module ${i}")\n`,
    ).join('');
    writeFileSync(
      path.join(sources, `module_${String(i).padStart(3, '0')}.py`),
      `def run_${i}(compute):\n${body}    return value_0\n`,
    );
  }
  const assets = path.join(dest, '_assets', 'media');
  mkdirSync(assets, { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(path.join(assets, `photo_${i}.png`), noise(4 * 1024 * 1024, i + 1));
  for (let i = 0; i < 40; i++) writeFileSync(path.join(assets, `thumb_${i}.png`), noise(200 * 1024, 100 + i));
  writeFileSync(
    path.join(dest, '_assets', 'data.json'),
    JSON.stringify(Array.from({ length: 60000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] }))),
  );
}

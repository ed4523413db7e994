// Hostile packages as a process shows them: a header's size must never reach an allocation (Node
// aborts with exit 134 and a C++ assertion, which no in-process test survives), and reading many
// entries must not print Node warnings on stderr.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dify } from '../helpers/cli.js';
import { EXAMPLE, tempDir } from '../helpers/plugin.js';
import { craftZip, filesOf } from '../helpers/zip-craft.js';

const STACK = /^\s+at /m;

describe('hostile packages, run as a process', () => {
  it('a compressed size of 2 GiB or more in a header is an error, not an abort', async () => {
    const file = path.join(await tempDir(), 'liar.difypkg');
    const entries = filesOf(EXAMPLE).map((e) =>
      e.name === 'manifest.yaml' ? { ...e, method: 8, compressedSize: 2 ** 31 } : e,
    );
    await writeFile(file, craftZip(entries));
    const results = await Promise.all([
      dify(['plugin', 'package', '--check', file]),
      dify(['plugin', 'checksum', file]),
      dify(['plugin', 'module', 'list', file]),
      dify(['signature', 'verify', file]),
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/"manifest\.yaml": its data \(2147483648 bytes from its header\) runs past/);
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stderr).not.toMatch(/Assertion|Warning/);
    }
  });

  it('reading a package of many entries prints no Node warning', async () => {
    const file = path.join(await tempDir(), 'many.difypkg');
    const extra = Array.from({ length: 30 }, (_, i) => ({ name: `data/${i}.txt`, data: 'x'.repeat(i) }));
    // All deflated, as the packer writes them.
    await writeFile(file, craftZip([...filesOf(EXAMPLE), ...extra].map((e) => ({ ...e, method: 8 }))));
    const [sum, check] = await Promise.all([
      dify(['plugin', 'checksum', file]),
      dify(['plugin', 'package', '--check', file, '--format', 'json']),
    ]);
    expect(sum.code, sum.stderr).toBe(0);
    expect(sum.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(check.code, check.stderr).toBe(0);
    expect(sum.stderr + check.stderr).toBe('');
  });
});

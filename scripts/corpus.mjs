// `npm run corpus -- <dir>`: checks every plugin below <dir> (for example a checkout of
// langgenius/dify-official-plugins) as `package --check` and `run --dry-run` do, and prints the
// plugins with errors and every finding only remote debugging enforces. Exits 1 when a plugin
// has an error, so a change that adds a false error to a published plugin is seen at once.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dify.js');
const base = process.argv[2];
if (!base) {
  console.error('usage: npm run corpus -- <directory holding plugins>');
  process.exit(2);
}

/** Every directory below `dir` holding a manifest.yaml (not looking inside a plugin or a dot-directory). */
function plugins(dir) {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name === 'manifest.yaml')) return [dir];
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .flatMap((e) => plugins(path.join(dir, e.name)))
    .sort();
}

const dirs = plugins(path.resolve(base));
const env = { ...process.env, NO_COLOR: '1' };
const check = spawnSync(process.execPath, [bin, 'plugin', 'package', '--check', '--format', 'json', ...dirs], {
  encoding: 'utf8',
  env,
  maxBuffer: 256 * 1024 * 1024,
});
const { results } = JSON.parse(check.stdout);
let failed = 0;
let remoteOnly = 0;
for (const r of results) {
  const rel = path.relative(base, r.path);
  for (const d of r.diagnostics) {
    if (d.severity === 'error') console.log(`error    ${rel}/${d.file}:${d.line}  ${d.code}  ${d.message}`);
    else if (d.scope === 'remote-debug') console.log(`remote   ${rel}/${d.file}:${d.line}  ${d.code}`);
    if (d.scope === 'remote-debug') remoteOnly++;
  }
  if (!r.ok) failed++;
}
let unprinted = 0;
for (const dir of dirs) {
  const run = spawnSync(process.execPath, [bin, 'plugin', 'run', '--dry-run', '--key', '0'.repeat(32), dir], {
    encoding: 'utf8',
    env,
    maxBuffer: 256 * 1024 * 1024, // assets travel base64-encoded in the registration
  });
  if (!run.stdout.trimEnd().endsWith('{"type":"end","data":{}}')) {
    unprinted++;
    console.log(`no registration  ${path.relative(base, dir)}`);
  }
}
console.log(
  `${dirs.length} plugins: ${failed} with errors, ${remoteOnly} findings only remote debugging enforces, ` +
    `${dirs.length - unprinted} registrations printed by run --dry-run`,
);
process.exit(failed ? 1 : 0);

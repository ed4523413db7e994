// Bundles the CLI from src/ into one CommonJS file, dist/dify.cjs, then runs it once so that
// bin/dify.js stores V8's compiled code beside it (dist/dify.cjs.cache). One file and a code
// cache make start-up cheap on Node 20, where ES modules pay a loader cost per file and there is
// no built-in compile cache. Type checking is tsc's job (npm run build).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/dify.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: process.env.NO_MINIFY !== '1',
  sourcemap: true,
  legalComments: 'none',
  charset: 'ascii', // bin/dify.js reads the bundle as latin1, which is exact only for ASCII
  logLevel: 'warning',
  // The sources are ES modules; the one thing CommonJS lacks is import.meta.url.
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// A representative run fills the code cache (see bin/dify.js).
const warm = spawnSync(process.execPath, ['bin/dify.js', 'plugin', 'package', '--check', 'examples/hello-world'], { stdio: 'ignore' });
if (warm.status !== 0) throw new Error(`bundle: the warm-up run of the built CLI exited ${warm.status}`);

// Bundles the CLI from src/ into dist/dify.js plus one lazily loaded chunk per command, so start-up
// reads a handful of files instead of hundreds of modules. Type checking is tsc's job (npm run build).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { dify: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Chunks sit beside dify.js so `../package.json` resolves the same from every file.
  chunkNames: '[name]-[hash]',
  sourcemap: true,
  legalComments: 'none',
  minify: process.env.NO_MINIFY !== '1',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); give them one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

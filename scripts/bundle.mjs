// Bundles the CLI from src/ into one CommonJS file, dist/dify.cjs, which bin/dify.js runs
// through a V8 code cache that it keeps in the user's cache directory. One file and a code cache
// make start-up cheap on Node 20, where ES modules pay a loader cost per file and there is no
// built-in compile cache. Type checking is tsc's job (npm run build).
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * esbuild keeps `await import('node:x')` as a real dynamic import, which a bundle run through
 * vm.Script (bin/dify.js) cannot perform; as a lazily required module it loads just as late.
 */
const lazyBuiltins = {
  name: 'lazy-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * commander requires node:child_process when loaded, for running subcommands as separate
 * executables, which this CLI never does; loading it (and net, dgram and streams with it) costs
 * every run a few milliseconds. Here commander gets it when it spawns, if ever.
 */
const lazyCommanderChildProcess = {
  name: 'lazy-commander-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(eager)) throw new Error(`bundle: ${args.path} no longer has "${eager}"`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
// Replaced below by a hash of the bundle, the same length so that the source map still fits:
// bin/dify.js names its code cache after it, since V8 would take a cache made for other source
// of the same length.
const unhashed = '0'.repeat(16);

rmSync('dist', { recursive: true, force: true });
await build({
  plugins: [lazyBuiltins, lazyCommanderChildProcess],
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
  banner: {
    js: `/*dify-plugin-cli ${version} build ${unhashed}*/const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;`,
  },
});

const code = readFileSync('dist/dify.cjs', 'latin1');
if (/\bimport\(/.test(code))
  throw new Error('bundle: dist/dify.cjs still has a dynamic import(), which bin/dify.js cannot run');
const buildId = createHash('sha256').update(code).digest('hex').slice(0, unhashed.length);
writeFileSync('dist/dify.cjs', code.replace(`build ${unhashed}*/`, `build ${buildId}*/`), 'latin1');

// Bundles the CLI from src/ into one CommonJS file, dist/dify.cjs, then runs it once so that
// bin/dify.js stores V8's compiled code beside it (dist/dify.cjs.cache). One file and a code
// cache make start-up cheap on Node 20, where ES modules pay a loader cost per file and there is
// no built-in compile cache. Type checking is tsc's job (npm run build).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
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
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

if (/\bimport\(/.test(readFileSync('dist/dify.cjs', 'latin1')))
  throw new Error('bundle: dist/dify.cjs still has a dynamic import(), which bin/dify.js cannot run');

// A representative run fills the code cache (see bin/dify.js): a check of the example plugin and
// of the published plugins kept as test data, one of every kind, with warnings and a uv.lock,
// so that the code checking any kind of plugin is compiled already. Warmed on the example alone,
// the cache was half the size (0.54 MB, not 1.1 MB), and a check of a datasource or trigger
// plugin compiled about 60 million instructions' worth of code at run time, 10 % of the run;
// the larger cache costs every run about 1.5 % (callgrind, `--version`).
const fixtures = path.join('test', 'fixtures', 'real');
const plugins = ['examples/hello-world'];
if (existsSync(fixtures)) plugins.push(...readdirSync(fixtures).map((name) => path.join(fixtures, name)));
const warm = spawnSync(process.execPath, ['bin/dify.js', 'plugin', 'package', '--check', ...plugins], {
  stdio: 'ignore',
  env: { ...process.env, PATH: '', UV_PATH: '' }, // the native uv.lock check, not uv
});
if (warm.status !== 0) throw new Error(`bundle: the warm-up run of the built CLI exited ${warm.status}`);

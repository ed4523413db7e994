// Writes docs/rules.md (see scripts/rules-doc.ts), compiling the TypeScript on the fly.
import { mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const { outputFiles } = await build({
  entryPoints: ['scripts/rules-doc.ts'],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  // import.meta.dirname must still point at scripts/ once bundled into a data: URL.
  define: { 'import.meta.dirname': JSON.stringify(new URL('.', import.meta.url).pathname.replace(/\/$/, '')) },
});
const mod = await import('data:text/javascript;base64,' + Buffer.from(outputFiles[0].text).toString('base64'));
mkdirSync('docs', { recursive: true });
writeFileSync('docs/rules.md', mod.renderRulesDoc());
console.log('docs/rules.md written');

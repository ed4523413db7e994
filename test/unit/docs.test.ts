import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRulesDoc, schemaMapFields } from '../../scripts/rules-doc.js';
import { RULE_CATALOG } from '../../src/diagnostics/catalog.js';
import { NAME_KEYED_FIELDS } from '../../src/check/schema.js';
import { REPO } from '../helpers/plugin.js';

describe('docs/rules.md', () => {
  const committed = readFileSync(path.join(REPO, 'docs', 'rules.md'), 'utf8');

  it('is up to date with the catalogue and the schemas (npm run docs:rules)', () => {
    expect(committed).toBe(renderRulesDoc());
  });

  it('documents every rule checked in code with its severity', () => {
    for (const [code, info] of Object.entries(RULE_CATALOG))
      expect(committed).toContain(`| \`${code}\` | ${info.severity} |`);
  });

  it('names author-chosen keys * for exactly the map fields of the schemas', () => {
    expect([...schemaMapFields()].sort()).toEqual([...NAME_KEYED_FIELDS].sort());
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(text: string): Set<string> {
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));
}

describe('README.md and docs/', () => {
  const docs = ['README.md', ...readdirSync(path.join(REPO, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
    f.endsWith('.md'),
  );

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(path.join(REPO, doc), 'utf8');
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file = '', anchor] = target.split('#');
        const resolved = file ? path.join(path.dirname(path.join(REPO, doc)), file) : path.join(REPO, doc);
        if (!existsSync(resolved)) broken.push(`${doc}: ${target}`);
        else if (anchor && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor))
          broken.push(`${doc}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('keep the two set-up commands of a fresh checkout under "## Develop" in README.md', () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const develop = readme.slice(readme.indexOf('\n## Develop\n'));
    expect(develop).toMatch(
      /```sh\nnpm ci && npm run build && node bin\/dify\.js plugin package examples\/hello-world .*\nnpm test .*\n```/,
    );
  });
});

import { readFileSync } from 'node:fs';
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

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { className, distributionName, title } from '../../src/scaffold/answers.js';
import { validate } from '../../src/project/manifest-fields.js';
import { render, TemplateError } from '../../src/scaffold/render.js';
import { scaffoldFiles } from '../../src/scaffold/files.js';
import { REPO } from '../helpers/plugin.js';

describe('template renderer', () => {
  it('substitutes variables without any escaping', () => {
    expect(render('name: {{name}} <{{desc}}>', { name: 'a', desc: `it's "quoted" & <b>` })).toBe(
      `name: a <it's "quoted" & <b>>`,
    );
  });

  it('keeps or drops if/else blocks, nested', () => {
    const t = '{{#if repo}}repo: {{repo}}{{else}}no repo{{/if}}|{{#if a}}A{{#if b}}B{{/if}}{{/if}}';
    expect(render(t, { repo: 'u', a: true, b: '' })).toBe('repo: u|A');
    expect(render(t, { repo: '', a: false, b: 'x' })).toBe('no repo|');
  });

  it('leaves GitHub Actions expressions alone', () => {
    expect(render('ref: ${{ github.ref_name }} {{name}}', { name: 'n' })).toBe('ref: ${{ github.ref_name }} n');
  });

  it('refuses unknown variables and unbalanced blocks', () => {
    expect(() => render('{{nope}}', {})).toThrow(TemplateError);
    expect(() => render('{{#if a}}x', { a: true })).toThrow(/not closed/);
    expect(() => render('x{{/if}}', {})).toThrow(/without/);
  });
});

describe('names', () => {
  it.each([
    ['my_plugin', 'MyPlugin'],
    ['my-cool_plugin', 'MyCoolPlugin'],
    ['a__b', 'AB'],
    ['-lead', 'Lead'],
    ['trail_', 'Trail'],
    ['3d_tool', 'Plugin3dTool'],
    ['_', 'Plugin'],
  ])('class name of %s is %s', (name, expected) => {
    expect(className(name)).toBe(expected);
  });

  it('labels are title case, and never empty', () => {
    expect(title('my-cool_plugin')).toBe('My Cool Plugin');
    expect(title('_-')).toBe('_-');
  });

  it.each([
    ['my_tool', 'my_tool'],
    ['_tool_', 'tool'],
    ['-_-', 'dify-plugin'],
  ])('pyproject name of %s is %s', (name, expected) => {
    expect(distributionName(name)).toBe(expected);
  });
});

describe('answer rules', () => {
  it('state the rule in the message', () => {
    expect(validate.name('My Plugin')).toMatch(/lowercase/);
    expect(validate.name('my_plugin')).toBe(true);
    expect(validate.author('x'.repeat(65))).toMatch(/1-64/);
    expect(validate.description('  ')).toMatch(/sentence/);
    expect(validate.repo('ftp://x')).toMatch(/http/);
    expect(validate.repo('')).toBe(true);
    expect(validate.minDifyVersion('1.9')).toMatch(/1\.9\.0/);
    expect(validate.storageSize(1023)).toMatch(/1024/);
    expect(validate.storageSize(1048576)).toBe(true);
  });
});

describe('templates', () => {
  // npm-packlist drops these wherever they are in a package, so the installed CLI would lack them.
  const DROPPED_BY_NPM = new Set(['.gitignore', '.npmignore', '.npmrc', 'package-lock.json', 'node_modules']);

  it('hold no file that npm leaves out of the published package', () => {
    const names = readdirSync(path.join(REPO, 'templates'), { recursive: true, encoding: 'utf8' }).map((p) =>
      path.basename(p),
    );
    expect(names).toContain('gitignore');
    expect(names.filter((n) => DROPPED_BY_NPM.has(n))).toEqual([]);
  });

  it('give every plugin and bundle a .gitignore; a plugin keeps .env out of git', () => {
    const ctx = { now: new Date(0), cliVersion: '0.0.0' };
    const base = { name: 'x', author: 'acme', description: 'x', repo: '', language: 'python' as const };
    const more = { readmeLanguages: [], permissions: [], storageSize: 1048576, minDifyVersion: '' };
    const file = (category: 'tool' | 'bundle') =>
      scaffoldFiles({ ...base, ...more, category }, ctx)
        .find((f) => f.path === '.gitignore')
        ?.data.toString();
    expect(file('tool')).toMatch(/^\.env$/m);
    expect(file('bundle')).toMatch(/^\*\.difybndl$/m);
  });
});

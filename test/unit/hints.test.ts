import { describe, expect, it } from 'vitest';
import { closestPath } from '../../src/diagnostics/suggest.js';
import { diagnosticsOf, pluginWith } from '../helpers/plugin.js';
import { edit, exampleFile } from '../helpers/text.js';

const MANIFEST = exampleFile('manifest.yaml');
const PROVIDER = exampleFile('provider/hello_world.yaml');
const TOOL = exampleFile('tools/greet.yaml');

/** The hint of the one finding with `code`. */
async function hintOf(files: Record<string, string | null>, code: string): Promise<string | undefined> {
  const found = (await diagnosticsOf(await pluginWith(files))).filter((d) => d.code === code);
  expect(found).toHaveLength(1);
  return found[0]!.hint;
}

describe('a version written as a number', () => {
  it.each([
    ['1.0', '1.0.0'],
    ['1', '1.0.0'],
    ['1.2', '1.2.0'],
  ])('version: %s proposes "%s", which passes the version rule', async (written, proposed) => {
    const text = edit(MANIFEST, ['version: 0.0.1\ntype', `version: ${written}\ntype`]);
    expect(await hintOf({ 'manifest.yaml': text }, 'manifest/version-type')).toBe(
      `quote it as a three-part version: version: "${proposed}"`,
    );
    const fixed = edit(MANIFEST, ['version: 0.0.1\ntype', `version: "${proposed}"\ntype`]);
    const left = await diagnosticsOf(await pluginWith({ 'manifest.yaml': fixed }));
    expect(left.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('meta.version too; a runtime version is only quoted', async () => {
    const meta = edit(MANIFEST, ['meta:\n  version: 0.0.1', 'meta:\n  version: 0.1']);
    expect(await hintOf({ 'manifest.yaml': meta }, 'manifest/meta.version-type')).toBe(
      'quote it as a three-part version: version: "0.1.0"',
    );
    const runner = edit(MANIFEST, ['version: "3.12"', 'version: 3.10']);
    expect(await hintOf({ 'manifest.yaml': runner }, 'manifest/meta.runner.version-type')).toBe(
      'quote it: version: "3.10"',
    );
  });
});

describe('closestPath', () => {
  const files = ['tools/greet.yaml', 'tools/farewell.yaml', 'provider/hello.yaml', 'provider/greet.py', 'icon.svg'];

  it('finds the path in another letter case, a misspelt name, another extension, another directory', () => {
    expect(closestPath('Tools/Greet.yaml', files)).toBe('tools/greet.yaml');
    expect(closestPath('tools/gret.yaml', files)).toBe('tools/greet.yaml');
    expect(closestPath('tools/greet.yml', files)).toBe('tools/greet.yaml');
    expect(closestPath('icon.png', files)).toBe('icon.svg');
    expect(closestPath('tool/farewell.yaml', files)).toBe('tools/farewell.yaml');
  });

  it('judges misspellings on the name without its extension, and proposes nothing far', () => {
    expect(closestPath('tools/ab.yaml', ['tools/cd.yaml'])).toBeUndefined();
    expect(closestPath('tools/other.yaml', files)).toBeUndefined();
    expect(closestPath('x/y/z.yaml', [])).toBeUndefined();
  });
});

describe('a missing file gets a did-you-mean when a close name exists', () => {
  // Letter case alone is left to the closestPath tests: a case-insensitive file system finds the file.
  it('file/missing: a misspelling, .yml for .yaml, another directory', async () => {
    for (const written of ['tools/gret.yaml', 'tools/greet.yml', 'tool/greet.yaml']) {
      const provider = edit(PROVIDER, ['- tools/greet.yaml', `- ${written}`]);
      expect(await hintOf({ 'provider/hello_world.yaml': provider }, 'file/missing')).toBe(
        'did you mean "tools/greet.yaml"?',
      );
    }
  });

  it('file/missing with nothing close keeps no hint; manifest/missing names a near manifest', async () => {
    const provider = edit(PROVIDER, ['- tools/greet.yaml', '- tools/nothing_like_it.yaml']);
    expect(await hintOf({ 'provider/hello_world.yaml': provider }, 'file/missing')).toBeUndefined();
    expect(await hintOf({ 'manifest.yaml': null, 'manifest.yml': MANIFEST }, 'manifest/missing')).toBe(
      'rename manifest.yml to manifest.yaml: Dify reads no other name',
    );
  });

  it('asset/icon-missing: icon.png for icon.svg', async () => {
    const manifest = edit(MANIFEST, ['icon: icon.svg', 'icon: icon.png']);
    expect(await hintOf({ 'manifest.yaml': manifest }, 'asset/icon-missing')).toBe('did you mean "icon.svg"?');
  });

  it('reference/python-source-missing and reference/entrypoint-missing', async () => {
    const tool = edit(TOOL, ['source: tools/greet.py', 'source: tools/greeet.py']);
    expect(await hintOf({ 'tools/greet.yaml': tool }, 'reference/python-source-missing')).toBe(
      'did you mean "tools/greet.py"?',
    );
    const manifest = edit(MANIFEST, ['entrypoint: main', 'entrypoint: mian']);
    expect(await hintOf({ 'manifest.yaml': manifest }, 'reference/entrypoint-missing')).toBe(
      'did you mean entrypoint: main (main.py)?',
    );
  });

  it('manifest/privacy-missing', async () => {
    const manifest = edit(MANIFEST, ['privacy: PRIVACY.md', 'privacy: privacy.md']);
    expect(await hintOf({ 'manifest.yaml': manifest }, 'manifest/privacy-missing')).toBe('did you mean "PRIVACY.md"?');
  });
});

import { describe, expect, it } from 'vitest';
import { locateDiagnostics } from '../../src/diagnostics/catalog.js';
import { checkProject } from '../../src/check/check-project.js';
import { identifier } from '../../src/check/rules/manifest.js';
import { DirectorySource } from '../../src/project/directory-source.js';
import { loadProject } from '../../src/project/load.js';
import { SourceError, type PluginSource } from '../../src/project/source.js';
import { brief, diagnosticsOf, pluginWith } from '../helpers/plugin.js';
import { edit, exampleFile, lineOf } from '../helpers/text.js';

/** A source that fails to read one file the way an unreadable file fails (root can read anything). */
function unreadable(inner: PluginSource, failing: string): PluginSource {
  return {
    kind: inner.kind,
    location: inner.location,
    listFiles: () => inner.listFiles(),
    statPath: (p) => inner.statPath(p),
    readFile: (p) =>
      p === failing
        ? Promise.reject(new SourceError('unreadable', p, `${p} cannot be read: EACCES: permission denied`))
        : inner.readFile(p),
  };
}

describe('bad input becomes diagnostics', () => {
  it('a 10 MB YAML file is refused without parsing it', async () => {
    const dir = await pluginWith({ 'tools/greet.yaml': 'a: ' + 'x'.repeat(10 * 1024 * 1024) + '\n' });
    const found = (await diagnosticsOf(dir)).map(brief);
    expect(found).toContainEqual({ code: 'file/too-large', file: 'tools/greet.yaml', line: null });
  });

  it('an unreadable declaration is reported where it is referenced', async () => {
    const dir = await pluginWith({});
    const source = unreadable(await DirectorySource.open(dir), 'tools/greet.yaml');
    const project = await loadProject(source);
    const found = await checkProject(project);
    expect(found.map(brief)).toContainEqual({
      code: 'file/unreadable',
      file: 'provider/hello_world.yaml',
      line: lineOf(exampleFile('provider/hello_world.yaml'), '- tools/greet.yaml'),
    });
    expect(found.find((d) => d.code === 'file/unreadable')?.message).toMatch(/permission denied/);
  });

  it('an unreadable manifest leaves no model and one finding', async () => {
    const dir = await pluginWith({});
    const project = await loadProject(unreadable(await DirectorySource.open(dir), 'manifest.yaml'));
    expect(project.manifest).toBeUndefined();
    expect(project.diagnostics.map(brief)).toEqual([{ code: 'file/unreadable', file: 'manifest.yaml', line: null }]);
  });
});

describe('unique identifier', () => {
  it('speaks only when the field rules are silent', async () => {
    const dir = await pluginWith({
      'manifest.yaml': edit(exampleFile('manifest.yaml'), ['name: hello_world', 'name: Hello']),
    });
    const project = await loadProject(await DirectorySource.open(dir));
    const ctx = { project, files: [], fileSizes: new Map(), prior: [] };
    const [d] = identifier(ctx);
    await locateDiagnostics([d!]);
    expect(d).toMatchObject({ code: 'manifest/identifier-invalid', severity: 'error', file: 'manifest.yaml', line: 1 });
    expect(d!.message).toContain('dify-plugin-cli/Hello:0.0.1@<checksum>');
    const fieldFinding = {
      code: 'manifest/name-pattern',
      severity: 'error' as const,
      message: '',
      file: 'manifest.yaml',
      line: 4,
      column: 7,
      path: '/name',
    };
    expect(identifier({ ...ctx, prior: [fieldFinding] })).toEqual([]);
  });
});

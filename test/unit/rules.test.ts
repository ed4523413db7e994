import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { brief, diagnosticsOf, pluginWith, REAL_FIXTURES, type Overrides } from '../helpers/plugin.js';
import { edit, exampleFile, lineOf } from '../helpers/text.js';

const MANIFEST = exampleFile('manifest.yaml');
const PROVIDER = exampleFile('provider/hello_world.yaml');
const TOOL = exampleFile('tools/greet.yaml');
const ANTHROPIC = path.join(REAL_FIXTURES, 'anthropic');
const ANTHROPIC_PROVIDER = 'provider/anthropic.yaml';

interface Case {
  name: string;
  files: Overrides;
  base?: string;
  expect: { code: string; file: string | null; line: number | null };
}

const manifest = (...r: [string, string][]) => ({ 'manifest.yaml': edit(MANIFEST, ...r) });
const at = (text: string, needle: string) => lineOf(text, needle);

/** One failing fixture per rule checked in code: each must report that code, file and line. */
const cases: Case[] = [
  {
    name: 'no manifest',
    files: { 'manifest.yaml': null },
    expect: { code: 'manifest/missing', file: 'manifest.yaml', line: null },
  },
  (() => {
    const text = edit(MANIFEST, ['plugins:\n  tools:\n    - provider/hello_world.yaml', 'plugins: {}']);
    return {
      name: 'no plugin kind',
      files: { 'manifest.yaml': text },
      expect: { code: 'manifest/no-plugin-kind', file: 'manifest.yaml', line: at(text, 'plugins: {}') },
    };
  })(),
  (() => {
    const text = edit(MANIFEST, [
      '    - provider/hello_world.yaml',
      '    - provider/hello_world.yaml\n  datasources:\n    - provider/ds.yaml',
    ]);
    return {
      name: 'kinds that exclude each other',
      files: { 'manifest.yaml': text },
      expect: { code: 'manifest/kind-conflict', file: 'manifest.yaml', line: at(text, '- provider/ds.yaml') },
    };
  })(),
  (() => {
    const text = edit(MANIFEST, [
      '    - provider/hello_world.yaml',
      '    - provider/hello_world.yaml\n    - provider/second.yaml',
    ]);
    return {
      name: 'two providers of one kind',
      files: { 'manifest.yaml': text, 'provider/second.yaml': PROVIDER },
      expect: { code: 'manifest/multiple-providers', file: 'manifest.yaml', line: at(text, 'provider/second.yaml') },
    };
  })(),
  {
    name: 'version that is not PEP 440',
    files: manifest(['version: 0.0.1\ntype', 'version: 0.0.1-fix\ntype']),
    expect: { code: 'manifest/version-not-pep440', file: 'manifest.yaml', line: 1 },
  },
  {
    name: 'privacy file missing',
    files: { 'PRIVACY.md': null },
    expect: { code: 'manifest/privacy-missing', file: 'manifest.yaml', line: at(MANIFEST, 'privacy:') },
  },
  {
    name: 'entrypoint module missing',
    files: { 'main.py': null },
    expect: { code: 'reference/entrypoint-missing', file: 'manifest.yaml', line: at(MANIFEST, 'entrypoint:') },
  },
  {
    name: 'entrypoint that is not a module name',
    files: manifest(['entrypoint: main', 'entrypoint: "main; rm -rf ~"']),
    expect: { code: 'manifest/entrypoint-invalid', file: 'manifest.yaml', line: at(MANIFEST, 'entrypoint:') },
  },
  {
    name: 'provider file missing',
    files: { 'provider/hello_world.yaml': null },
    expect: { code: 'file/missing', file: 'manifest.yaml', line: at(MANIFEST, '- provider/hello_world.yaml') },
  },
  {
    name: 'directory where a YAML file is expected',
    files: { 'tools/greet.yaml': null, 'tools/greet.yaml/x.txt': 'x' },
    expect: { code: 'file/not-a-file', file: 'provider/hello_world.yaml', line: at(PROVIDER, '- tools/greet.yaml') },
  },
  {
    name: 'manifest that is not UTF-8',
    files: { 'manifest.yaml': Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]) },
    expect: { code: 'file/invalid-utf8', file: 'manifest.yaml', line: null },
  },
  {
    name: 'binary manifest',
    files: { 'manifest.yaml': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xc3]) },
    expect: { code: 'file/invalid-utf8', file: 'manifest.yaml', line: null },
  },
  {
    name: 'YAML larger than 1 MiB',
    files: { 'tools/greet.yaml': TOOL + `# ${'x'.repeat(1100 * 1024)}\n` },
    expect: { code: 'file/too-large', file: 'tools/greet.yaml', line: null },
  },
  {
    name: 'empty tool YAML',
    files: { 'tools/greet.yaml': '' },
    expect: { code: 'file/empty', file: 'tools/greet.yaml', line: 1 },
  },
  {
    name: 'empty manifest',
    files: { 'manifest.yaml': '\n# nothing\n' },
    expect: { code: 'file/empty', file: 'manifest.yaml', line: 1 },
  },
  (() => {
    const text = edit(MANIFEST, ['label:\n', 'label: [unclosed\n']);
    return {
      name: 'YAML syntax error',
      files: { 'manifest.yaml': text },
      expect: { code: 'yaml/syntax', file: 'manifest.yaml', line: at(text, 'en_US: Hello World') },
    };
  })(),
  (() => {
    const text = edit(MANIFEST, ['name: hello_world\n', 'name: hello_world\nname: again\n']);
    return {
      name: 'duplicate key',
      files: { 'manifest.yaml': text },
      expect: { code: 'yaml/duplicate-key', file: 'manifest.yaml', line: at(text, 'name: again') },
    };
  })(),
  {
    name: 'nesting too deep',
    files: { 'tools/greet.yaml': `a: ${'['.repeat(3000)}${']'.repeat(3000)}\n` },
    expect: { code: 'yaml/too-deep', file: 'tools/greet.yaml', line: 1 },
  },
  (() => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    return {
      name: 'alias bomb',
      files: { 'tools/greet.yaml': lines.join('\n') + '\n' },
      expect: { code: 'yaml/alias-limit', file: 'tools/greet.yaml', line: 1 },
    };
  })(),
  {
    name: 'path escaping the root',
    files: { 'provider/hello_world.yaml': edit(PROVIDER, ['- tools/greet.yaml', '- ../../etc/passwd']) },
    expect: {
      code: 'reference/outside-root',
      file: 'provider/hello_world.yaml',
      line: at(PROVIDER, '- tools/greet.yaml'),
    },
  },
  {
    name: 'absolute path',
    files: manifest(['- provider/hello_world.yaml', '- /etc/passwd']),
    expect: {
      code: 'reference/outside-root',
      file: 'manifest.yaml',
      line: at(MANIFEST, '- provider/hello_world.yaml'),
    },
  },
  {
    name: 'path with ./',
    files: manifest(['- provider/hello_world.yaml', '- ./provider/hello_world.yaml']),
    expect: {
      code: 'reference/not-normalized',
      file: 'manifest.yaml',
      line: at(MANIFEST, '- provider/hello_world.yaml'),
    },
  },
  {
    name: 'path with backslashes',
    files: manifest(['- provider/hello_world.yaml', '- provider\\hello_world.yaml']),
    expect: { code: 'reference/backslash', file: 'manifest.yaml', line: at(MANIFEST, '- provider/hello_world.yaml') },
  },
  {
    name: 'empty path',
    files: manifest(['- provider/hello_world.yaml', '- ""']),
    expect: { code: 'reference/empty', file: 'manifest.yaml', line: at(MANIFEST, '- provider/hello_world.yaml') },
  },
  (() => {
    const text = edit(PROVIDER, ['  - tools/greet.yaml', '  - identity: {name: inline}']);
    return {
      name: 'inline tool',
      files: { 'provider/hello_world.yaml': text },
      expect: {
        code: 'reference/inline-not-supported',
        file: 'provider/hello_world.yaml',
        line: at(text, 'identity: {name: inline}'),
      },
    };
  })(),
  {
    name: 'python source missing',
    files: { 'tools/greet.py': null },
    expect: {
      code: 'reference/python-source-missing',
      file: 'tools/greet.yaml',
      line: at(TOOL, 'source: tools/greet.py'),
    },
  },
  {
    name: 'python source excluded by .difyignore',
    files: { '.difyignore': 'tools/*.py\n' },
    expect: { code: 'reference/excluded', file: 'tools/greet.yaml', line: at(TOOL, 'source: tools/greet.py') },
  },
  {
    name: 'declaration excluded by .difyignore',
    files: { '.difyignore': 'tools/\n' },
    expect: { code: 'reference/excluded', file: 'provider/hello_world.yaml', line: at(PROVIDER, '- tools/greet.yaml') },
  },
  {
    name: 'no _assets directory',
    files: { _assets: null },
    expect: { code: 'asset/dir-missing', file: 'manifest.yaml', line: at(MANIFEST, 'icon:') },
  },
  {
    name: 'icon not in _assets',
    files: manifest(['icon: icon.svg', 'icon: missing.svg']),
    expect: { code: 'asset/icon-missing', file: 'manifest.yaml', line: at(MANIFEST, 'icon:') },
  },
  {
    name: 'tool icon not in _assets',
    files: { 'provider/hello_world.yaml': edit(PROVIDER, ['icon: icon.svg', 'icon: tool.png']) },
    expect: { code: 'asset/icon-missing', file: 'provider/hello_world.yaml', line: at(PROVIDER, 'icon:') },
  },
  {
    name: 'icon in a subdirectory',
    files: { ...manifest(['icon: icon.svg', 'icon: sub/icon.svg']), '_assets/sub/icon.svg': '<svg/>' },
    expect: { code: 'asset/icon-nested', file: 'manifest.yaml', line: at(MANIFEST, 'icon:') },
  },
  {
    name: 'empty icon',
    files: { '_assets/icon.svg': '' },
    expect: { code: 'asset/icon-empty', file: 'manifest.yaml', line: at(MANIFEST, 'icon:') },
  },
  {
    name: 'no README.md',
    files: { 'README.md': null },
    expect: { code: 'readme/missing', file: 'README.md', line: null },
  },
  {
    name: 'badly named translation',
    files: { 'readme/README-zh.md': '# 你好' },
    expect: { code: 'readme/bad-name', file: 'readme/README-zh.md', line: null },
  },
  (() => {
    const text = edit(PROVIDER, [
      'tools:\n',
      'credentials_schema:\n  - name: key\n    type: secret-input\n    label: {en_US: Key}\ntools:\n',
    ]);
    return {
      name: 'credentials_schema in a tool provider',
      files: { 'provider/hello_world.yaml': text },
      expect: {
        code: 'tool-provider/credentials-schema-ignored',
        file: 'provider/hello_world.yaml',
        line: at(text, 'credentials_schema:') + 1,
      },
    };
  })(),
  (() => {
    const text = edit(readFixture(ANTHROPIC, ANTHROPIC_PROVIDER), ['- models/llm/*.yaml', '- models/llm/*.yml']);
    return {
      name: 'model glob matching nothing',
      base: ANTHROPIC,
      files: { [ANTHROPIC_PROVIDER]: text },
      expect: { code: 'model/glob-no-match', file: ANTHROPIC_PROVIDER, line: at(text, '*.yml') },
    };
  })(),
  (() => {
    const text = edit(readFixture(ANTHROPIC, ANTHROPIC_PROVIDER), ['- models/llm/*.yaml', '- models/llm/[.yaml']);
    return {
      name: 'invalid model glob',
      base: ANTHROPIC,
      files: { [ANTHROPIC_PROVIDER]: text },
      expect: { code: 'model/glob-invalid', file: ANTHROPIC_PROVIDER, line: at(text, '[.yaml') },
    };
  })(),
  (() => {
    const text = edit(readFixture(ANTHROPIC, ANTHROPIC_PROVIDER), ['- models/llm/*.yaml', '- models/**.yaml']);
    return {
      name: 'recursive model glob',
      base: ANTHROPIC,
      files: { [ANTHROPIC_PROVIDER]: text },
      expect: { code: 'model/glob-recursive', file: ANTHROPIC_PROVIDER, line: at(text, '**.yaml') },
    };
  })(),
  {
    name: 'position file that is not a list',
    base: ANTHROPIC,
    files: { 'models/llm/_position.yaml': 'first: claude\n' },
    expect: { code: 'model/position-invalid', file: 'models/llm/_position.yaml', line: 1 },
  },
  (() => {
    const model = readFixture(ANTHROPIC, 'models/llm/claude-opus-5.yaml');
    return {
      name: 'model declared twice',
      base: ANTHROPIC,
      files: { 'models/llm/zz-copy.yaml': model },
      expect: { code: 'model/duplicate-model', file: 'models/llm/zz-copy.yaml', line: at(model, 'model: ') },
    };
  })(),
  {
    name: 'source that holds no code yet (a placeholder): a warning',
    files: { 'tools/greet.py': '# placeholder: the code is not written yet\n\n' },
    expect: { code: 'python/no-code', file: 'tools/greet.yaml', line: at(TOOL, 'source: tools/greet.py') },
  },
  {
    name: 'source without a subclass of the class the SDK loads',
    files: { 'tools/greet.py': 'from dify_plugin import ToolProvider\n\n\nclass GreetTool(ToolProvider):\n    pass\n' },
    expect: { code: 'python/no-subclass', file: 'tools/greet.yaml', line: at(TOOL, 'source: tools/greet.py') },
  },
  (() => {
    const code = `${exampleFile('tools/greet.py')}\n\nclass FarewellTool(Tool):\n    pass\n`;
    return {
      name: 'source with two subclasses',
      files: { 'tools/greet.py': code },
      expect: { code: 'python/multiple-subclasses', file: 'tools/greet.py', line: at(code, 'class FarewellTool') },
    };
  })(),
  (() => {
    const twilio = path.join(REAL_FIXTURES, 'twilio_trigger');
    return {
      name: 'subscription constructor declared but not implemented',
      base: twilio,
      files: {
        'provider/twilio.py':
          'from dify_plugin.interfaces.trigger import Trigger\n\n\nclass TwilioTrigger(Trigger):\n    pass\n',
      },
      expect: {
        code: 'python/no-subclass',
        file: 'provider/twilio.yaml',
        line: at(readFixture(twilio, 'provider/twilio.yaml'), 'source: provider/twilio.py'),
      },
    };
  })(),
  (() => {
    const provider = edit(PROVIDER, ['  - tools/greet.yaml', '  - tools/greet.yaml\n  - tools/greet_again.yaml']);
    return {
      name: 'two tools with one name',
      files: { 'provider/hello_world.yaml': provider, 'tools/greet_again.yaml': TOOL },
      expect: { code: 'tool/duplicate-name', file: 'tools/greet_again.yaml', line: at(TOOL, 'name: greet') },
    };
  })(),
  {
    name: 'tool file the provider does not list',
    files: { 'tools/wave.yaml': edit(TOOL, ['name: greet', 'name: wave']) },
    expect: { code: 'tool-provider/unlisted-tool', file: 'provider/hello_world.yaml', line: at(PROVIDER, 'tools:') },
  },
];

function readFixture(base: string, rel: string): string {
  return readFileSync(path.join(base, rel), 'utf8');
}

describe('every rule checked in code has a failing fixture', () => {
  it.each(cases)('$name → $expect.code', async ({ files, base, expect: expected }) => {
    const dir = await pluginWith(files, base);
    const found = (await diagnosticsOf(dir)).map(brief);
    expect(found).toContainEqual(expected);
  });

  it('the example plugin itself is clean', async () => {
    expect(await diagnosticsOf(await pluginWith({}))).toEqual([]);
  });
});

describe('plugin paths on the command line', () => {
  it('reports a path that does not exist', async () => {
    const dir = path.join(await pluginWith({}), 'nope');
    expect((await diagnosticsOf(dir)).map(brief)).toEqual([{ code: 'plugin/not-found', file: null, line: null }]);
  });

  it('reports a file that is not a package', async () => {
    const dir = await pluginWith({});
    expect((await diagnosticsOf(path.join(dir, 'README.md'))).map(brief)).toEqual([
      { code: 'plugin/not-a-directory', file: null, line: null },
    ]);
  });
});

describe('symbolic links', () => {
  it('a dangling link is an error, a link outside the plugin a warning, a linked directory a warning', async () => {
    const dir = await pluginWith({});
    const outside = path.join(path.dirname(dir), 'secret.txt');
    await writeFile(outside, 'top secret');
    await symlink(outside, path.join(dir, 'notes.txt'));
    await symlink(path.join(dir, 'nowhere.txt'), path.join(dir, 'dangling.txt'));
    await mkdir(path.join(path.dirname(dir), 'shared'));
    await symlink(path.join(path.dirname(dir), 'shared'), path.join(dir, 'shared'));
    const found = (await diagnosticsOf(dir)).map((d) => [d.code, d.severity, d.file]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['pack/dangling-link', 'error', 'dangling.txt'],
        ['pack/link-outside', 'warning', 'notes.txt'],
        ['pack/linked-directory', 'warning', 'shared'],
      ]),
    );
  });
});

describe('the SDK start-up checks stay silent when the SDK would start', () => {
  it('two tools with their own names, and a YAML file beside them that is no tool', async () => {
    const dir = await pluginWith({
      'provider/hello_world.yaml': edit(PROVIDER, [
        '  - tools/greet.yaml',
        '  - tools/greet.yaml\n  - tools/wave.yaml',
      ]),
      'tools/wave.yaml': edit(TOOL, ['name: greet', 'name: wave']),
      'tools/wave.py': exampleFile('tools/greet.py').replace('GreetTool', 'WaveTool'),
      'tools/countries.yaml': 'countries:\n  - fr\n  - jp\n',
    });
    expect(await diagnosticsOf(dir)).toEqual([]);
  });

  it('a shared base class imported as a module, or from where it cannot be followed', async () => {
    const dir = await pluginWith({
      'tools/common.py': 'from dify_plugin import Tool\n\n\nclass Polite(Tool):\n    pass\n',
      'tools/greet.py': 'import tools.common as common\n\n\nclass GreetTool(common.Polite):\n    pass\n',
      // The provider class is made by a function of the plugin, which this reading does not run.
      'provider/hello_world.py': 'from base_providers import make_provider\n\nHelloWorldProvider = make_provider()\n',
      'base_providers/__init__.py':
        'from dify_plugin import ToolProvider\n\n\ndef make_provider():\n    class Provider(ToolProvider):\n        pass\n\n    return Provider\n',
    });
    expect(await diagnosticsOf(dir)).toEqual([]);
  });

  it('a missing source is reported once, as missing', async () => {
    const dir = await pluginWith({ 'tools/greet.py': null });
    expect((await diagnosticsOf(dir)).map((d) => d.code)).toEqual(['reference/python-source-missing']);
  });
});

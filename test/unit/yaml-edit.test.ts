import { describe, expect, it } from 'vitest';
import { changedLines } from '../helpers/changed-lines.js';
import {
  appendToSequence,
  removeFromSequence,
  setMapping,
  setScalar,
  YamlEditError,
} from '../../src/project/yaml-edit.js';

/**
 * `after` is `before` with the lines `removed` replaced by the lines `inserted`, at one place:
 * every line above and below is byte-for-byte the same (with its `\r` under CRLF).
 */
function expectOnlyChanged(before: string, after: string, removed: string[], inserted: string[]): void {
  const changed = changedLines(before, after)!;
  expect(changed).not.toBeNull();
  expect(before.split('\n').slice(changed.first - 1, changed.lastBefore)).toEqual(removed);
  expect(after.split('\n').slice(changed.first - 1, changed.lastAfter)).toEqual(inserted);
}

/** A manifest as the Go CLI writes it (4 spaces, CRLF on Windows), then commented by hand. */
const HAND_EDITED = [
  '# yaml-language-server: $schema=https://example.org/bundle.schema.json',
  'name: my_bundle  # the id',
  'labels:',
  '    en_US: My Bundle',
  '    zh_Hans: 捆绑包',
  'description:',
  "    en_US: 'Several plugins'",
  'version: "0.0.1"  # bump before a release',
  'author: acme',
  'dependencies:',
  '    # pinned',
  '    - type: marketplace',
  '      value:',
  '        marketplace_pattern: "langgenius/openai:0.0.1"',
  '    # from a release',
  '    - type: github',
  '      value:',
  '        repo_pattern: langgenius/x:1.0.0/x.difypkg  # the asset',
  'tags:',
  '    - tools',
  '',
].join('\r\n');

describe('in-place YAML edits', () => {
  it('keep CRLF line endings, a byte-order mark and comments on the key line', () => {
    const crlf =
      'a: 1\r\nresource:\r\n  memory: 1\r\n  permission: {}  # none yet\r\nplugins:\r\n  tools:\r\n  - x.yaml\r\n';
    expect(setMapping(crlf, 'm', ['resource', 'permission'], { tool: { enabled: true } }).text).toBe(
      'a: 1\r\nresource:\r\n  memory: 1\r\n  permission:  # none yet\r\n    tool:\r\n      enabled: true\r\nplugins:\r\n  tools:\r\n  - x.yaml\r\n',
    );
    expect(appendToSequence(crlf, 'm', ['plugins', 'tools'], 'y.yaml').text).toBe(
      crlf.replace('  - x.yaml\r\n', '  - x.yaml\r\n  - y.yaml\r\n'),
    );
    const bom = '\uFEFFname: x\nresource:\n    memory: 1\n';
    expect(setMapping(bom, 'm', ['resource', 'permission'], {}).text).toBe(
      '\uFEFFname: x\nresource:\n    memory: 1\n    permission: {}\n',
    );
  });

  it('fill in a missing or empty key, and extend flow lists', () => {
    expect(appendToSequence('plugins:\n  tools:\n# end\n', 'm', ['plugins', 'tools'], 'a.yaml').text).toBe(
      'plugins:\n  tools:\n    - a.yaml\n# end\n',
    );
    expect(appendToSequence('name: x\n', 'm', ['plugins', 'endpoints'], 'g.yaml').text).toBe(
      'name: x\nplugins:\n  endpoints:\n    - g.yaml\n',
    );
    expect(appendToSequence('plugins:\n  tools: []\n', 'm', ['plugins', 'tools'], 'a.yaml').text).toBe(
      'plugins:\n  tools: [a.yaml]\n',
    );
    expect(
      setMapping('resource:\n  memory: 1\n  permission:\nplugins: {}\n', 'm', ['resource', 'permission'], {
        app: { enabled: true },
      }).text,
    ).toBe('resource:\n  memory: 1\n  permission:\n    app:\n      enabled: true\nplugins: {}\n');
  });

  it('refuse what they cannot edit in place rather than rewrite the file', () => {
    expect(() => appendToSequence('plugins:\n  tools: provider/x.yaml\n', 'm', ['plugins', 'tools'], 'g')).toThrow(
      /is not a list/,
    );
    expect(() => setMapping('a: [\n', 'm', ['resource', 'permission'], {})).toThrow(/cannot be parsed/);
    // The anchor goes with the old block, so the alias would dangle: proven before anything is returned.
    const anchored = 'resource:\n  permission: &p\n    tool: {enabled: true}\nelsewhere: *p\n';
    expect(() => setMapping(anchored, 'm', ['resource', 'permission'], {})).toThrow(
      /resource\.permission cannot be changed in place/,
    );
  });
});

describe('each edit keeps every byte outside the edited node (comments, CRLF, 4-space indentation)', () => {
  it('appendToSequence: a mapping item goes after the last one, laid out like it', () => {
    const { text } = appendToSequence(HAND_EDITED, 'm', ['dependencies'], { type: 'package', value: { path: 'abc' } });
    expectOnlyChanged(HAND_EDITED, text, [], ['    - type: package\r', '      value:\r', '        path: abc\r']);
  });

  it('appendToSequence: a scalar item', () => {
    const { text } = appendToSequence(HAND_EDITED, 'm', ['tags'], 'search');
    expectOnlyChanged(HAND_EDITED, text, [], ['    - search\r']);
  });

  it('appendToSequence: a missing key is added after the last key', () => {
    const { text } = appendToSequence(HAND_EDITED, 'm', ['extra', 'list'], { a: 1 });
    expectOnlyChanged(HAND_EDITED, text, [], ['extra:\r', '    list:\r', '        - a: 1\r']);
  });

  it('removeFromSequence: the item and its lines go, the comments between items stay', () => {
    const first = removeFromSequence(HAND_EDITED, 'm', ['dependencies'], 0).text;
    expectOnlyChanged(
      HAND_EDITED,
      first,
      ['    - type: marketplace\r', '      value:\r', '        marketplace_pattern: "langgenius/openai:0.0.1"\r'],
      [],
    );
    const last = removeFromSequence(HAND_EDITED, 'm', ['dependencies'], 1).text;
    expectOnlyChanged(
      HAND_EDITED,
      last,
      ['    - type: github\r', '      value:\r', '        repo_pattern: langgenius/x:1.0.0/x.difypkg  # the asset\r'],
      [],
    );
    // The last item leaves an empty list, with the comments that stood before it.
    const none = removeFromSequence(last, 'm', ['dependencies'], 0).text;
    expectOnlyChanged(
      last,
      none,
      [
        'dependencies:\r',
        '    # pinned\r',
        '    - type: marketplace\r',
        '      value:\r',
        '        marketplace_pattern: "langgenius/openai:0.0.1"\r',
      ],
      ['dependencies: []\r', '    # pinned\r'],
    );
  });

  it('setScalar: the value changes where it stands, in its quoting, before its comment', () => {
    const version = setScalar(HAND_EDITED, 'm', ['version'], '0.0.2').text;
    expectOnlyChanged(
      HAND_EDITED,
      version,
      ['version: "0.0.1"  # bump before a release\r'],
      ['version: "0.0.2"  # bump before a release\r'],
    );
    const name = setScalar(HAND_EDITED, 'm', ['name'], 'other').text;
    expectOnlyChanged(HAND_EDITED, name, ['name: my_bundle  # the id\r'], ['name: other  # the id\r']);
    const single = setScalar(HAND_EDITED, 'm', ['description', 'en_US'], "It's new").text;
    expectOnlyChanged(HAND_EDITED, single, ["    en_US: 'Several plugins'\r"], ["    en_US: 'It''s new'\r"]);
    // A plain value that would read as something else is quoted.
    const plain = setScalar(HAND_EDITED, 'm', ['author'], '1.0').text;
    expectOnlyChanged(HAND_EDITED, plain, ['author: acme\r'], ['author: "1.0"\r']);
  });

  it('setScalar: a missing key is added after the last key of its mapping', () => {
    const { text } = setScalar(HAND_EDITED, 'm', ['labels', 'ja_JP'], 'マイバンドル');
    expectOnlyChanged(HAND_EDITED, text, [], ['    ja_JP: マイバンドル\r']);
  });

  it('setMapping: a missing key, at the file indentation', () => {
    const { text } = setMapping(HAND_EDITED, 'm', ['meta'], { minimum_dify_version: '1.0.0' });
    expectOnlyChanged(HAND_EDITED, text, [], ['meta:\r', '    minimum_dify_version: 1.0.0\r']);
  });
});

describe('lists and scalars in other shapes', () => {
  it('an empty flow list as init writes it becomes a block list with its first mapping', () => {
    const init = '# comment\nname: b\nlabels:\n  en_US: B\ndependencies: []  # none yet\ntags: []\n';
    const { text } = appendToSequence(init, 'm', ['dependencies'], {
      type: 'marketplace',
      value: { marketplace_pattern: 'a/b:1.0.0' },
    });
    expectOnlyChanged(
      init,
      text,
      ['dependencies: []  # none yet'],
      ['dependencies:  # none yet', '  - type: marketplace', '    value:', '      marketplace_pattern: a/b:1.0.0'],
    );
    // A null key is filled in the same way.
    expect(
      appendToSequence('dependencies: ~\n', 'm', ['dependencies'], { type: 'package', value: { path: 'x' } }).text,
    ).toBe('dependencies:\n  - type: package\n    value:\n      path: x\n');
  });

  it('a flow list with items stays on its line', () => {
    const flow = 'dependencies: [{type: package, value: {path: a}}]  # c\nname: b\n';
    const appended = appendToSequence(flow, 'm', ['dependencies'], {
      type: 'github',
      value: { repo_pattern: 'o/r:1.0.0/x, y' },
    }).text;
    expect(appended).toBe(
      'dependencies: [{type: package, value: {path: a}}, {type: github, value: {repo_pattern: "o/r:1.0.0/x, y"}}]  # c\nname: b\n',
    );
    const removed = removeFromSequence(appended, 'm', ['dependencies'], 0).text;
    expect(removed).toBe('dependencies: [{type: github, value: {repo_pattern: "o/r:1.0.0/x, y"}}]  # c\nname: b\n');
    expect(removeFromSequence(removed, 'm', ['dependencies'], 0).text).toBe('dependencies: []  # c\nname: b\n');
    expect(removeFromSequence('a: [x, y, z]\n', 'm', ['a'], 2).text).toBe('a: [x, y]\n');
  });

  it('a new mapping item is quoted as the last one', () => {
    const quoted = 'deps:\n- type: "package"\n  value:\n    path: "a"\n';
    expectOnlyChanged(
      quoted,
      appendToSequence(quoted, 'm', ['deps'], { type: 'package', value: { path: 'b' } }).text,
      [],
      ['- type: "package"', '  value:', '    path: "b"'],
    );
  });

  it('a block scalar ends at its last line of text', () => {
    const notes = 'notes:\n  - |\n    first\n\n  - second\nnext: 1\n';
    // The blank line after it stays, as comment lines do.
    expectOnlyChanged(notes, removeFromSequence(notes, 'm', ['notes'], 0).text, ['  - |', '    first'], []);
    expectOnlyChanged(notes, setScalar(notes, 'm', ['next'], '2').text, ['next: 1'], ['next: "2"']);
    expect(setScalar('a: |\n  old\nb: 1\n', 'm', ['a'], 'new').text).toBe('a: new\nb: 1\n');
  });

  it('the last line of a file without a final line break', () => {
    expect(removeFromSequence('a:\n  - x\n  - y', 'm', ['a'], 1).text).toBe('a:\n  - x');
    expect(removeFromSequence('a:\n  - x', 'm', ['a'], 0).text).toBe('a: []');
  });

  it('edit inside flow mappings in flow style, leaving the rest of the line alone', () => {
    expect(appendToSequence('plugins: {tools: [a]}\n', 'm', ['plugins', 'endpoints'], 'g').text).toBe(
      'plugins: {tools: [a], endpoints: [g]}\n',
    );
    expect(
      setMapping('resource: {memory: 1}\n', 'm', ['resource', 'permission'], { tool: { enabled: true } }).text,
    ).toBe('resource: {memory: 1, permission: {tool: {enabled: true}}}\n');
    expect(setScalar('labels: {zh_Hans: b}\n', 'm', ['labels', 'en_US'], 'x').text).toBe(
      'labels: {zh_Hans: b, en_US: x}\n',
    );
    expect(setScalar('labels: {}\n', 'm', ['labels', 'en_US'], 'x').text).toBe('labels: {en_US: x}\n');
    // A whole document in flow style, as a hand-written bundle manifest might be.
    const doc = '{name: b, version: 0.0.1, dependencies: []}\n';
    const dep = { type: 'marketplace', value: { marketplace_pattern: 'a/b:0.0.1' } };
    const appended = appendToSequence(doc, 'm', ['dependencies'], dep).text;
    expect(appended).toBe(
      '{name: b, version: 0.0.1, dependencies: [{type: marketplace, value: {marketplace_pattern: a/b:0.0.1}}]}\n',
    );
    expect(setScalar(appended, 'm', ['version'], '0.0.2').text).toContain('version: 0.0.2,');
    expect(removeFromSequence(appended, 'm', ['dependencies'], 0).text).toBe(doc);
  });

  it('setScalar writes into a flow mapping, and quotes what would not read back', () => {
    const flow = 'labels: {en_US: a, zh_Hans: b}\n';
    expect(setScalar(flow, 'm', ['labels', 'en_US'], 'x, y').text).toBe('labels: {en_US: "x, y", zh_Hans: b}\n');
    expect(setScalar('d: x  # c\n', 'm', ['d'], 'two\nlines').text).toBe('d: "two\\nlines"  # c\n');
    expect(setScalar('d:\ne: 1\n', 'm', ['d'], 'x').text).toBe('d: x\ne: 1\n');
  });

  it('refuse what is not there or not a list', () => {
    expect(() => removeFromSequence('a: [x]\n', 'm', ['a'], 1)).toThrow(
      'm: a has no item 1, so it cannot be edited in place',
    );
    expect(() => removeFromSequence('a: 1\n', 'm', ['a'], 0)).toThrow(/a is not a list/);
    expect(() => removeFromSequence('b: 1\n', 'm', ['a'], 0)).toThrow(YamlEditError);
  });
});

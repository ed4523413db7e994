import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import ignore from 'ignore';
import { DEFAULT_EXCLUDES, mayBeExcludedByDefault, selectFiles } from '../../src/project/file-selection.js';
import { tempDir } from '../helpers/plugin.js';

/** A directory with the given files (content = their path), for file-selection cases. */
async function tree(files: Record<string, string | null>): Promise<string> {
  const dir = await tempDir('dify-select-');
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.join(dir, path.dirname(rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content ?? rel);
  }
  return dir;
}

const packed = (dir: string, outputPath?: string) =>
  selectFiles(dir, outputPath ? { outputPath } : {}).files.map((f) => f.path);

const BASE = [
  'manifest.yaml',
  'main.py',
  'tools/a.py',
  'tools/b.log',
  'data/keep.txt',
  'data/big.bin',
  'docs/x/y/notes.md',
];
const base = () => Object.fromEntries(BASE.map((f) => [f, null]));

describe('ignore files use gitignore semantics', () => {
  it.each([
    ['plain pattern at any depth', '*.log\n', ['tools/b.log'], ['tools/a.py']],
    ['negation re-includes', 'data/*\n!data/keep.txt\n', ['data/big.bin'], ['data/keep.txt']],
    ['anchored /pattern matches only at the root', '/main.py\n/a.py\n', ['main.py'], ['tools/a.py']],
    ['** spans directories', 'docs/**/notes.md\n', ['docs/x/y/notes.md'], ['manifest.yaml']],
    ['trailing / matches directories only', 'data/\nmain.py/\n', ['data/keep.txt', 'data/big.bin'], ['main.py']],
    ['escaped # and ! are literal', '\\#notes\n\\!bang\n', ['#notes', '!bang'], ['manifest.yaml']],
    ['comments and blank lines are ignored', '# tools/\n\n   \n', [], ['tools/a.py']],
    ['CRLF line endings', '*.log\r\ndata/\r\n', ['tools/b.log', 'data/big.bin'], ['main.py']],
    ['case matters, as in git', 'MAIN.PY\nTools/\n*.LOG\n', [], ['main.py', 'tools/a.py', 'tools/b.log']],
  ])('%s', async (_name, rules, excluded, kept) => {
    const dir = await tree({ ...base(), '#notes': null, '!bang': null, '.difyignore': rules });
    const files = packed(dir);
    for (const f of excluded) expect(files).not.toContain(f);
    for (const f of kept) expect(files).toContain(f);
  });

  it('uses .gitignore only when there is no .difyignore, never both', async () => {
    const onlyGit = await tree({ ...base(), '.gitignore': '*.log\n' });
    expect(packed(onlyGit)).not.toContain('tools/b.log');
    const both = await tree({ ...base(), '.gitignore': '*.log\n', '.difyignore': 'data/\n' });
    expect(packed(both)).toContain('tools/b.log');
    expect(packed(both)).not.toContain('data/keep.txt');
    expect(selectFiles(both).ignoreFile).toBe('.difyignore');
  });

  it('explains each exclusion with the rule and its line', async () => {
    const dir = await tree({ ...base(), '.difyignore': '# comment\n*.log\ndata/\n' });
    const { excluded } = selectFiles(dir);
    expect(excluded).toContainEqual({ path: 'tools/b.log', rule: '.difyignore:2 (*.log)' });
    expect(excluded).toContainEqual({ path: 'data/', rule: '.difyignore:3 (data/)' });
  });
});

describe('built-in exclusions win over the ignore file', () => {
  it('never packs VCS, environments, caches, packages or secrets', async () => {
    const dir = await tree({
      ...base(),
      '.git/config': null,
      '.venv/bin/python': null,
      'venv/lib/x.py': null,
      'tools/__pycache__/a.cpython-312.pyc': null,
      'tools/stale.pyc': null,
      '.DS_Store': null,
      'node_modules/x/index.js': null,
      'old.difypkg': null,
      'b.difybndl': null,
      '.env': 'REMOTE_INSTALL_KEY=secret',
      '.env.local': null,
      '.env.example': null,
      '.difyignore': '!.env\n!.git/\n',
    });
    const files = packed(dir);
    expect(files).toEqual([
      '.difyignore',
      '.env.example',
      'data/big.bin',
      'data/keep.txt',
      'docs/x/y/notes.md',
      'main.py',
      'manifest.yaml',
      'tools/a.py',
      'tools/b.log',
    ]);
    const { excluded, findings } = selectFiles(dir);
    expect(excluded).toContainEqual({ path: '.git/', rule: 'default (.git/)' });
    expect(excluded).toContainEqual({ path: '.env', rule: 'default (.env)' });
    expect(findings.map((f) => [f.code, f.severity])).toContainEqual(['pack/env-excluded', 'info']);
  });

  it('never packs the output file, even under another name', async () => {
    const dir = await tree({ ...base(), 'release.zip': null });
    expect(packed(dir, path.join(dir, 'release.zip'))).not.toContain('release.zip');
    expect(selectFiles(dir, { outputPath: path.join(dir, 'release.zip') }).excluded).toContainEqual({
      path: 'release.zip',
      rule: 'output file',
    });
  });
});

describe('names that no package entry can carry', () => {
  it('are errors and are not packed; the hint gives the line that leaves them out', async () => {
    const dir = await tree({ ...base(), 'a\\b.txt': null, 'c:d.py': null, 'tools/e:f.py': null, 'g\\h/i.txt': null });
    await writeFile(path.join(dir, 'line\nbreak.py'), '');
    // Bytes that are not UTF-8, which readdir hands over with U+FFFD in their place.
    await writeFile(Buffer.concat([Buffer.from(`${dir}/latin1-`), Buffer.from([0xe9]), Buffer.from('.txt')]), '');
    const selection = selectFiles(dir);
    expect(selection.findings.map((f) => [f.code, f.severity, f.file, f.message, f.hint])).toEqual([
      [
        'pack/unpackable-name',
        'error',
        'a\\b.txt',
        'a\\b.txt has a \\ in its name, which Dify and Windows read as a directory separator',
        'rename it, or add "/a\\\\b.txt" to .difyignore',
      ],
      [
        'pack/unpackable-name',
        'error',
        'c:d.py',
        'c:d.py begins like a Windows drive (X:), which unpacks outside the plugin directory on Windows',
        'rename it, or add "/c:d.py" to .difyignore',
      ],
      ['pack/unpackable-name', 'error', 'g\\h/', expect.stringMatching(/^g\\h\/ has a \\/), expect.anything()],
      [
        'pack/unpackable-name',
        'error',
        'latin1-\uFFFD.txt',
        'latin1-\uFFFD.txt has a name that is not UTF-8',
        expect.anything(),
      ],
      [
        'pack/unpackable-name',
        'error',
        'line\nbreak.py',
        'line\nbreak.py has a control character in its name',
        'rename it',
      ],
    ]);
    const files = selection.files.map((f) => f.path);
    expect(files).toContain('tools/e:f.py'); // a drive is only at the start, as the reader has it
    expect(files.filter((f) => /[\\\n\uFFFD]|^c:/.test(f))).toEqual([]);
    // With the lines the hints give, those files are simply left out.
    await writeFile(path.join(dir, '.difyignore'), '/a\\\\b.txt\n/c:d.py\n/g\\\\h/\n/latin1-\uFFFD.txt\n');
    expect(selectFiles(dir).findings.map((f) => f.file)).toEqual(['line\nbreak.py']);
  });
});

describe('the quick test for the built-in exclusions', () => {
  it('lets through every name the rules exclude', () => {
    const rules = ignore().add(DEFAULT_EXCLUDES);
    const stems = ['.git', '.venv', 'venv', '__pycache__', 'node_modules', '.DS_Store', '.env', 'main', 'env', 'git'];
    const suffixes = [
      ...['', '.pyc', '.difypkg', '.difybndl', '.serverless', '.serverless.zip', '.example', '.local', '.py'],
      ...['.PYC', 'x', '.'],
    ];
    let excluded = 0;
    for (const stem of stems) {
      for (const suffix of suffixes) {
        for (const name of [stem + suffix, (stem + suffix).toUpperCase()]) {
          for (const rel of [name, `${name}/`, `a/${name}`, `a/b/${name}/`]) {
            if (!rules.ignores(rel)) continue;
            excluded++;
            expect([rel, mayBeExcludedByDefault(rel)]).toEqual([rel, true]);
          }
        }
      }
    }
    expect(excluded).toBeGreaterThan(100);
    expect(mayBeExcludedByDefault('tools/search.py')).toBe(false);
    expect(mayBeExcludedByDefault('.env.example')).toBe(false);
  });
});

describe('symbolic links', () => {
  it('a linked file is packed with its size; a link outside the plugin is named', async () => {
    const outside = await tempDir('dify-outside-');
    await writeFile(path.join(outside, 'shared.difyignore'), '*.log\n# shared rules\n');
    const dir = await tree(base());
    await symlink(path.join(outside, 'shared.difyignore'), path.join(dir, '.difyignore'));
    const selection = selectFiles(dir);
    expect(selection.files.find((f) => f.path === '.difyignore')?.size).toBe(21);
    expect(selection.files.map((f) => f.path)).not.toContain('tools/b.log'); // the linked rules apply
    expect(selection.findings.map((f) => [f.code, f.file])).toContainEqual(['pack/link-outside', '.difyignore']);
  });

  it('a link to a .env file is left out like the file itself', async () => {
    const dir = await tree({ ...base(), '.env': 'REMOTE_INSTALL_KEY=secret\n' });
    await symlink('.env', path.join(dir, 'notes.md'));
    const selection = selectFiles(dir);
    expect(selection.files.map((f) => f.path)).not.toContain('notes.md');
    expect(selection.excluded).toContainEqual({ path: 'notes.md', rule: 'default (links to .env)' });
    expect(selection.findings.find((f) => f.code === 'pack/env-excluded')?.message).toMatch(
      /^\.env, notes\.md left out/,
    );
  });

  it('links that point at each other are an error, not a crash', async () => {
    const dir = await tree(base());
    await symlink('loop-b', path.join(dir, 'loop-a'));
    await symlink('loop-a', path.join(dir, 'loop-b'));
    const selection = selectFiles(dir);
    const loops = selection.findings.filter((f) => f.code === 'pack/dangling-link');
    expect(loops.map((f) => [f.severity, f.file])).toEqual([
      ['error', 'loop-a'],
      ['error', 'loop-b'],
    ]);
    expect(loops[0]!.message).toMatch(/cannot be followed \(ELOOP\)/);
  });
});

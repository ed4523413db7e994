import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initCommand } from '../../src/cli/commands/init.js';
import type { Io } from '../../src/cli/io.js';
import { DEFAULT_STORAGE_SIZE } from '../../src/project/permissions.js';
import type { Answers } from '../../src/scaffold/answers.js';
import { authorId, gitAuthor } from '../../src/scaffold/git-author.js';
import { askAnswers, type Target } from '../../src/scaffold/prompts.js';
import { tempDir } from '../helpers/plugin.js';
import { KEY, terminal } from '../helpers/terminal.js';

const blank: Answers = {
  name: '',
  author: '',
  description: '',
  repo: '',
  category: 'tool',
  language: 'python',
  readmeLanguages: [],
  permissions: [],
  storageSize: DEFAULT_STORAGE_SIZE,
  minDifyVersion: '',
};

const MB = 1024 * 1024;

/** An empty directory for the project to go into. */
const here = async (force = false): Promise<Target> => ({ cwd: await tempDir(), force });

/** The CLI's streams on a fake terminal, with the environment `env` and stderr captured. */
function terminalIo(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const t = terminal();
  const err = { text: '' };
  const io: Io = { stdin: t.input, stdout: t.output, stderr: { write: (s: string) => (err.text += s) }, env, cwd };
  return { t, io, err };
}

describe('interactive init', () => {
  it('asks every question, validates as typed, and lets an answer be changed from the summary', async () => {
    const t = terminal();
    const done = askAnswers(blank, await here(), { input: t.input, output: t.output });
    await t.answer('Plugin name', 'My Plugin', KEY.enter); // refused: upper case and a space
    await t.answer('use 1-128 lowercase letters');
    t.input.write(KEY.clearLine);
    t.input.write('my_plugin' + KEY.enter);
    await t.answer('Author', 'acme', KEY.enter);
    await t.answer('Description', 'Greets people', KEY.enter);
    await t.answer('Repository URL', KEY.enter);
    await t.answer('Translated READMEs', KEY.space, KEY.enter); // zh_Hans
    await t.answer('Plugin type', ...Array(7).fill(KEY.down), KEY.enter); // extension
    await t.answer('What may the plugin call', ...Array(11).fill(KEY.down), KEY.space, KEY.enter); // storage
    await t.answer('Storage size in MB (1-1024) (1)', '2000', KEY.enter);
    await t.answer('use a whole number of MB from 1 to 1024');
    t.input.write(KEY.clearLine);
    t.input.write('5' + KEY.enter);
    await t.answer('Minimum Dify version', '1.9.0', KEY.enter);
    await t.answer('Ready to create');
    const shown = t.screen().trimEnd().split('\n');
    // A prompt taller than a 24-line terminal scrolls, and what scrolled off cannot be erased.
    expect(shown.length - shown.findIndex((l) => l.includes('Ready to create'))).toBeLessThanOrEqual(24);
    t.input.write(KEY.down + KEY.enter); // "Change an answer"
    await t.answer('Change which answer?', KEY.enter); // the name
    await t.answer('Plugin name', 'renamed', KEY.enter);
    await t.answer('Ready to create', KEY.enter); // "Create it"
    expect(await done).toEqual({
      ...blank,
      name: 'renamed',
      author: 'acme',
      description: 'Greets people',
      readmeLanguages: ['zh_Hans'],
      category: 'extension',
      permissions: ['storage'],
      storageSize: 5 * MB,
      minDifyVersion: '1.9.0',
    });
    expect(t.plain()).toMatch(/name\s+my_plugin/); // the first summary showed the first answer
    expect(t.plain()).toMatch(/permissions +storage \(storage 5 MB\)/);
    // Python is the only language: the summary says so, and nothing asks.
    expect(t.plain()).toMatch(/language +Python/);
    expect(t.plain()).not.toMatch(/\? Language/);
  });

  it('says where the project goes, replaces the summary when an answer changes, and leaves none behind', async () => {
    const target = await here();
    const t = terminal();
    const done = askAnswers({ ...blank, category: 'bundle', author: 'acme', description: 'Ours' }, target, t);
    await t.answer('Bundle name', 'first', KEY.enter);
    await t.answer('Author', KEY.enter);
    await t.answer('Description', KEY.enter);
    await t.answer(`Ready to create ${path.join(target.cwd, 'first')}\n`, KEY.down, KEY.enter);
    await t.answer('Change which answer?', KEY.enter); // the name
    await t.answer('Bundle name', KEY.clearLine, 'second', KEY.enter);
    await t.answer(`Ready to create ${path.join(target.cwd, 'second')}\n`);
    expect(t.screen().match(/Ready to create/g)).toHaveLength(1);
    t.input.write(KEY.enter); // "Create it"
    expect(await done).toMatchObject({ name: 'second' });
    expect(t.screen()).not.toMatch(/Ready to create|Create it|Change which|description +Ours/);
    expect(t.screen().trimEnd().split('\n').at(-1)).toMatch(/Bundle name second$/); // the answers stay, the summary went;
  });

  it('refuses, as it is typed, a name whose directory exists and is not empty, unless --force', async () => {
    const target = await here();
    await mkdir(path.join(target.cwd, 'taken'));
    await writeFile(path.join(target.cwd, 'taken', 'notes.txt'), 'mine');
    await writeFile(path.join(target.cwd, 'file'), 'mine');
    await mkdir(path.join(target.cwd, 'empty'));
    const t = terminal();
    const done = askAnswers({ ...blank, category: 'bundle', author: 'a', description: 'd' }, target, t);
    await t.answer('Bundle name', 'taken', KEY.enter);
    await t.answer('./taken is not empty: choose another name, or run again with --force');
    t.input.write(KEY.clearLine + 'file' + KEY.enter);
    await t.answer('./file is a file: choose another name');
    t.input.write(KEY.clearLine + 'empty' + KEY.enter);
    for (const q of ['Author', 'Description', 'Ready to create']) await t.answer(q, KEY.enter);
    expect(await done).toMatchObject({ name: 'empty' });

    const forced = terminal();
    const again = askAnswers(
      { ...blank, category: 'bundle', author: 'a', description: 'd' },
      { ...target, force: true },
      forced,
    );
    await forced.answer('Bundle name', 'taken', KEY.enter);
    for (const q of ['Author', 'Description']) await forced.answer(q, KEY.enter);
    await forced.answer('(it exists: files of the same name are replaced)', KEY.enter);
    expect(await again).toMatchObject({ name: 'taken' });
  });

  it('takes back the permissions it offered an agent strategy when the type changes', async () => {
    const t = terminal();
    const done = askAnswers({ ...blank, name: 'a', author: 'acme', description: 'Thinks' }, await here(), t);
    for (const q of ['Plugin name', 'Author', 'Description', 'Repository URL', 'Translated READMEs'])
      await t.answer(q, KEY.enter);
    await t.answer('Plugin type', ...Array(8).fill(KEY.down), KEY.enter); // agent-strategy
    await t.answer('What may the plugin call', KEY.enter); // keeps the offered tool, model and llm
    await t.answer('Minimum Dify version', KEY.enter);
    await t.answer('Ready to create', KEY.down, KEY.enter);
    await t.answer('Change which answer?', ...Array(5).fill(KEY.down), KEY.enter); // the type
    await t.answer('Plugin type', ...Array(7).fill(KEY.up), KEY.enter); // llm
    await t.answer('Ready to create', KEY.enter);
    expect(await done).toMatchObject({ category: 'llm', permissions: [] });
    expect(t.plain()).toMatch(/permissions +tool, model, model\.llm\n[^]*permissions +none\n/); // before and after the change
  });

  it('Ctrl-C stops the prompts with exit 130 and nothing is written', async () => {
    const cwd = await tempDir();
    const { t, io, err } = terminalIo(cwd);
    const run = initCommand({}, io);
    await t.answer('Plugin name', 'half', KEY.enter);
    await t.answer('Author', KEY.ctrlC);
    expect(await run).toBe(130);
    expect(err.text).toBe('cancelled; nothing was written\n');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('"Cancel" in the summary writes nothing and exits 1', async () => {
    const cwd = await tempDir();
    const { t, io, err } = terminalIo(cwd);
    const run = initCommand({ type: 'bundle', name: 'b', author: 'acme', description: 'Ours' }, io);
    for (const q of ['Bundle name', 'Author', 'Description']) await t.answer(q, KEY.enter);
    await t.answer('Ready to create', KEY.up, KEY.enter); // the last item: "Cancel (write nothing)"
    expect(await run).toBe(1);
    expect(err.text).toBe('cancelled; nothing was written\n');
    expect(readdirSync(cwd)).toEqual([]);
  });
});

const hasGit = spawnSync('git', ['--version']).status === 0;

describe.skipIf(!hasGit)('the author offered', () => {
  /** An environment whose git reads only `name` from a global config in a temporary home. */
  async function gitEnv(name: string | undefined): Promise<NodeJS.ProcessEnv> {
    const home = await tempDir();
    const config = path.join(home, 'gitconfig');
    await writeFile(config, name === undefined ? '' : `[user]\n\tname = ${name}\n`);
    return { PATH: process.env.PATH, HOME: home, GIT_CONFIG_GLOBAL: config, GIT_CONFIG_NOSYSTEM: '1' };
  }

  it("is git's user.name made into an author ID, and is what Enter keeps", async () => {
    const cwd = await tempDir();
    const { t, io } = terminalIo(cwd, await gitEnv('José Núñez'));
    const run = initCommand({ type: 'bundle', name: 'b', description: 'Ours' }, io);
    await t.answer('Bundle name', KEY.enter);
    await t.answer('Author (your Dify Marketplace ID) (jose-nunez)', KEY.enter);
    await t.answer('Description', KEY.enter);
    await t.answer('Ready to create', KEY.enter);
    expect(await run).toBe(0);
    expect(readFileSync(path.join(cwd, 'b', 'manifest.yaml'), 'utf8')).toMatch(/^author: "?jose-nunez"?$/m);
  });

  it('is nothing without git, or without a name in its config', async () => {
    const cwd = await tempDir();
    expect(await gitAuthor(await gitEnv(undefined), cwd)).toBe('');
    expect(await gitAuthor({ ...(await gitEnv('Jane Doe')), PATH: cwd }, cwd)).toBe('');
    expect(await gitAuthor(await gitEnv('Jane Doe'), cwd)).toBe('jane-doe');
  });
});

describe('a name as an author ID', () => {
  it.each([
    ['Jane Doe', 'jane-doe'],
    ["  D'Arcy  O'Neil\n", 'd-arcy-o-neil'],
    ['dev_42', 'dev_42'],
    ['Zoë Ångström', 'zoe-angstrom'],
    ['张伟', ''],
    ['x'.repeat(80), 'x'.repeat(64)],
  ])('%j becomes %j', (name, id) => {
    expect(authorId(name)).toBe(id);
  });
});

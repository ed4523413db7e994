import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initCommand } from '../../src/cli/commands/init.js';
import type { Io } from '../../src/cli/io.js';
import { DEFAULT_STORAGE_SIZE } from '../../src/project/permissions.js';
import type { Answers } from '../../src/scaffold/answers.js';
import { askAnswers } from '../../src/scaffold/prompts.js';
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

describe('interactive init', () => {
  it('asks every question, validates as typed, and lets an answer be changed from the summary', async () => {
    const t = terminal();
    const done = askAnswers(blank, { input: t.input, output: t.output });
    await t.answer('Plugin name', 'My Plugin', KEY.enter); // refused: upper case and a space
    await t.answer('use 1-128 lowercase letters');
    t.input.write(KEY.clearLine);
    t.input.write('my_plugin' + KEY.enter);
    await t.answer('Author', 'acme', KEY.enter);
    await t.answer('Description', 'Greets people', KEY.enter);
    await t.answer('Repository URL', KEY.enter);
    await t.answer('Translated READMEs', KEY.space, KEY.enter); // zh_Hans
    await t.answer('Language', KEY.enter);
    await t.answer('Plugin type', ...Array(7).fill(KEY.down), KEY.enter); // extension
    await t.answer('What may the plugin call', ...Array(11).fill(KEY.down), KEY.space, KEY.enter); // storage
    await t.answer('Storage size in bytes', KEY.enter);
    await t.answer('Minimum Dify version', '1.9.0', KEY.enter);
    await t.answer('Ready to create', KEY.down, KEY.enter); // "Change the name"
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
      storageSize: DEFAULT_STORAGE_SIZE,
      minDifyVersion: '1.9.0',
    });
    expect(t.plain()).toMatch(/name\s+my_plugin/); // the first summary showed the first answer
  });

  it('takes back the permissions it offered an agent strategy when the type changes', async () => {
    const t = terminal();
    const done = askAnswers(
      { ...blank, name: 'a', author: 'acme', description: 'Thinks' },
      { input: t.input, output: t.output },
    );
    for (const q of ['Plugin name', 'Author', 'Description', 'Repository URL', 'Translated READMEs', 'Language'])
      await t.answer(q, KEY.enter);
    await t.answer('Plugin type', ...Array(8).fill(KEY.down), KEY.enter); // agent-strategy
    await t.answer('What may the plugin call', KEY.enter); // keeps the offered tool, model and llm
    await t.answer('Minimum Dify version', KEY.enter);
    await t.answer('Ready to create', ...Array(7).fill(KEY.down), KEY.enter); // "Change the type"
    await t.answer('Plugin type', ...Array(7).fill(KEY.up), KEY.enter); // llm
    await t.answer('Ready to create', KEY.enter);
    expect(await done).toMatchObject({ category: 'llm', permissions: [] });
    expect(t.plain()).toMatch(/permissions +tool, model, model\.llm\n[^]*permissions +none\n/); // before and after the change
  });

  it('Ctrl-C stops the prompts and nothing is written', async () => {
    const cwd = await tempDir();
    const t = terminal();
    let err = '';
    const io: Io = { stdin: t.input, stdout: t.output, stderr: { write: (s: string) => (err += s) }, env: {}, cwd };
    const run = initCommand({}, io);
    await t.answer('Plugin name', 'half', KEY.enter);
    await t.answer('Author', KEY.ctrlC);
    await expect(run).rejects.toThrow('cancelled: nothing was written');
    expect(readdirSync(cwd)).toEqual([]);
  });
});

import path from 'node:path';
import checkbox from '@inquirer/checkbox';
import input from '@inquirer/input';
import select from '@inquirer/select';
import { AGENT_PERMISSIONS, PERMISSION_INFO, PERMISSIONS } from '../project/permissions.js';
import {
  CATEGORIES,
  MB,
  MIN_DIFY_FOR_CATEGORY,
  README_LANGUAGES,
  STORAGE_MB,
  storageSizeText,
  type Answers,
  type Category,
} from './answers.js';
import { validate } from '../project/manifest-fields.js';
import { targetConflict } from './create.js';

/** Streams for the prompts; tests pass their own to drive the flow. */
export interface PromptContext {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** Where the project goes: `<cwd>/<name>`, written into even when not empty with `force`. */
export interface Target {
  cwd: string;
  force: boolean;
}

const CATEGORY_HINTS: Record<Category, string> = {
  tool: 'tools that workflows, chatflows and agents call',
  llm: 'a model provider with large language models',
  'text-embedding': 'a model provider with text-embedding models',
  rerank: 'a model provider with rerank models',
  tts: 'a model provider with text-to-speech models',
  speech2text: 'a model provider with speech-to-text models',
  moderation: 'a model provider with moderation models',
  extension: 'HTTP endpoints served by Dify (webhooks, APIs)',
  'agent-strategy': 'a reasoning strategy for the Agent node',
  datasource: 'documents for knowledge pipelines (Dify 1.9+)',
  trigger: 'events that start workflows (Dify 1.10+)',
  bundle: 'a bundle of several plugins',
};

const README_NAMES: Record<(typeof README_LANGUAGES)[number], string> = {
  zh_Hans: '简体中文 (zh_Hans)',
  ja_JP: '日本語 (ja_JP)',
  pt_BR: 'Português (pt_BR)',
};

// No question for the language while Python is the only one: the summary shows it.
type Step = 'name' | 'author' | 'description' | 'repo' | 'readme' | 'category' | 'permissions' | 'minDifyVersion';

const PLUGIN_STEPS: Step[] = [
  'name',
  'author',
  'description',
  'repo',
  'readme',
  'category',
  'permissions',
  'minDifyVersion',
];
const BUNDLE_STEPS: Step[] = ['name', 'author', 'description'];

const STEP_LABELS: Record<Step, string> = {
  name: 'name',
  author: 'author',
  description: 'description',
  repo: 'repository',
  readme: 'translated READMEs',
  category: 'type',
  permissions: 'permissions',
  minDifyVersion: 'minimum Dify version',
};

/**
 * Asks for everything `init` needs, starting from what flags already gave, then shows a summary
 * where any answer can be changed before anything is written; null when the author cancels
 * there. Ctrl-C throws the prompt library's ExitPromptError, and nothing has been written by then.
 */
export async function askAnswers(start: Answers, target: Target, ctx: PromptContext = {}): Promise<Answers | null> {
  const a: Answers = { ...start };
  const steps = () => (a.category === 'bundle' ? BUNDLE_STEPS : PLUGIN_STEPS);
  for (const step of steps()) await ask(step, a, target, ctx);
  for (;;) {
    // Cleared once answered: the next summary replaces this one instead of piling up below it, and
    // the choice is not printed after its last line. Short enough for a 24-line terminal, where a
    // prompt taller than the screen could not be erased.
    const next = await select(
      {
        message: summary(a, target),
        choices: [
          { name: 'Create it', value: 'create' as const },
          { name: 'Change an answer', value: 'change' as const },
          { name: 'Cancel (write nothing)', value: 'cancel' as const },
        ],
      },
      { ...ctx, clearPromptOnDone: true },
    );
    if (next === 'create') return a;
    if (next === 'cancel') return null;
    const step = await select(
      {
        message: 'Change which answer?',
        choices: steps().map((s) => ({ name: STEP_LABELS[s], value: s })),
        pageSize: steps().length,
      },
      { ...ctx, clearPromptOnDone: true },
    );
    await ask(step, a, target, ctx);
  }
}

/** The name question's check: the rule, then whether `./<name>` can take the project. */
function nameProblem(name: string, target: Target): true | string {
  const rule = validate.name(name);
  if (rule !== true) return rule;
  const conflict = conflictAt(path.resolve(target.cwd, name), target.force);
  if (conflict === 'file') return `./${name} is a file: choose another name`;
  if (conflict === 'not-empty') return `./${name} is not empty: choose another name, or run again with --force`;
  if (conflict instanceof Error) return `./${name} cannot be used: ${conflict.message}`;
  return true;
}

/** {@link targetConflict}, with an unreadable target as the reason rather than thrown. */
function conflictAt(dir: string, force: boolean): ReturnType<typeof targetConflict> | Error {
  try {
    return targetConflict(dir, force);
  } catch (err) {
    return err as Error;
  }
}

const sameSet = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x) => b.includes(x));

async function ask(step: Step, a: Answers, target: Target, ctx: PromptContext): Promise<void> {
  switch (step) {
    case 'name':
      a.name = await input(
        {
          message: `${a.category === 'bundle' ? 'Bundle' : 'Plugin'} name`,
          default: a.name || undefined,
          validate: (v) => nameProblem(v, target),
        },
        ctx,
      );
      break;
    case 'author':
      a.author = await input(
        { message: 'Author (your Dify Marketplace ID)', default: a.author || undefined, validate: validate.author },
        ctx,
      );
      break;
    case 'description':
      a.description = await input(
        { message: 'Description', default: a.description || undefined, validate: validate.description },
        ctx,
      );
      break;
    case 'repo':
      a.repo = await input(
        { message: 'Repository URL (optional)', default: a.repo || undefined, validate: validate.repo },
        ctx,
      );
      break;
    case 'readme':
      a.readmeLanguages = await checkbox(
        {
          message: 'Translated READMEs (README.md in English is always created)',
          choices: README_LANGUAGES.map((l) => ({
            name: README_NAMES[l],
            value: l,
            checked: a.readmeLanguages.includes(l),
          })),
        },
        ctx,
      );
      break;
    case 'category': {
      const before = a.category;
      a.category = await select(
        {
          message: 'Plugin type',
          default: a.category,
          choices: CATEGORIES.filter((c) => c !== 'bundle').map((c) => ({
            name: c,
            value: c,
            description: CATEGORY_HINTS[c],
          })),
        },
        ctx,
      );
      // An agent strategy needs tools and an LLM to do anything; offer those as a start, and take
      // them back when the author switches away before changing them.
      if (a.category === 'agent-strategy' && before !== 'agent-strategy' && a.permissions.length === 0) {
        a.permissions = [...AGENT_PERMISSIONS];
      } else if (
        before === 'agent-strategy' &&
        a.category !== 'agent-strategy' &&
        sameSet(a.permissions, AGENT_PERMISSIONS)
      ) {
        a.permissions = [];
      }
      break;
    }
    case 'permissions':
      a.permissions = await checkbox(
        {
          message: 'What may the plugin call back into Dify?',
          choices: PERMISSIONS.map((p) => ({
            name: PERMISSION_INFO[p].label,
            value: p,
            checked: a.permissions.includes(p),
          })),
          pageSize: PERMISSIONS.length,
        },
        ctx,
      );
      if (a.permissions.includes('storage')) {
        const mb = await input(
          {
            message: `Storage size in MB (${STORAGE_MB.min}-${STORAGE_MB.max})`,
            default: String(Math.min(STORAGE_MB.max, Math.max(STORAGE_MB.min, Math.round(a.storageSize / MB)))),
            validate: (v) =>
              (/^\d+$/.test(v.trim()) && Number(v) >= STORAGE_MB.min && Number(v) <= STORAGE_MB.max) ||
              `use a whole number of MB from ${STORAGE_MB.min} to ${STORAGE_MB.max}`,
          },
          ctx,
        );
        a.storageSize = Number(mb) * MB;
      }
      break;
    case 'minDifyVersion':
      a.minDifyVersion = await input(
        {
          message: 'Minimum Dify version (optional)',
          default: a.minDifyVersion || MIN_DIFY_FOR_CATEGORY[a.category] || undefined,
          validate: validate.minDifyVersion,
        },
        ctx,
      );
      break;
  }
}

function summary(a: Answers, target: Target): string {
  const rows: [string, string][] =
    a.category === 'bundle'
      ? [
          ['name', a.name],
          ['author', a.author],
          ['description', a.description],
        ]
      : [
          ['name', a.name],
          ['author', a.author],
          ['description', a.description],
          ['repository', a.repo || '-'],
          ['READMEs', ['en_US', ...a.readmeLanguages].join(', ')],
          ['language', 'Python (the only one supported so far)'],
          ['type', a.category],
          [
            'permissions',
            a.permissions.length
              ? a.permissions.join(', ') +
                (a.permissions.includes('storage') ? ` (storage ${storageSizeText(a.storageSize)})` : '')
              : 'none',
          ],
          ['minimum Dify', a.minDifyVersion || 'any'],
        ];
  const dir = path.resolve(target.cwd, a.name);
  // With --force an existing directory is written into: say so before the author confirms.
  const into = conflictAt(dir, false) === 'not-empty' ? ['  (it exists: files of the same name are replaced)'] : [];
  return [`Ready to create ${dir}`, ...into, ...rows.map(([k, v]) => `  ${k.padEnd(13)}${v}`)].join('\n');
}

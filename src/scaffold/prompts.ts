import checkbox from '@inquirer/checkbox';
import input from '@inquirer/input';
import select, { Separator } from '@inquirer/select';
import { AGENT_PERMISSIONS, DEFAULT_STORAGE_SIZE, PERMISSION_INFO, PERMISSIONS } from '../project/permissions.js';
import { CATEGORIES, MIN_DIFY_FOR_CATEGORY, README_LANGUAGES, type Answers, type Category } from './answers.js';
import { validate } from '../project/manifest-fields.js';

/** Streams for the prompts; tests pass their own to drive the flow. */
export interface PromptContext {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
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

type Step =
  'name' | 'author' | 'description' | 'repo' | 'readme' | 'language' | 'category' | 'permissions' | 'minDifyVersion';

const PLUGIN_STEPS: Step[] = [
  'name',
  'author',
  'description',
  'repo',
  'readme',
  'language',
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
  language: 'language',
  category: 'type',
  permissions: 'permissions',
  minDifyVersion: 'minimum Dify version',
};

/**
 * Asks for everything `init` needs, starting from what flags already gave, then shows a summary
 * where any answer can be changed before anything is written. Ctrl-C throws the prompt
 * library's ExitPromptError, and nothing has been written by then.
 */
export async function askAnswers(start: Answers, ctx: PromptContext = {}): Promise<Answers> {
  const a: Answers = { ...start };
  const steps = () => (a.category === 'bundle' ? BUNDLE_STEPS : PLUGIN_STEPS);
  for (const step of steps()) await ask(step, a, ctx);
  for (;;) {
    const choice = await select<Step | 'create'>(
      {
        message: summary(a),
        choices: [
          { name: 'Create it', value: 'create' },
          new Separator(),
          ...steps().map((s) => ({ name: `Change the ${STEP_LABELS[s]}`, value: s })),
        ],
      },
      ctx,
    );
    if (choice === 'create') return a;
    await ask(choice, a, ctx);
  }
}

const sameSet = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x) => b.includes(x));

async function ask(step: Step, a: Answers, ctx: PromptContext): Promise<void> {
  switch (step) {
    case 'name':
      a.name = await input(
        {
          message: `${a.category === 'bundle' ? 'Bundle' : 'Plugin'} name`,
          default: a.name || undefined,
          validate: validate.name,
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
    case 'language':
      a.language = await select(
        {
          message: 'Language',
          choices: [
            { name: 'Python (3.12+)', value: 'python' as const },
            { name: 'Go', value: 'python' as const, disabled: '(not supported yet)' },
            { name: 'TypeScript', value: 'python' as const, disabled: '(not supported yet)' },
          ],
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
        const size = await input(
          {
            message: 'Storage size in bytes',
            default: String(a.storageSize || DEFAULT_STORAGE_SIZE),
            validate: (v) => validate.storageSize(Number(v)),
          },
          ctx,
        );
        a.storageSize = Number(size);
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

function summary(a: Answers): string {
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
          ['language', a.language],
          ['type', a.category],
          [
            'permissions',
            a.permissions.length
              ? a.permissions.join(', ') +
                (a.permissions.includes('storage') ? ` (storage ${a.storageSize} bytes)` : '')
              : 'none',
          ],
          ['minimum Dify', a.minDifyVersion || 'any'],
        ];
  return ['Ready to create:', ...rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`)].join('\n');
}

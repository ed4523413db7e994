import path from 'node:path';
import { AGENT_PERMISSIONS, DEFAULT_STORAGE_SIZE, type Permission } from '../../project/permissions.js';
import {
  CATEGORIES,
  MB,
  README_LANGUAGES,
  STORAGE_MB,
  type Answers,
  type Category,
  type ReadmeLanguage,
} from '../../scaffold/answers.js';
import { permissionsFromOptions, type PermissionFlags } from '../register/permission-flags.js';
import { validate } from '../../project/manifest-fields.js';
import { writeProject } from '../../scaffold/create.js';
import { scaffoldFiles } from '../../scaffold/files.js';
import { colorFor } from '../../report/color.js';
import { VERSION } from '../../version.js';
import { EXIT, type ExitCode, UsageError, UserError } from '../../diagnostics/user-error.js';
import type { Io } from '../io.js';

/** The Go CLI's flags (dify-plugin-daemon `cmd/commandline/plugin.go`) plus --type, --readme-languages and --force. */
export interface InitOptions extends PermissionFlags {
  quick?: boolean;
  name?: string;
  author?: string;
  description?: string;
  repo?: string;
  category?: string;
  type?: string;
  language?: string;
  minDifyVersion?: string;
  storageSize?: string;
  readmeLanguages?: string;
  force?: boolean;
}

/**
 * `dify plugin init` (and `dify bundle init`): asks on a terminal unless --quick, otherwise takes
 * everything from flags and never waits for input.
 */
export async function initCommand(opts: InitOptions, io: Io, fixedCategory?: Category): Promise<ExitCode> {
  const start = answersFromFlags(opts, fixedCategory);
  const interactive = !opts.quick && Boolean(io.stdin.isTTY);
  const force = Boolean(opts.force);
  let answers: Answers;
  if (interactive) {
    const [{ askAnswers }, { gitAuthor }] = await Promise.all([
      import('../../scaffold/prompts.js'),
      import('../../scaffold/git-author.js'),
    ]);
    if (!start.author) start.author = await gitAuthor(io.env, io.cwd);
    let asked: Answers | null;
    try {
      asked = await askAnswers(
        start,
        { cwd: io.cwd, force },
        { input: io.stdin, output: io.stdout as NodeJS.WritableStream },
      );
    } catch (err) {
      // Ctrl-C reaches the prompts as a key, not as a signal: exit as if it had been one.
      if ((err as Error).name !== 'ExitPromptError') throw err;
      io.stderr.write('cancelled; nothing was written\n');
      return EXIT.interrupted;
    }
    if (!asked) {
      io.stderr.write('cancelled; nothing was written\n');
      return EXIT.failed;
    }
    answers = asked;
  } else {
    const missing = (['name', 'author', 'description'] as const).filter((k) => !start[k]).map((k) => `--${k}`);
    if (missing.length > 0) {
      const example =
        start.category === 'bundle'
          ? 'dify bundle init --quick --name my_bundle'
          : 'dify plugin init --quick --name my_tool';
      throw new UsageError(
        `missing ${missing.join(', ')}: they are required with --quick or without a terminal`,
        `e.g. ${example} --author acme --description "What it does"`,
      );
    }
    answers = start;
  }

  const dir = path.resolve(io.cwd, answers.name);
  const now = io.env.SOURCE_DATE_EPOCH ? new Date(Number(io.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
  const files = scaffoldFiles(answers, { now, cliVersion: VERSION });
  try {
    writeProject(dir, files, force);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot create ${dir}: ${(err as Error).message}`);
  }
  const c = colorFor(io.stdout, io.env);
  const what = answers.category === 'bundle' ? 'bundle' : `${answers.category} plugin`;
  io.stdout.write(c.green(`✓ Created ${answers.name}/ (${what}, ${files.length} files)\n`));
  io.stdout.write(
    answers.category === 'bundle'
      ? `  next: add plugins with \`dify bundle append ... ${answers.name}\` (README.md shows how), then \`dify bundle package ${answers.name}\`\n`
      : `  next: cd ${answers.name} and read GUIDE.md, then \`dify plugin run\` to debug it against Dify\n`,
  );
  return EXIT.ok;
}

/** Flags into answers, refusing bad values with the rule (exit 2). */
function answersFromFlags(o: InitOptions, fixedCategory?: Category): Answers {
  const check = (flag: string, value: string, result: true | string) => {
    if (result !== true) throw new UsageError(`--${flag} "${value}": ${result}`);
  };
  if (o.type !== undefined && o.category !== undefined && o.type !== o.category) {
    throw new UsageError(`--type "${o.type}" and --category "${o.category}" disagree: pass one of them`);
  }
  const category = (fixedCategory ?? o.type ?? o.category ?? 'tool') as Category;
  if (!CATEGORIES.includes(category))
    throw new UsageError(`unknown plugin type "${o.type ?? o.category}"; one of: ${CATEGORIES.join(', ')}`);
  if (category === 'bundle') refusePluginOnlyFlags(o);
  if (o.language !== undefined && o.language !== 'python')
    throw new UsageError(`--language "${o.language}": only python is supported`);
  if (o.name !== undefined) check('name', o.name, validate.name(o.name));
  if (o.author !== undefined) check('author', o.author, validate.author(o.author));
  if (o.description !== undefined) check('description', o.description, validate.description(o.description));
  if (o.repo !== undefined) check('repo', o.repo, validate.repo(o.repo));
  if (o.minDifyVersion !== undefined)
    check('min-dify-version', o.minDifyVersion, validate.minDifyVersion(o.minDifyVersion));
  const storageSize = o.storageSize === undefined ? DEFAULT_STORAGE_SIZE : storageBytes(o.storageSize);
  const sizeRule = validate.storageSize(storageSize);
  if (o.storageSize !== undefined && sizeRule !== true)
    check(
      'storage-size',
      o.storageSize,
      `${sizeRule}, or of MB from ${STORAGE_MB.min} to ${STORAGE_MB.max} written as 5MB`,
    );
  const readmeLanguages = (o.readmeLanguages ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const l of readmeLanguages) {
    if (!(README_LANGUAGES as readonly string[]).includes(l))
      throw new UsageError(`--readme-languages: "${l}" is not one of ${README_LANGUAGES.join(', ')}`);
  }
  return {
    name: o.name ?? '',
    author: o.author ?? '',
    description: o.description ?? '',
    repo: o.repo ?? '',
    category,
    language: 'python',
    readmeLanguages: readmeLanguages as ReadmeLanguage[],
    permissions: permissionsFromFlags(o, category),
    storageSize,
    minDifyVersion: o.minDifyVersion ?? '',
  };
}

/**
 * `--storage-size`: bytes, as in the Go CLI, or MB with the unit (`5MB`), as the question asks.
 * Anything else is NaN, which the size rule refuses.
 */
function storageBytes(value: string): number {
  const mb = /^\s*(\d+)\s*MB\s*$/i.exec(value);
  if (mb) return Number(mb[1]) * MB;
  return /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
}

/** Flags that shape a plugin but mean nothing for a bundle: silently dropping them would hide a mistake. */
function refusePluginOnlyFlags(o: InitOptions): void {
  const given = [
    ...(['repo', 'language', 'minDifyVersion', 'storageSize', 'readmeLanguages'] as const)
      .filter((k) => o[k] !== undefined)
      .map(flagName),
    ...(permissionsFromOptions(o).length > 0 ? ['--allow-*'] : []),
  ];
  if (given.length > 0)
    throw new UsageError(`${given.join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply to a bundle`);
}

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The --allow-* flags. An agent strategy given none gets what it cannot work without — calling
 * tools and an LLM — as the Go CLI's interactive flow does (its --quick mode leaves them out).
 */
function permissionsFromFlags(o: InitOptions, category: Category): Permission[] {
  const chosen = permissionsFromOptions(o);
  if (chosen.length === 0 && category === 'agent-strategy') return [...AGENT_PERMISSIONS];
  return chosen;
}

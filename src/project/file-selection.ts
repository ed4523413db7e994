import {
  accessSync,
  constants,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { diagnostic } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { specialKind, whyUnreadable } from './file-kind.js';
import { ZIP32_MAX } from './limits.js';
import { CONTROL, nameProblem } from './entry-name.js';
import { compareBytes } from './order.js';
import { pluginNameOf } from './plugin-path.js';
import { secretIn } from './secrets.js';
import { isTempFileName } from './temp-file.js';

/**
 * Never packed, whatever the ignore file says: version control, virtual environments, caches,
 * earlier packages and deployments, and secrets (`.env` holds the remote-debug key; `.env.example` is kept;
 * `credentials.yaml` is what `dify plugin invoke --credentials` reads). `.dify/` is the CLI's own
 * working folder in a plugin (the storage `dify plugin invoke` emulates).
 */
export const DEFAULT_EXCLUDES = [
  '.git/',
  '.venv/',
  'venv/',
  '__pycache__/',
  '*.pyc',
  '.DS_Store',
  'node_modules/',
  '*.difypkg',
  '*.difybndl',
  // What `package --serverless` writes (a Lambda package, a container build context).
  '*.serverless.zip',
  '*.serverless/',
  '.env',
  '.env.*',
  '!.env.example',
  'credentials.yaml',
  '.dify/',
];

/**
 * Names that DEFAULT_EXCLUDES may exclude, case-blind as the rules are; anything else is packed
 * unless the ignore file says otherwise, known without asking the `ignore` matcher, whose
 * compiling and matching run cold on every check. (`.env.example` is re-included.) Tested
 * against the matcher in test/unit/select.test.ts.
 */
const MAYBE_DEFAULT_EXCLUDED =
  /^(?:\.git|\.venv|venv|__pycache__|node_modules|\.ds_store|\.env(?:\..*)?|credentials\.yaml|\.dify)\/?$|\.(?:pyc|difypkg|difybndl|serverless|serverless\.zip)\/?$/i;
const ENV_EXAMPLE = /^\.env\.example$/i;

/** Whether the default rules could exclude `relPath` (a directory ends in `/`), its parents being packed. */
export function mayBeExcludedByDefault(relPath: string): boolean {
  const name = relPath.slice(relPath.lastIndexOf('/', relPath.length - 2) + 1);
  return MAYBE_DEFAULT_EXCLUDED.test(name) && !ENV_EXAMPLE.test(name);
}

/** The ignore files the Go CLI reads, in order: the first that exists is used, never both. */
const IGNORE_FILES = ['.difyignore', '.gitignore'] as const;
export type IgnoreFileName = (typeof IGNORE_FILES)[number];

export interface SelectedFile {
  /** Relative to the plugin root, `/`-separated. */
  path: string;
  abs: string;
  size: number;
}

export interface ExcludedPath {
  /** A file, or a directory with a trailing `/` (its contents are not listed). */
  path: string;
  /** Why: `default (.git/)`, `.difyignore:3 (*.log)`, `output file`, ... */
  rule: string;
}

export interface FileSelection {
  files: SelectedFile[];
  excluded: ExcludedPath[];
  ignoreFile: IgnoreFileName | null;
  /**
   * Files that cannot be packed (unreadable, a FIFO or device, over 4 GiB, a secret; none of them
   * is in `files`), symbolic-link problems, and the note that a `.env` was left out.
   */
  findings: Diagnostic[];
  /** Why a path is excluded, or null when it would be packed. */
  exclusionOf(relPath: string): string | null;
}

interface RuleSet {
  ig: Ignore;
  label: (mark: string | undefined, pattern: string) => string;
}

/**
 * Decides which files of a plugin directory go into its package: built-in exclusions first, then
 * the root `.difyignore` (or, without one, `.gitignore`) with real gitignore semantics — unlike
 * the Go CLI, `!pattern` re-includes. Ignored directories are not descended into.
 */
export function selectFiles(root: string, options: { outputPath?: string } = {}): FileSelection {
  const rootAbs = path.resolve(root);
  const rootReal = realpathSync(rootAbs);
  const { ruleSet: user, name: ignoreFile } = readIgnoreFile(rootAbs);
  const outputRel = options.outputPath ? pluginNameOf(rootAbs, path.resolve(options.outputPath)) : undefined;

  const exclusionOf = (relPath: string): string | null => {
    if (relPath === outputRel) return 'output file';
    if (isTempFileName(relPath.slice(relPath.lastIndexOf('/') + 1))) return 'temporary file of an unfinished write';
    if (mayBeExcludedByDefault(relPath)) {
      const result = defaultRuleSet().ig.test(relPath);
      if (result.ignored) return defaultRuleSet().label(result.rule?.mark, result.rule?.pattern ?? '');
    }
    if (user) {
      const result = user.ig.test(relPath);
      if (result.ignored) return user.label(result.rule?.mark, result.rule?.pattern ?? '');
    }
    return null;
  };

  const files: SelectedFile[] = [];
  const excluded: ExcludedPath[] = [];
  const findings: Diagnostic[] = [];
  /**
   * The line that leaves a file out, in the ignore file that is read (only one ever is): anchored,
   * with gitignore's wildcards and a trailing space escaped so that it matches that file only.
   */
  const ignoreLine = (rel: string) =>
    `add "/${rel.replace(/[\\*?[]/g, '\\$&').replace(/ $/, '\\ ')}" to ${ignoreFile ?? '.difyignore'}`;

  /** A FIFO, socket or device: reading one would block or never end; the Go CLI hangs on a FIFO. */
  const special = (rel: string, info: Stats): void => {
    findings.push(
      diagnostic(
        'pack/special-file',
        { file: rel },
        `${rel} is ${specialKind(info) ?? 'not a regular file'}, which cannot be packed`,
        `remove it, or ${ignoreLine(rel)}`,
      ),
    );
  };

  /**
   * Whether a regular file (or a link's target) may go into the package; if not, the finding
   * that says why. Readability of a file not readable by all is asked of the system (access(2)),
   * so that the file is named now rather than the packing failing halfway.
   */
  const packable = (
    rel: string,
    abs: string,
    size: number,
    mode: number,
    names: string[],
    outside: boolean,
  ): boolean => {
    try {
      // One system call per file adds up in large plugins; a file readable by all needs none.
      if ((mode & 0o444) !== 0o444) accessSync(abs, constants.R_OK);
    } catch (err) {
      const reason = whyUnreadable(err);
      findings.push(
        diagnostic(
          'file/unreadable',
          { file: rel },
          `cannot read ${rel}: ${reason}`,
          `make it readable (chmod a+r), or ${ignoreLine(rel)}`,
        ),
      );
      return false;
    }
    // No ZIP64 is written: refused before anything is read, not after reading gigabytes.
    if (size > ZIP32_MAX) {
      findings.push(
        diagnostic(
          'pack/file-over-4gib',
          { file: rel },
          `${rel} takes ${(size / 1024 ** 3).toFixed(1)} GiB; a package (a ZIP without ZIP64) holds files up to 4 GiB`,
          `${ignoreLine(rel)}; a plugin downloads data this large at run time`,
        ),
      );
      return false;
    }
    const secret = secretIn(abs, names, outside);
    if (secret) {
      findings.push(
        diagnostic(
          'pack/secret',
          { file: rel },
          `${rel} holds ${secret}; refusing to pack it`,
          `move it out of the plugin directory, or ${ignoreLine(rel)}`,
        ),
      );
      return false;
    }
    return true;
  };

  /**
   * Whether the path can be an entry name (its parents can); if not, the finding that says why.
   * A name that is not UTF-8 comes out of readdir with U+FFFD in place of its bytes, and then
   * names no file: the disk is asked about names holding U+FFFD only.
   */
  const packableName = (rel: string, abs: string, shown: string): boolean => {
    const problem =
      nameProblem(rel) ??
      (rel.includes('\uFFFD') && !lstatSync(abs, { throwIfNoEntry: false }) ? 'has a name that is not UTF-8' : null);
    if (!problem) return true;
    // An ignore file cannot name a file whose name holds a line break.
    const hint = CONTROL.test(rel) ? 'rename it' : `rename it, or ${ignoreLine(rel)}`;
    findings.push(diagnostic('pack/unpackable-name', { file: shown }, `${shown} ${problem}`, hint));
    return false;
  };

  // Synchronous file-system calls: for many small files they are several times faster than
  // promise round trips through the thread pool, and a CLI has nothing else to do meanwhile.
  const visit = (dirRel: string): void => {
    const dirAbs = path.join(rootAbs, dirRel);
    let entries;
    try {
      entries = readdirSync(dirAbs, { withFileTypes: true }).sort((a, b) => compareBytes(a.name, b.name));
    } catch (err) {
      if (dirRel === '') throw err; // the plugin directory itself: the caller reports it
      findings.push(
        diagnostic('file/unreadable', { file: `${dirRel}/` }, `${dirRel}/ cannot be read: ${(err as Error).message}`),
      );
      return;
    }
    for (const entry of entries) {
      const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
      const abs = path.join(dirAbs, entry.name);
      const shown = entry.isDirectory() ? `${rel}/` : rel;
      const rule = exclusionOf(shown);
      if (rule) {
        excluded.push({ path: shown, rule });
        continue;
      }
      if (!packableName(rel, abs, shown)) continue;
      if (entry.isDirectory()) {
        visit(rel);
      } else if (entry.isFile()) {
        const { size, mode } = lstatSync(abs);
        if (packable(rel, abs, size, mode, [entry.name], false)) files.push({ path: rel, abs, size });
      } else if (entry.isSymbolicLink()) {
        const linked = followLink(rel, abs, rootReal, findings);
        if (linked === 'directory') excluded.push({ path: `${rel}/`, rule: 'linked directory (not followed)' });
        else if (linked && isSecretEnv(path.basename(linked.target)))
          excluded.push({ path: rel, rule: `default (links to ${path.basename(linked.target)})` });
        else if (
          linked &&
          packable(rel, abs, linked.size, linked.mode, [entry.name, path.basename(linked.target)], linked.outside)
        )
          files.push({ path: rel, abs, size: linked.size });
      } else {
        special(rel, lstatSync(abs));
      }
    }
  };
  visit('');

  // Secrets the defaults kept out: `.env` files themselves, and links to them.
  const envFiles = excluded.filter(
    (e) =>
      e.rule.startsWith('default (links to') ||
      (e.rule.startsWith('default') && isSecretEnv(path.posix.basename(e.path))),
  );
  if (envFiles.length > 0) {
    findings.push(
      diagnostic(
        'pack/env-excluded',
        { file: envFiles[0]!.path },
        `${envFiles.map((e) => e.path).join(', ')} left out of the package: .env files hold secrets such as the remote-debug key`,
      ),
    );
  }
  files.sort((a, b) => compareBytes(a.path, b.path));
  return { files, excluded, ignoreFile, findings, exclusionOf };
}

/**
 * Compiled rules, shared by every plugin of one run: checking a monorepo compiles the defaults
 * once, and an ignore file that many plugins share (often one file linked into each) once too.
 */
let defaultRules: RuleSet | undefined;
const defaultRuleSet = (): RuleSet =>
  (defaultRules ??= { ig: ignore().add(DEFAULT_EXCLUDES), label: (_, pattern) => `default (${pattern})` });
const compiledIgnoreFiles = new Map<string, RuleSet>();

function readIgnoreFile(rootAbs: string): { ruleSet: RuleSet | null; name: IgnoreFileName | null } {
  for (const name of IGNORE_FILES) {
    let text: string;
    try {
      text = readFileSync(path.join(rootAbs, name), 'utf8');
    } catch {
      continue; // the Go CLI falls back to .gitignore only when .difyignore cannot be read
    }
    const key = `${name}\u0000${text}`;
    let ruleSet = compiledIgnoreFiles.get(key);
    if (!ruleSet) {
      // Case matters, as it does to git on Linux and to the Go CLI (the defaults stay case-blind).
      const ig = ignore({ ignorecase: false });
      text.split('\n').forEach((line, i) => ig.add({ pattern: line.replace(/\r$/, ''), mark: String(i + 1) }));
      ruleSet = { ig, label: (mark, pattern) => `${name}:${mark} (${pattern})` };
      compiledIgnoreFiles.set(key, ruleSet);
    }
    return { ruleSet, name };
  }
  return { ruleSet: null, name: null };
}

/** `.env` and `.env.*` hold secrets such as the debug key; `.env.example` is meant to be shared. */
function isSecretEnv(name: string): boolean {
  return /^\.env(\..*)?$/.test(name) && name !== '.env.example';
}

function followLink(
  rel: string,
  abs: string,
  rootReal: string,
  findings: Diagnostic[],
): { size: number; mode: number; target: string; outside: boolean } | 'directory' | null {
  let target: ReturnType<typeof statSync>;
  try {
    target = statSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    // ELOOP: links that point at each other, which no reader can follow either.
    findings.push(
      diagnostic(
        'pack/dangling-link',
        { file: rel },
        `${rel} is a symbolic link that cannot be followed (${(err as NodeJS.ErrnoException).code})`,
        'remove the link or point it at a real file',
      ),
    );
    return null;
  }
  if (!target) {
    findings.push(
      diagnostic(
        'pack/dangling-link',
        { file: rel },
        `${rel} is a symbolic link to something that does not exist`,
        'remove the link or restore its target',
      ),
    );
    return null;
  }
  if (target.isDirectory()) {
    findings.push(
      diagnostic(
        'pack/linked-directory',
        { file: rel },
        `${rel} links to a directory, which is not followed: its files are not packed`,
        'copy the directory into the plugin, or link the files one by one',
      ),
    );
    return 'directory';
  }
  if (!target.isFile()) {
    findings.push(
      diagnostic(
        'pack/special-file',
        { file: rel },
        `${rel} links to ${specialKind(target) ?? 'something that is not a regular file'}, which cannot be packed`,
        'remove the link',
      ),
    );
    return null;
  }
  const real = realpathSync(abs);
  const outside = pluginNameOf(rootReal, real) === undefined;
  if (outside) {
    findings.push(
      diagnostic(
        'pack/link-outside',
        { file: rel },
        `${rel} links to ${real}, outside the plugin directory; its content will be packed`,
        'make sure that file holds nothing secret',
      ),
    );
  }
  return { size: target.size, mode: target.mode, target: real, outside };
}

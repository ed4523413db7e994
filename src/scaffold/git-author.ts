import { execFile } from 'node:child_process';

/** Git answers from its config files at once; a slow or stuck git must not delay the first question. */
const GIT_TIMEOUT_MS = 2000;

/**
 * The author ID to offer: `git config user.name` as {@link authorId} makes it, or '' when git is
 * missing, slow, or has no name. Run where the project goes, so a repository's own name wins.
 */
export function gitAuthor(env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['config', 'user.name'],
      { env, cwd, timeout: GIT_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 64 * 1024, windowsHide: true },
      (err, stdout) => resolve(err ? '' : authorId(stdout)),
    );
  });
}

/**
 * A person's name as an author ID, which allows only 1-64 lowercase letters, digits, `-` and `_`:
 * `José Núñez` → `jose-nunez`. Accents are dropped, every other run of disallowed characters becomes
 * one `-`; a name with nothing left (in a script other than Latin, say) gives ''.
 */
export function authorId(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .slice(0, 64)
    .replace(/^[-_]+|[-_]+$/g, '');
}

import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import { UserError } from '../diagnostics/user-error.js';

/** What a change means for a running session. */
export type ChangeKind = 'code' | 'declarations';

export interface PluginWatcher {
  /** Settles once every directory is watched (rejects if the system refuses): an earlier edit may be missed. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches a plugin directory and reports, debounced, whether code or declarations changed:
 * YAML files and `_assets/` change what is registered; anything else the plugin runs (Python,
 * data files) only needs a restart. Paths the package would leave out, hidden paths and editors'
 * temporary files are ignored, so swap files, caches and `.venv` never trigger anything.
 *
 * chokidar, not `fs.watch`: an editor that saves by writing a new file and renaming it over the
 * old one (`sed -i`, JetBrains' safe write, Vim with `backupcopy=no`) replaces the inode that a
 * file watch was on, and Node's recursive watch on Linux sees that once and then nothing more;
 * chokidar watches the new file again. It is loaded only here, so other commands never pay for it.
 */
export function watchPlugin(
  dir: string,
  isExcluded: (relPath: string) => boolean,
  debounceMs: number,
  onChange: (kind: ChangeKind, files: string[]) => void,
): PluginWatcher {
  let root: string;
  try {
    // The directory itself, if `dir` is a link to it: links inside it are not followed.
    root = realpathSync(dir);
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw cannotWatch(dir, err);
  }
  const relOf = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  const ignored = (rel: string, isDir: boolean): boolean =>
    rel !== '' && (isHiddenOrEditorTemp(rel) || isExcluded(isDir ? `${rel}/` : rel));

  // Each path changed since the last report, and whether it existed before its first event. One
  // that did not and is gone again was another program's temporary file (sed -i's `sedXXXXXX`):
  // it ran nothing, and the file renamed over is what changed.
  let changed = new Map<string, { existed: boolean }>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    const files = [...changed]
      .filter(([rel, { existed }]) => existed || exists(path.join(root, rel)))
      .map(([rel]) => rel)
      .sort();
    changed = new Map();
    if (files.length > 0) onChange(files.some(isDeclaration) ? 'declarations' : 'code', files);
  };
  const seen = (event: string, abs: string) => {
    if (event !== 'add' && event !== 'change' && event !== 'unlink') return; // directories alone run nothing
    const rel = relOf(abs);
    if (rel.startsWith('../') || ignored(rel, false)) return;
    if (!changed.has(rel)) changed.set(rel, { existed: event !== 'add' });
    clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  };

  let watcher: FSWatcher | undefined;
  let closed = false;
  const ready = import('chokidar').then(
    ({ watch }) =>
      new Promise<void>((resolve, reject) => {
        if (closed) return resolve();
        watcher = watch(root, {
          ignoreInitial: true,
          followSymlinks: false, // never into a directory outside the plugin
          ignorePermissionErrors: true, // an unreadable directory: the check reports it
          // Its own handling of atomic saves delays deletions; the debounce above merges them instead.
          atomic: false,
          ignored: (abs: string, stats?: Stats) => ignored(relOf(abs), stats?.isDirectory() ?? false),
        });
        watcher.on('all', seen);
        watcher.once('ready', resolve);
        watcher.on('error', (err) => {
          // Out of inotify watches (ENOSPC) or file handles (EMFILE) while starting: the system's
          // limits, not a bug. Later (a directory created past the limit): keep watching the rest.
          reject(cannotWatch(dir, err));
        });
      }),
  );
  return {
    ready,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await ready.catch(() => undefined);
      await watcher?.close();
    },
  };
}

function cannotWatch(dir: string, err: unknown): UserError {
  return new UserError(
    `cannot watch ${dir} for changes: ${(err as Error).message}`,
    'raise the limit (on Linux: sysctl fs.inotify.max_user_watches), or run without --watch',
  );
}

function exists(abs: string): boolean {
  try {
    lstatSync(abs);
    return true;
  } catch {
    return false;
  }
}

/** The ignore files at the root: they change what is packed, so they are watched though hidden. */
const IGNORE_FILES = new Set(['.difyignore', '.gitignore']);

/**
 * Names editors give to swap, backup and temporary files, which the plugin never runs: Vim's
 * swap files and `4913` probe (and the numbers it tries after it, 123 apart), Vim's and Emacs's
 * `name~` backups, Emacs's `#name#` auto-saves, JetBrains' safe-write `___jb_tmp___` and
 * `___jb_old___`, Kate's `.kate-swp`. Hidden names (Emacs's `.#name` locks, `.name.swp`,
 * Sublime's and gedit's `.name.tmp` / `.goutputstream-*`, our own `.name.<pid>.<random>.tmp`)
 * are covered by the rule for hidden paths.
 */
const EDITOR_TEMP = /~$|^#.*#$|\.sw[a-px]$|___jb_(?:tmp|old)___$|\.kate-swp$/;

function isHiddenOrEditorTemp(rel: string): boolean {
  if (IGNORE_FILES.has(rel)) return false;
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (EDITOR_TEMP.test(name) || isVimProbe(name)) return true;
  return rel.split('/').some((part) => part.startsWith('.'));
}

/**
 * Before a rename-save Vim checks that it may create files in the directory with a file named
 * `4913`, or 4913 + 123·k if that exists (Vim's `buf_write()`, src/bufwrite.c).
 */
function isVimProbe(name: string): boolean {
  if (!/^\d{4,6}$/.test(name)) return false;
  const n = Number(name);
  return n >= 4913 && (n - 4913) % 123 === 0;
}

function isDeclaration(rel: string): boolean {
  return /\.ya?ml$/i.test(rel) || rel.startsWith('_assets/') || IGNORE_FILES.has(rel);
}

/**
 * Handles file changes one at a time. Changes that arrive while one is being handled are merged
 * (a declaration change wins over a code change) and handled next, once: two quick edits must
 * not start two overlapping re-registrations or restarts.
 */
export class ChangeQueue {
  private busy = false;
  private next: { kind: ChangeKind; files: Set<string> } | undefined;

  constructor(
    private readonly handle: (kind: ChangeKind, files: string[]) => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(kind: ChangeKind, files: string[]): void {
    const next = (this.next ??= { kind, files: new Set() });
    if (kind === 'declarations') next.kind = kind;
    for (const file of files) next.files.add(file);
    if (!this.busy) void this.work();
  }

  private async work(): Promise<void> {
    this.busy = true;
    for (let change = this.next; change; change = this.next) {
      this.next = undefined;
      try {
        await this.handle(change.kind, [...change.files].sort());
      } catch (err) {
        this.onError(err);
      }
    }
    this.busy = false;
  }
}

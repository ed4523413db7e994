import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { UserError } from '../diagnostics/user-error.js';

/** What a change means for a running session. */
export type ChangeKind = 'code' | 'declarations';

/**
 * Watches a plugin directory and reports, debounced, whether code or declarations changed:
 * YAML files and `_assets/` change what is registered; anything else the plugin runs (Python,
 * data files) only needs a restart. Paths the package would leave out are ignored, so editor
 * swap files, caches and `.venv` never trigger anything.
 */
export function watchPlugin(
  root: string,
  isExcluded: (relPath: string) => boolean,
  debounceMs: number,
  onChange: (kind: ChangeKind, files: string[]) => void,
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let changed = new Set<string>();
  const flush = () => {
    const files = [...changed].sort();
    changed = new Set();
    onChange(files.some(isDeclaration) ? 'declarations' : 'code', files);
  };
  let watcher: FSWatcher;
  try {
    watcher = watch(root, { recursive: true }, (_event, name) => {
      if (!name) return;
      const rel = name.toString().split(path.sep).join('/');
      if (isExcluded(rel) || rel.split('/').some((part) => part.startsWith('.') && part !== '.difyignore')) return;
      changed.add(rel);
      clearTimeout(timer);
      timer = setTimeout(flush, debounceMs);
    });
  } catch (err) {
    // Out of inotify watches (ENOSPC), file handles (EMFILE) or permission: the system's limits, not a bug.
    throw new UserError(
      `cannot watch ${root} for changes: ${(err as Error).message}`,
      'raise the limit (on Linux: sysctl fs.inotify.max_user_watches), or run without --watch',
    );
  }
  watcher.on('error', () => undefined); // a directory removed under us: keep watching the rest
  return {
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

function isDeclaration(rel: string): boolean {
  return /\.ya?ml$/i.test(rel) || rel.startsWith('_assets/') || rel === '.difyignore';
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

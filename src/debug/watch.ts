import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

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
  const watcher: FSWatcher = watch(root, { recursive: true }, (_event, name) => {
    if (!name) return;
    const rel = name.toString().split(path.sep).join('/');
    if (isExcluded(rel) || rel.split('/').some((part) => part.startsWith('.') && part !== '.difyignore')) return;
    changed.add(rel);
    clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  });
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

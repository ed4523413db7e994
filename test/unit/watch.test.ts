import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchPlugin, type ChangeKind } from '../../src/debug/watch.js';
import { selectFiles } from '../../src/project/file-selection.js';
import { tempDir } from '../helpers/plugin.js';

/**
 * A real directory, real file-system operations and the real watcher. Each test waits for the
 * changes it expects; that nothing else was reported is shown by the next change being the only one.
 */
const DEBOUNCE_MS = 50;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface Change {
  kind: ChangeKind;
  files: string[];
}

async function watchedPlugin(files: Record<string, string> = {}, debounceMs = DEBOUNCE_MS, throughLink = false) {
  const dir = await tempDir();
  const all = { 'manifest.yaml': 'version: 0.0.1\n', 'tools/x.py': 'x = 1\n', 'tools/y.py': 'y = 1\n', ...files };
  for (const [rel, text] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  // The package's own rules, as `run --watch` uses them.
  const { exclusionOf } = selectFiles(dir);
  const changes: Change[] = [];
  let wake = () => undefined as void;
  let watched = dir;
  if (throughLink) symlinkSync(dir, (watched = path.join(await tempDir(), 'link')));
  const watcher = watchPlugin(
    watched,
    (rel) => exclusionOf(rel) !== null,
    debounceMs,
    (kind, changed) => {
      changes.push({ kind, files: changed });
      wake();
    },
  );
  closers.push(() => watcher.close());
  await watcher.ready;
  let taken = 0;
  /** The next change reported; a missed one fails in seconds rather than at the test timeout. */
  const next = async (): Promise<Change> => {
    if (taken === changes.length) {
      await new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(
          () => reject(new Error(`no change reported (saw ${JSON.stringify(changes)})`)),
          3000,
        );
        wake = () => (clearTimeout(timeout), resolve());
      });
    }
    return changes[taken++]!;
  };
  return { at: (rel: string) => path.join(dir, rel), next };
}

describe('run --watch: the watcher', () => {
  it('sees every rename-save (sed -i, JetBrains safe write, Vim backupcopy=no), as the file saved', async () => {
    const { at, next } = await watchedPlugin();
    const x = at('tools/x.py');
    const saves = {
      // sed -i: a new file beside the original, renamed over it.
      sed: (text: string) => {
        writeFileSync(at('tools/sedAb12Cd'), text);
        renameSync(at('tools/sedAb12Cd'), x);
      },
      // JetBrains: the new content in a temporary file, the original moved aside, then swapped.
      jetbrains: (text: string) => {
        writeFileSync(`${x}___jb_tmp___`, text);
        renameSync(x, `${x}___jb_old___`);
        renameSync(`${x}___jb_tmp___`, x);
        unlinkSync(`${x}___jb_old___`);
      },
      // Vim: a probe file, the original renamed to the backup, the new file written, the backup removed.
      vim: (text: string) => {
        writeFileSync(at('tools/4913'), '');
        unlinkSync(at('tools/4913'));
        renameSync(x, `${x}~`);
        writeFileSync(x, text);
        unlinkSync(`${x}~`);
      },
    };
    for (let round = 1; round <= 3; round++) {
      for (const [editor, save] of Object.entries(saves)) {
        save(`x = "${editor} ${round}"\n`);
        expect(await next(), `${editor}, save ${round}`).toEqual({ kind: 'code', files: ['tools/x.py'] });
      }
    }
  });

  it('names the file renamed over, not a temporary file that lived long enough to be seen', async () => {
    // A long quiet period, and a temporary file that lives for part of it: long enough for the
    // watcher to see it (as for a large file, or an editor that syncs before renaming).
    const { at, next } = await watchedPlugin({}, 400);
    writeFileSync(at('tools/sedAb12Cd'), 'x = 2\n');
    await new Promise((resolve) => setTimeout(resolve, 150));
    renameSync(at('tools/sedAb12Cd'), at('tools/x.py'));
    expect(await next()).toEqual({ kind: 'code', files: ['tools/x.py'] });
  });

  it('sees writes in place, deletions and re-creations, again and again', async () => {
    const { at, next } = await watchedPlugin();
    const x = at('tools/x.py');
    for (let round = 1; round <= 3; round++) {
      writeFileSync(x, `x = ${round}\n`);
      expect(await next()).toEqual({ kind: 'code', files: ['tools/x.py'] });
      unlinkSync(x);
      expect(await next()).toEqual({ kind: 'code', files: ['tools/x.py'] });
      writeFileSync(x, `x = ${round}\n`);
      expect(await next()).toEqual({ kind: 'code', files: ['tools/x.py'] });
    }
    // A new directory is watched too.
    mkdirSync(at('tools/sub'));
    writeFileSync(at('tools/sub/z.py'), 'z = 1\n');
    expect(await next()).toEqual({ kind: 'code', files: ['tools/sub/z.py'] });
    writeFileSync(at('tools/sub/z.py'), 'z = 2\n');
    expect(await next()).toEqual({ kind: 'code', files: ['tools/sub/z.py'] });
  });

  it("ignores editors' temporary files and whatever the package leaves out", async () => {
    const { at, next } = await watchedPlugin({ '.difyignore': 'ignored/\n*.log\n' });
    const ignored = [
      'tools/.x.py.swp',
      'tools/x.py.swo',
      'tools/x.py~',
      'tools/#x.py#',
      'tools/.#x.py',
      'tools/4913',
      'tools/5036',
      'tools/x.py___jb_tmp___',
      'tools/x.py___jb_old___',
      'tools/.x.py.tmp',
      'tools/.x.py.123.0123456789abcdef.tmp',
      'tools/__pycache__/x.cpython-312.pyc',
      'tools/x.pyc',
      '.git/index',
      '.idea/workspace.xml',
      '.venv/lib/site.py',
      'venv/lib/site.py',
      'ignored/data.bin',
      'debug.log',
      '.env',
    ];
    // Created, written and removed, each while the plugin's own files are edited (a swap file
    // lives as long as the editing session).
    let y = 1;
    const step = async (action: () => void) => {
      action();
      writeFileSync(at('tools/y.py'), `y = ${++y}\n`);
      expect(await next()).toEqual({ kind: 'code', files: ['tools/y.py'] });
    };
    await step(() => {
      for (const rel of ignored) {
        mkdirSync(path.dirname(at(rel)), { recursive: true });
        writeFileSync(at(rel), 'scratch');
      }
    });
    await step(() => ignored.forEach((rel) => writeFileSync(at(rel), 'scratch again')));
    await step(() => ignored.forEach((rel) => unlinkSync(at(rel))));
    await step(() => {
      for (const dir of ['.git', '.idea', '.venv', 'venv', 'ignored', 'tools/__pycache__'])
        rmSync(at(dir), { recursive: true });
    });
  });

  it('reports a burst of writes once, declarations first', async () => {
    // A longer quiet period: on a busy machine the watcher's own checks may spread the events out.
    const { at, next } = await watchedPlugin({}, 200);
    for (let i = 0; i < 20; i++) {
      writeFileSync(at('tools/x.py'), `x = ${i}\n`);
      writeFileSync(at('manifest.yaml'), `version: 0.0.${i}\n`);
    }
    expect(await next()).toEqual({ kind: 'declarations', files: ['manifest.yaml', 'tools/x.py'] });
    writeFileSync(at('tools/y.py'), 'y = 2\n');
    expect(await next()).toEqual({ kind: 'code', files: ['tools/y.py'] });
  });

  it('watches a plugin directory reached through a link', async () => {
    const { at, next } = await watchedPlugin({}, DEBOUNCE_MS, true);
    writeFileSync(at('tools/x.py'), 'x = 2\n');
    expect(await next()).toEqual({ kind: 'code', files: ['tools/x.py'] });
  });

  it('treats an edit of the ignore file as a change of declarations', async () => {
    const { at, next } = await watchedPlugin({ '.difyignore': '*.log\n' });
    writeFileSync(at('.difyignore'), '*.log\n*.tmp\n');
    expect(await next()).toEqual({ kind: 'declarations', files: ['.difyignore'] });
  });
});

import { checkPlugin, type PluginResult } from '../../pipelines/check-plugin.js';
import { buildRegistration, type RegistrationMessage } from '../../debug/registration/index.js';
import type { RunSession } from '../../debug/session.js';
import { MAX_PACKAGE_BYTES } from '../../project/limits.js';
import { ChangeQueue, watchPlugin, type ChangeKind } from '../../debug/watch.js';
import { printable } from '../../diagnostics/excerpt.js';
import { colorFor } from '../../report/color.js';
import { jsonEmitter } from '../../report/run-events.js';
import { formatText } from '../../report/text.js';
import type { Io } from '../io.js';

export interface WatchOptions {
  dir: string;
  /** The package's exclusion rule: what it leaves out cannot matter to the running plugin. */
  exclusionOf: (rel: string) => string | null;
  key: string;
  json: boolean;
  setRegistration: (r: RegistrationMessage[]) => void;
}

/**
 * `run --watch`: a code change restarts the plugin; a declaration change (YAML, `_assets/`) is
 * checked, then registered again on a fresh connection, and restarts the plugin too. Changes are
 * handled one at a time (ChangeQueue), each once the files have been quiet for `debounceMs`.
 * Resolves, once every directory is watched, to what stops watching.
 */
export async function startWatch(
  session: RunSession,
  o: WatchOptions,
  io: Io,
  debounceMs: number,
): Promise<() => Promise<void>> {
  const emit = jsonEmitter(io.stdout);
  const say = (text: string) => !o.json && io.stdout.write(text + '\n');
  const { green } = colorFor(io.stdout, io.env);
  // The ignore file may be edited meanwhile: each check after a change brings its rules as they are.
  let exclusionOf = o.exclusionOf;

  const onChange = async (kind: ChangeKind, files: string[]) => {
    if (o.json) emit('changed', { kind, files });
    else
      say(
        `↻ ${printable(files.slice(0, 3).join(', '))}${files.length > 3 ? ` and ${files.length - 3} more` : ''} changed`,
      );
    if (kind === 'declarations') {
      const checked = await checkPlugin(o.dir, {
        strict: false,
        maxBytes: MAX_PACKAGE_BYTES,
        env: io.env,
        checksum: false,
        remoteDebugging: true,
      });
      if (checked.source) exclusionOf = checked.source.selection.exclusionOf;
      if (!checked.ok || !checked.project) {
        reportCheck(checked, io, o.json);
        if (o.json)
          emit('error', {
            fatal: false,
            message: 'the plugin has errors; not registering again until they are fixed',
            diagnostics: checked.diagnostics,
          });
        else say('  not registering again until these are fixed');
        return;
      }
      o.setRegistration(await buildRegistration(checked.project, o.key));
      // Not awaited: a newer change supersedes a registration still in progress.
      void session.reregister();
    }
    await session.restartPlugin();
    // Not if the session ended meanwhile: nothing was started then. (JSON has plugin_started.)
    if (session.pluginPid !== undefined) say(green('✓ Plugin restarted'));
  };
  const queue = new ChangeQueue(onChange, (err) => {
    const message = `cannot apply the change: ${(err as Error).message ?? String(err)}`;
    if (o.json) emit('error', { fatal: false, message });
    else say(`! ${printable(message)}`);
  });
  const watcher = watchPlugin(
    o.dir,
    (rel) => exclusionOf(rel) !== null,
    debounceMs,
    (kind, files) => queue.push(kind, files),
  );
  try {
    await watcher.ready;
  } catch (err) {
    await watcher.close();
    throw err;
  }
  // From here on an edit is seen: before this line it would be missed.
  if (!session.ended) say(green('✓ Watching for changes'));
  return () => watcher.close();
}

/** The check report: on stdout, or on stderr with --format json, where stdout carries only JSON events. */
export function reportCheck(checked: PluginResult, io: Io, json: boolean, path = '.'): void {
  checked.path = path;
  const out = json ? io.stderr : io.stdout;
  out.write(formatText([checked], colorFor(out, io.env)));
}

/**
 * Runs the CLI's real code with Windows path semantics on this machine: `node:path` becomes
 * `path.win32` while `windowsHost.on` is set, and the file-system and process calls translate
 * the Windows paths the code then builds (`C:\Users\me\plugin\tools\x.py`) to the directory that
 * stands for drive C: (a share, `\\server\share`, is its `UNC/server/share`), and the real paths
 * they return back. A test file opts in with:
 *
 *   vi.mock('node:path', (orig) => windowsPath(orig));
 *   vi.mock('node:fs', (orig) => windowsFs(orig));
 *   vi.mock('node:fs/promises', (orig) => windowsFs(orig));
 *   vi.mock('node:child_process', (orig) => windowsChildProcess(orig));
 *
 * This module imports nothing from Node: it is loaded while those modules are being mocked.
 */
export const windowsHost = {
  on: false,
  /** The real directory that stands for `C:\`. */
  drive: '',
};

/** A Windows path as the real path it stands for; anything else as it is. */
export function realPathOf(p: unknown): unknown {
  if (!windowsHost.on || typeof p !== 'string') return p;
  const unc = /^\\\\([^\\]+)\\([^\\]+)/.exec(p); // \\server\share: <drive>/UNC/server/share
  const real = /^[Cc]:/.test(p)
    ? windowsHost.drive + p.slice(2)
    : unc
      ? `${windowsHost.drive}/UNC/${unc[1]}/${unc[2]}${p.slice(unc[0].length)}`
      : p;
  return real.replaceAll('\\', '/');
}

/** A real path below the drive's directory as the Windows path that stands for it. */
function windowsPathOf(p: unknown): unknown {
  if (!windowsHost.on || typeof p !== 'string') return p;
  if (p === windowsHost.drive) return 'C:\\';
  if (!p.startsWith(`${windowsHost.drive}/`)) return p;
  const rest = p.slice(windowsHost.drive.length).replaceAll('/', '\\');
  return rest.startsWith('\\UNC\\') ? `\\${rest.slice('\\UNC'.length)}` : `C:${rest}`;
}

type Module = Record<string, unknown>;
type Original = <T>() => Promise<T>;

export async function windowsPath(importOriginal: Original): Promise<Module> {
  const real = await importOriginal<{ posix: object; win32: object }>();
  const current = new Proxy(real.posix, {
    get: (_target, key) => Reflect.get(windowsHost.on ? real.win32 : real.posix, key),
  });
  return { ...real, default: current };
}

/** Functions that take two paths (`rename(from, to)`); the others take one, first. */
const TWO_PATHS = new Set(['rename', 'renameSync', 'copyFile', 'copyFileSync', 'cp', 'cpSync', 'link', 'linkSync']);
/** Functions whose result is a path. */
const RETURN_PATHS = new Set(['realpath', 'realpathSync', 'mkdtemp', 'mkdtempSync']);

export async function windowsFs(importOriginal: Original): Promise<Module> {
  const real = await importOriginal<Module>();
  const wrapped: Module = { ...real };
  for (const [name, value] of Object.entries(real)) {
    // Functions only, not classes (Stats, Dirent, ReadStream...).
    if (typeof value !== 'function' || !/^[a-z]/.test(name)) continue;
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      const translated = args.map((a, i) => (i === 0 || (i === 1 && TWO_PATHS.has(name)) ? realPathOf(a) : a));
      const result = fn(...translated);
      if (!RETURN_PATHS.has(name)) return result;
      return result instanceof Promise ? result.then(windowsPathOf) : windowsPathOf(result);
    };
  }
  if (real.promises) wrapped.promises = await windowsFs(async <T>() => real.promises as T);
  if (real.default) wrapped.default = wrapped;
  return wrapped;
}

/** Spawn options for this machine: the working directory, and a PATH written with `;` (scripts such as pyenv's shims read it). */
function realOptions(options: Record<string, unknown>): Record<string, unknown> {
  const env = options.env as Record<string, string | undefined> | undefined;
  return {
    ...options,
    ...(options.cwd !== undefined && { cwd: realPathOf(options.cwd) }),
    ...(env?.PATH !== undefined && { env: { ...env, PATH: env.PATH.replaceAll(';', ':') } }),
  };
}

export async function windowsChildProcess(importOriginal: Original): Promise<Module> {
  const real = await importOriginal<Module>();
  const wrapped: Module = { ...real };
  for (const name of ['spawn', 'execFile']) {
    const fn = real[name] as (...args: unknown[]) => unknown;
    wrapped[name] = (command: unknown, ...rest: unknown[]) =>
      fn(
        realPathOf(command),
        ...rest.map((a) =>
          a && typeof a === 'object' && !Array.isArray(a) ? realOptions(a as Record<string, unknown>) : a,
        ),
      );
  }
  wrapped.default = wrapped;
  return wrapped;
}

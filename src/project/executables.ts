import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** A regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where `name` is found on the PATH of `env` (with PATHEXT on Windows), as a shell would find it;
 * undefined when nowhere. Variable names are matched case-insensitively (Windows spells `Path`).
 */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (getIgnoringCase(env, 'PATH') ?? '').split(path.delimiter).filter((d) => d !== '');
  const extensions =
    process.platform === 'win32' ? ['', ...(getIgnoringCase(env, 'PATHEXT') ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/** `vars[name]`, or the value of a variable spelt in another case. */
export function getIgnoringCase(vars: Record<string, string | undefined>, name: string): string | undefined {
  if (vars[name] !== undefined) return vars[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(vars)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

import { closeSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { UserError } from '../diagnostics/user-error.js';
import { openRegularFile, whyUnreadable } from '../project/file-kind.js';
import { findOnPath, getIgnoringCase, isExecutable } from '../project/executables.js';

/** Where a setting's value came from, for the "using ..." lines `run` prints. */
export type SettingSource = 'flag' | 'environment' | '.env' | 'default';

export interface Setting<T> {
  value: T;
  source: SettingSource;
  /** The variable or flag that gave it, e.g. `REMOTE_INSTALL_URL` or `--url`. */
  name: string;
}

export interface DebugSettings {
  host: Setting<string>;
  port: Setting<number>;
  key: Setting<string> | undefined;
  python: Setting<string>;
}

export interface DebugFlags {
  url?: string;
  key?: string;
  python?: string;
}

/** A setting that cannot be used; the message names the variable and what is wrong. */
export class SettingsError extends UserError {}

const DEFAULT_HOST = 'localhost';
const DEFAULT_PORT = 5003;

/**
 * The remote-debugging settings of a plugin directory: flags first, then the process
 * environment, then `<plugin>/.env` (as the Python SDK reads it: names case-insensitive, the
 * environment winning over the file). `DIFY_REMOTE_URL` and `DIFY_DEBUG_KEY` are accepted as
 * aliases of `REMOTE_INSTALL_URL` and `REMOTE_INSTALL_KEY`. `cwd` is the shell's working directory,
 * which a relative `--python` is relative to.
 */
export function resolveSettings(
  pluginDir: string,
  flags: DebugFlags,
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): DebugSettings {
  const lookup = lookupFor(pluginDir, env);
  const { host, port } = address(flags, lookup);
  return { host, port, key: debugKey(flags, lookup), python: interpreter(pluginDir, flags, lookup, env, cwd) };
}

/**
 * The interpreter resolveSettings() would choose, alone: `doctor` reports it even when the
 * daemon's address in the same settings cannot be used.
 */
export function resolvePython(
  pluginDir: string,
  flags: DebugFlags,
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Setting<string> {
  return interpreter(pluginDir, flags, lookupFor(pluginDir, env), env, cwd);
}

/** The debug key resolveSettings() would use, alone (see resolvePython). */
export function resolveKey(pluginDir: string, flags: DebugFlags, env: NodeJS.ProcessEnv): Setting<string> | undefined {
  return debugKey(flags, lookupFor(pluginDir, env));
}

function debugKey(flags: DebugFlags, lookup: Lookup): Setting<string> | undefined {
  return flags.key !== undefined
    ? { value: flags.key, source: 'flag', name: '--key' }
    : lookup(['REMOTE_INSTALL_KEY', 'DIFY_DEBUG_KEY']);
}

type Lookup = (names: string[]) => Setting<string> | undefined;

/** `.env` as bytes; a directory, FIFO or unreadable file there is the user's to fix, said in one line. */
export function readDotenv(file: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openRegularFile(file).fd;
    return readFileSync(fd);
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${whyUnreadable(err)}`, 'make .env a readable file of NAME=value lines');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The first of `names` set (non-empty) in the environment, else in `<plugin>/.env`. */
function lookupFor(pluginDir: string, env: NodeJS.ProcessEnv): Lookup {
  const dotenvPath = path.join(pluginDir, '.env');
  const fileVars = existsSync(dotenvPath) ? parseDotenv(readDotenv(dotenvPath)) : {};
  return (names) => {
    for (const [vars, source] of [
      [env, 'environment'],
      [fileVars, '.env'],
    ] as const) {
      for (const name of names) {
        const value = getIgnoringCase(vars, name);
        if (value !== undefined && value !== '') return { value, source, name };
      }
    }
    return undefined;
  };
}

function address(flags: DebugFlags, lookup: Lookup): { host: Setting<string>; port: Setting<number> } {
  const url: Setting<string> | undefined =
    flags.url !== undefined
      ? { value: flags.url, source: 'flag', name: '--url' }
      : lookup(['REMOTE_INSTALL_URL', 'DIFY_REMOTE_URL']);
  if (url) {
    const parsed = parseAddress(url.value);
    if (!parsed)
      throw new SettingsError(
        `${url.name} is "${url.value}"; write it as host:port (e.g. localhost:5003) or scheme://host:port`,
      );
    return { host: { ...url, value: parsed.host }, port: { ...url, value: parsed.port } };
  }
  const host = lookup(['REMOTE_INSTALL_HOST']) ?? {
    value: DEFAULT_HOST,
    source: 'default',
    name: 'REMOTE_INSTALL_HOST',
  };
  const portText = lookup(['REMOTE_INSTALL_PORT']);
  if (!portText) return { host, port: { value: DEFAULT_PORT, source: 'default', name: 'REMOTE_INSTALL_PORT' } };
  const port = Number(portText.value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new SettingsError(`${portText.name} is "${portText.value}"; it must be a port number`);
  return { host, port: { ...portText, value: port } };
}

/** `host:port` or `scheme://host:port`, as the SDK accepts `REMOTE_INSTALL_URL`. */
export function parseAddress(text: string): { host: string; port: number } | undefined {
  const trimmed = text.trim();
  if (trimmed.includes('://')) {
    try {
      const url = new URL(trimmed);
      const port = Number(url.port);
      if (url.hostname && port > 0) return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
    } catch {
      return undefined;
    }
    return undefined;
  }
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(trimmed);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port <= 65535 ? { host: match[1]!.replace(/^\[|\]$/g, ''), port } : undefined;
}

/**
 * The interpreter that runs the plugin: flag, PYTHON_INTERPRETER_PATH, the plugin's .venv, python3.
 * A relative path from the flag or the environment is the shell's (`cwd`), one from `.env` the
 * plugin's: the plugin runs in its own directory, where it would otherwise mean something else.
 */
function interpreter(
  pluginDir: string,
  flags: DebugFlags,
  lookup: Lookup,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Setting<string> {
  if (flags.python !== undefined)
    return { value: commandPath(flags.python, cwd, env), source: 'flag', name: '--python' };
  const fromEnv = lookup(['PYTHON_INTERPRETER_PATH']);
  if (fromEnv)
    return { ...fromEnv, value: commandPath(fromEnv.value, fromEnv.source === '.env' ? pluginDir : cwd, env) };
  const venv = path.join(pluginDir, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  if (existsSync(venv)) return { value: venv, source: 'default', name: '.venv' };
  return { value: process.platform === 'win32' ? 'python' : 'python3', source: 'default', name: 'PATH' };
}

/**
 * A command as a shell in `base` would run it: a path with a separator is relative to `base`; a
 * bare name is looked up on PATH, or else taken from `base` if it is there (the user named a file).
 */
export function commandPath(command: string, base: string, env: NodeJS.ProcessEnv): string {
  if (path.isAbsolute(command)) return command;
  if (command.includes('/') || (process.platform === 'win32' && command.includes('\\')))
    return path.resolve(base, command);
  if (findOnPath(command, env)) return command;
  const local = path.resolve(base, command);
  return isExecutable(local) ? local : command;
}

/** `a1b2c3d4-...-9f` → `a1b2••••••••9f`: enough to recognise a key, not to use it. */
export function maskKey(key: string): string {
  if (key.length <= 8) return '•'.repeat(key.length);
  return `${key.slice(0, 4)}${'•'.repeat(8)}${key.slice(-2)}`;
}

/** "(REMOTE_INSTALL_URL in .env)", "(--url)", "(default)". */
export function describeSource(s: Setting<unknown>): string {
  if (s.source === 'flag') return `(${s.name})`;
  if (s.source === 'default') return s.name === '.venv' ? "(the plugin's .venv)" : '(default)';
  return `(${s.name} in ${s.source === '.env' ? '.env' : 'the environment'})`;
}

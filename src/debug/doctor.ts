import { lstatSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';
import { findUv } from '../pack/requirements.js';
import { selectFiles } from '../project/file-selection.js';
import { get } from '../project/model.js';
import { MAX_YAML_BYTES, YamlFile } from '../project/yaml-file.js';
import { probeInterpreter, type InterpreterFacts } from './interpreter-probe.js';
import { assessInterpreter, probeFailure, PythonFixes } from './preflight.js';
import { pythonNeedsOf, type PythonNeeds } from './python-needs.js';
import { tcpReachable } from './reachability.js';
import {
  describeSource,
  maskKey,
  resolveKey,
  resolvePython,
  resolveSettings,
  SettingsError,
  type Setting,
} from './settings.js';

export type CheckStatus = 'ok' | 'warning' | 'error';

/** One line of `dify plugin doctor`. Messages may quote a plugin's files: print them with printable(). */
export interface Check {
  /** Stable, for `--format json`: cli, node, plugin, python, runner, venv, sdk, env, url, key, daemon, uv, ignore. */
  id: string;
  status: CheckStatus;
  message: string;
  /** What to do about it, for a warning or an error. */
  hint?: string;
}

export interface DoctorOptions {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The shell's working directory (a relative PYTHON_INTERPRETER_PATH in the environment is relative to it). */
  cwd: string;
  cliVersion: string;
  nodeVersion: string;
  /** The interpreter's one start, and the TCP connect to the daemon: each bounded. */
  probeTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Where the remote-debugging address and key come from. */
const FROM_DIFY = 'as Dify shows it under Plugins → the debug icon';

/**
 * Everything `run` depends on, checked without running anything but the interpreter's one probe
 * (the one `run`'s preflight makes) and one TCP connect. Outside a plugin directory, only what
 * belongs to the machine: CLI, Node.js, Python, uv.
 */
export async function diagnose(o: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [
    { id: 'cli', status: 'ok', message: `dify-plugin-cli ${o.cliVersion}` },
    { id: 'node', status: 'ok', message: `Node.js ${o.nodeVersion}` },
  ];
  const plugin = findPlugin(o.dir);
  checks.push(plugin.check);
  if (!plugin.found) {
    // Without a directory to look in, the interpreter is the one `run` would find from here.
    const base = plugin.check.status === 'error' ? o.cwd : o.dir;
    checks.push(await pythonAlone(base, o));
    checks.push(uvCheck(o.env, undefined));
    return checks;
  }

  const needs = pythonNeedsOf(o.dir, plugin.runnerVersion);
  const settings = settingsChecks(o);
  if (settings.python) {
    const fixes = new PythonFixes({ python: settings.python, pluginDir: o.dir, needs });
    checks.push(...(await interpreterChecks(settings.python, needs, fixes, o)));
    checks.push(venvCheck(settings.python, fixes, o));
  }
  checks.push(...settings.checks);
  if (settings.address) checks.push(await daemonCheck(settings.address, o.connectTimeoutMs));
  checks.push(uvCheck(o.env, needs));
  checks.push(...ignoreChecks(o.dir));
  return checks;
}

interface FoundPlugin {
  found: boolean;
  check: Check;
  runnerVersion?: unknown;
}

/** A plugin directory is one with a manifest.yaml; of it, only the name, version and runner version are read here. */
function findPlugin(dir: string): FoundPlugin {
  let info;
  try {
    info = statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    return { found: false, check: { id: 'plugin', status: 'error', message: (err as Error).message } };
  }
  if (!info?.isDirectory())
    return {
      found: false,
      check: {
        id: 'plugin',
        status: 'error',
        message: `${dir} ${info ? 'is not a directory' : 'does not exist'}`,
        hint: 'pass a plugin directory: `dify plugin doctor path/to/plugin`',
      },
    };
  const manifestPath = path.join(dir, 'manifest.yaml');
  const manifest = lstatSync(manifestPath, { throwIfNoEntry: false });
  if (!manifest?.isFile())
    return {
      found: false,
      check: {
        id: 'plugin',
        status: 'warning',
        message: `no plugin found in ${dir} (no manifest.yaml); only the environment is checked`,
        hint: 'run it in a plugin directory, or pass one: `dify plugin doctor path/to/plugin`',
      },
    };
  let yaml: YamlFile | null = null;
  try {
    if (manifest.size <= MAX_YAML_BYTES) yaml = new YamlFile('manifest.yaml', readFileSync(manifestPath, 'utf8'));
  } catch {
    // unreadable: reported below as not read
  }
  const value = yaml?.parsed ? yaml.value : undefined;
  const name = get(value, 'name');
  const version = get(value, 'version');
  const check: Check = {
    id: 'plugin',
    status: 'ok',
    message:
      typeof name === 'string'
        ? `${name}${typeof version === 'string' ? ` ${version}` : ''} in ${dir}`
        : `manifest.yaml in ${dir}`,
  };
  if (!yaml?.parsed)
    Object.assign(check, {
      status: 'warning',
      message: `manifest.yaml in ${dir} cannot be read`,
      hint: '`dify plugin package --check .` shows what is wrong',
    });
  return { found: true, check, runnerVersion: get(value, 'meta', 'runner', 'version') };
}

/** Outside a plugin: which Python a plugin created in `dir` would get, and its version. */
async function pythonAlone(dir: string, o: DoctorOptions): Promise<Check> {
  let python: Setting<string>;
  try {
    python = resolvePython(dir, {}, o.env, o.cwd);
  } catch (err) {
    return { id: 'python', status: 'error', message: `cannot read .env: ${(err as Error).message}` };
  }
  const probe = await probeInterpreter(python.value, { cwd: dir, env: o.env, timeoutMs: o.probeTimeoutMs });
  const who = `${python.value} ${describeSource(python)}`;
  if (!probe.ok)
    return {
      id: 'python',
      status: 'error',
      message: `${who} ${probeFailure(probe)}`,
      hint: 'install Python 3.12 (the version Dify runs plugins with), or set PYTHON_INTERPRETER_PATH to one',
    };
  return { id: 'python', status: 'ok', message: `${who} is ${pythonFacts(probe.facts)}` };
}

/** The interpreter against requires-python, meta.runner.version and the SDK requirement: preflight's checks, line by line. */
async function interpreterChecks(
  python: Setting<string>,
  needs: PythonNeeds,
  fixes: PythonFixes,
  o: DoctorOptions,
): Promise<Check[]> {
  const probe = await probeInterpreter(python.value, { cwd: o.dir, env: o.env, timeoutMs: o.probeTimeoutMs });
  const who = `${python.value} ${describeSource(python)}`;
  if (!probe.ok)
    return [{ id: 'python', status: 'error', message: `${who} ${probeFailure(probe)}`, hint: fixes.unusable() }];
  const { facts } = probe;
  const found = assessInterpreter(facts, needs);
  const checks: Check[] = [];
  const required = needs.requiresPython
    ? `; the plugin requires Python ${needs.requiresPython.specifiers} (${needs.requiresPython.from})`
    : '';
  checks.push(
    found.refusedPython
      ? {
          id: 'python',
          status: 'error',
          message: `${who} is ${pythonFacts(facts)}${required}`,
          hint: fixes.wrongPython(),
        }
      : { id: 'python', status: 'ok', message: `${who} is ${pythonFacts(facts)}${required}` },
  );
  if (needs.runnerVersion)
    checks.push(
      found.otherRunner
        ? {
            id: 'runner',
            status: 'warning',
            message: `manifest.yaml has meta.runner.version "${needs.runnerVersion}", and this is Python ${facts.version}: the plugin may behave differently once installed in Dify`,
            hint: fixes.wrongPython(),
          }
        : {
            id: 'runner',
            status: 'ok',
            message: `Python ${facts.version} matches meta.runner.version "${needs.runnerVersion}"`,
          },
    );
  checks.push(sdkCheck(facts, needs, found.sdk, fixes));
  return checks;
}

function sdkCheck(
  facts: InterpreterFacts,
  needs: PythonNeeds,
  problem: 'missing' | 'refused' | undefined,
  fixes: PythonFixes,
): Check {
  const required = needs.sdk ? `the plugin requires dify_plugin${needs.sdk.specifiers} (${needs.sdk.from})` : '';
  if (problem === 'missing')
    return {
      id: 'sdk',
      status: 'error',
      message: `dify_plugin is not installed for Python ${facts.version}${required ? `; ${required}` : ''}`,
      hint: fixes.missingPackages(),
    };
  const version = facts.sdk!.version;
  if (problem === 'refused')
    return {
      id: 'sdk',
      status: 'error',
      message: `dify_plugin ${version} is installed; ${required}`,
      hint: fixes.missingPackages(),
    };
  if (!needs.sdk)
    return {
      id: 'sdk',
      status: 'warning',
      message: `dify_plugin ${version ?? '(version unknown)'} is installed, but the plugin's requirements do not name it`,
      hint: 'add it to requirements.txt (or pyproject.toml), e.g. dify_plugin>=0.9.0: Dify installs only what they name',
    };
  if (version === null)
    return {
      id: 'sdk',
      status: 'warning',
      message: `dify_plugin is installed, but its metadata gives no version; ${required}`,
      hint: fixes.missingPackages(),
    };
  return { id: 'sdk', status: 'ok', message: `dify_plugin ${version}; ${required}` };
}

/** `Python 3.12.4 (/usr/bin/python3.12)`: where a name on PATH or a venv's link leads. */
function pythonFacts(facts: InterpreterFacts): string {
  return `Python ${facts.version}${facts.executable ? ` (${facts.executable})` : ''}`;
}

/** Whether there is a .venv, and whether the chosen interpreter is its. */
function venvCheck(python: Setting<string>, fixes: PythonFixes, o: DoctorOptions): Check {
  const venv = path.join(o.dir, '.venv');
  if (!statSync(venv, { throwIfNoEntry: false })?.isDirectory()) {
    if (python.source !== 'default')
      return { id: 'venv', status: 'ok', message: `no .venv; ${python.name} chooses the interpreter` };
    return {
      id: 'venv',
      status: 'warning',
      message: `no .venv: \`run\` would use ${python.value} from PATH`,
      hint: fixes.unusable(),
    };
  }
  const fromVenv = path.relative(venv, path.resolve(o.dir, python.value));
  const inVenv = !fromVenv.startsWith('..') && !path.isAbsolute(fromVenv);
  if (inVenv) return { id: 'venv', status: 'ok', message: `.venv is the interpreter's (${python.value})` };
  if (python.source === 'default')
    return {
      id: 'venv',
      status: 'warning',
      message: '.venv has no Python interpreter (bin/python or Scripts\\python.exe); it is not used',
      hint: fixes.unusable(),
    };
  return {
    id: 'venv',
    status: 'warning',
    message: `.venv is not used: ${python.name} ${describeSource(python)} chooses ${python.value}`,
    hint: `remove ${python.name} to use the plugin's .venv`,
  };
}

interface SettingsChecks {
  checks: Check[];
  python?: Setting<string>;
  address?: { host: string; port: number };
}

/** `.env` and the remote-debugging settings, as `run` reads them (src/debug/settings.ts). */
function settingsChecks(o: DoctorOptions): SettingsChecks {
  const envFile = path.join(o.dir, '.env');
  const checks: Check[] = [];
  let info;
  try {
    info = statSync(envFile, { throwIfNoEntry: false }); // a link followed, as `run` reads it
  } catch (err) {
    checks.push({ id: 'env', status: 'error', message: `cannot read .env: ${(err as Error).message}` });
    return { checks };
  }
  if (info && !info.isFile()) {
    checks.push({ id: 'env', status: 'error', message: '.env is not a regular file', hint: 'replace it with a file' });
    return { checks };
  }
  let python: Setting<string>;
  let key: Setting<string> | undefined;
  try {
    python = resolvePython(o.dir, {}, o.env, o.cwd);
    key = resolveKey(o.dir, {}, o.env);
  } catch (err) {
    checks.push({ id: 'env', status: 'error', message: `cannot read .env: ${(err as Error).message}` });
    return { checks };
  }
  const example = lstatSync(path.join(o.dir, '.env.example'), { throwIfNoEntry: false })?.isFile();
  if (info) checks.push(envFileCheck(envFile));
  else if (key?.source === 'environment')
    checks.push({ id: 'env', status: 'ok', message: 'no .env; the settings come from the environment' });
  else
    checks.push({
      id: 'env',
      status: 'warning',
      message: 'no .env: `run` needs the daemon address and the debug key',
      hint: `${example ? 'copy .env.example to .env, then set' : 'create .env with'} REMOTE_INSTALL_URL and REMOTE_INSTALL_KEY (Dify shows both under Plugins → the debug icon)`,
    });

  let address: SettingsChecks['address'];
  try {
    const s = resolveSettings(o.dir, {}, o.env, o.cwd);
    address = { host: s.host.value, port: s.port.value };
    checks.push(urlCheck(s.host, s.port));
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    checks.push({
      id: 'url',
      status: 'error',
      message: err.message,
      hint: `write it as host:port, e.g. REMOTE_INSTALL_URL=localhost:5003, ${FROM_DIFY}`,
    });
  }
  checks.push(keyCheck(key));
  return { checks, python, address };
}

/** An assignment as dotenv reads one: `NAME=value`, `export NAME=value`, or `NAME: value`. */
const ASSIGNMENT = /^\s*(?:export\s+)?[\w.-]+(?:\s*=|:\s)/;

/** `.env` with each line that dotenv (and the SDK) would silently skip pointed out. */
function envFileCheck(file: string): Check {
  const skipped: number[] = [];
  let openQuote: string | undefined;
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (openQuote) {
        // inside a quoted value that spans lines
        if (line.includes(openQuote)) openQuote = undefined;
        return;
      }
      const text = line.trim();
      if (text === '' || text.startsWith('#')) return;
      const m = ASSIGNMENT.exec(line);
      // By number only: the line may be a key written without its name or its `=`.
      if (!m) return skipped.push(i + 1);
      const value = line.slice(m[0].length).trimStart();
      const quote = value[0];
      if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) openQuote = quote;
    });
  if (skipped.length === 0) return { id: 'env', status: 'ok', message: '.env found' };
  return {
    id: 'env',
    status: 'warning',
    message: `.env has ${skipped.length === 1 ? 'a line' : 'lines'} that ${skipped.length === 1 ? 'is' : 'are'} not NAME=value, and ignored: line ${skipped.join(', ')}`,
    hint: 'write each setting as NAME=value, e.g. REMOTE_INSTALL_URL=localhost:5003',
  };
}

function urlCheck(host: Setting<string>, port: Setting<number>): Check {
  const where = `${host.value}:${port.value}`;
  if (host.source === 'default' && port.source === 'default')
    return {
      id: 'url',
      status: 'warning',
      message: `no daemon address is set; \`run\` would use ${where} (the SDK's default)`,
      hint: `set REMOTE_INSTALL_URL in .env (${FROM_DIFY})`,
    };
  if (host.name === 'DIFY_REMOTE_URL')
    return {
      id: 'url',
      status: 'warning',
      message: `${where} ${describeSource(host)}: this CLI reads DIFY_REMOTE_URL, the Python SDK does not (\`python -m main\` would use localhost:5003)`,
      hint: 'rename it REMOTE_INSTALL_URL',
    };
  if (host.name === 'REMOTE_INSTALL_HOST' || port.name === 'REMOTE_INSTALL_PORT') {
    const old = [host, port].filter((s) => s.source !== 'default').map((s) => `${s.name} ${describeSource(s)}`);
    return {
      id: 'url',
      status: 'warning',
      message: `${where} from the older settings ${old.join(' and ')}`,
      hint: `replace them with one REMOTE_INSTALL_URL=${where}, as the current .env.example has it`,
    };
  }
  return { id: 'url', status: 'ok', message: `${where} ${describeSource(host)}` };
}

function keyCheck(key: Setting<string> | undefined): Check {
  const fix = `set REMOTE_INSTALL_KEY in .env to the debug key (${FROM_DIFY})`;
  if (!key) return { id: 'key', status: 'error', message: 'no debug key is set (REMOTE_INSTALL_KEY)', hint: fix };
  // .env.example's `********-****-****-****-************`
  if (/^[*-]+$/.test(key.value))
    return {
      id: 'key',
      status: 'error',
      message: `${key.name} ${describeSource(key)} is still the placeholder of .env.example`,
      hint: fix,
    };
  const shown = `${maskKey(key.value)} ${describeSource(key)}`;
  if (key.name === 'DIFY_DEBUG_KEY')
    return {
      id: 'key',
      status: 'warning',
      message: `${shown}: this CLI reads DIFY_DEBUG_KEY, the Python SDK does not`,
      hint: 'rename it REMOTE_INSTALL_KEY',
    };
  return { id: 'key', status: 'ok', message: shown };
}

async function daemonCheck(address: { host: string; port: number }, timeoutMs: number): Promise<Check> {
  const where = `${address.host}:${address.port}`;
  const result = await tcpReachable(address.host, address.port, timeoutMs);
  if (result.ok) return { id: 'daemon', status: 'ok', message: `${where} accepts connections` };
  const fix = `start Dify, or correct REMOTE_INSTALL_URL (${FROM_DIFY})`;
  const what =
    result.problem === 'refused'
      ? 'nothing accepts connections there (connection refused)'
      : result.problem === 'unknown-host'
        ? `the host name is not known (${result.detail})`
        : result.problem === 'timeout'
          ? `${result.detail}; a firewall may drop the connection`
          : `cannot connect (${result.detail})`;
  return { id: 'daemon', status: 'error', message: `${where}: ${what}`, hint: fix };
}

/** uv: how the daemon installs a pyproject.toml plugin, and how `package` exports its requirements. */
function uvCheck(env: NodeJS.ProcessEnv, needs: PythonNeeds | undefined): Check {
  const uv = findUv(env);
  if (uv) return { id: 'uv', status: 'ok', message: `uv found (${uv})` };
  const files = needs?.files;
  if (files?.pyproject && (files.uvLock || !files.requirementsTxt))
    return {
      id: 'uv',
      status: 'warning',
      message: 'uv is not found on PATH, and this plugin declares its dependencies in pyproject.toml',
      hint: 'install uv (https://docs.astral.sh/uv/getting-started/installation/), or set UV_PATH',
    };
  return {
    id: 'uv',
    status: 'ok',
    message: `uv is not found on PATH (${needs ? 'this plugin does not need it: requirements.txt' : 'needed only by plugins with pyproject.toml'})`,
  };
}

/**
 * `.venv` and `.env` left out of the package (by the built-in rules, which an ignore file cannot
 * undo), and, when there is a .gitignore, out of git: `.env` holds the debug key.
 */
function ignoreChecks(dir: string): Check[] {
  let selection;
  try {
    selection = selectFiles(dir);
  } catch (err) {
    return [{ id: 'ignore', status: 'error', message: `cannot list the plugin's files: ${(err as Error).message}` }];
  }
  const rules = ['.venv/', '.env'].map((p) => [p, selection.exclusionOf(p)] as const);
  const packed = rules.filter(([, rule]) => rule === null).map(([p]) => p);
  const ignoreFile = selection.ignoreFile ? `; ignore file: ${selection.ignoreFile}` : '; no ignore file';
  const checks: Check[] = [
    packed.length === 0
      ? {
          id: 'ignore',
          status: 'ok',
          message: `.venv/ and .env are never packed (${rules.map(([, rule]) => rule).join(', ')})${ignoreFile}`,
        }
      : {
          id: 'ignore',
          status: 'error',
          message: `${packed.join(' and ')} would be packed`,
          hint: `add ${packed.join(' and ')} to ${selection.ignoreFile ?? '.difyignore'}`,
        },
  ];
  const gitignore = readGitignore(dir);
  if (
    gitignore !== undefined &&
    lstatSync(path.join(dir, '.env'), { throwIfNoEntry: false }) &&
    !ignore().add(gitignore).ignores('.env')
  )
    checks.push({
      id: 'gitignore',
      status: 'warning',
      message: '.gitignore does not cover .env: git would commit the debug key',
      hint: 'add a line `.env` to .gitignore',
    });
  return checks;
}

/** An ignore file is a few lines; a larger one is not read. */
const MAX_IGNORE_BYTES = 1024 * 1024;

function readGitignore(dir: string): string | undefined {
  const file = path.join(dir, '.gitignore');
  const info = lstatSync(file, { throwIfNoEntry: false });
  return info?.isFile() && info.size <= MAX_IGNORE_BYTES ? readFileSync(file, 'utf8') : undefined;
}

import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { normalizeName } from '../pack/pep508/names.js';

/** A requirement the plugin states, and where: shown in messages as `>=3.12 (requires-python in pyproject.toml)`. */
export interface Stated {
  specifiers: string;
  from: string;
}

/** What a plugin asks of the interpreter that runs it, read from its own files. */
export interface PythonNeeds {
  /** `[project] requires-python` of pyproject.toml. */
  requiresPython?: Stated;
  /** `meta.runner.version` of manifest.yaml, e.g. `3.12`. */
  runnerVersion?: string;
  /** The version range of `dify_plugin` (or `dify-plugin`) the plugin depends on. */
  sdk?: Stated;
  /** The range requirements.txt states, when it names the SDK (it may differ from pyproject.toml's). */
  sdkInRequirements?: string;
  /** How its dependencies are declared, for the commands that install them. */
  files: { requirementsTxt: boolean; pyproject: boolean; uvLock: boolean };
}

/** The files read here are small; anything larger is not a requirements file worth parsing. */
const MAX_FILE_BYTES = 1024 * 1024;
const SDK = normalizeName('dify_plugin');

/**
 * The plugin's Python requirements. pyproject.toml wins over requirements.txt for the SDK's
 * range, as the daemon installs from pyproject.toml (`uv sync`) when there is one (dify-plugin-daemon
 * `internal/core/local_runtime/setup_python_environment.go`). A file that cannot be read or parsed
 * states nothing: checking it is `package --check`'s work, not a reason to refuse a run.
 */
export function pythonNeedsOf(dir: string, runnerVersion: unknown): PythonNeeds {
  const requirementsText = readSmall(path.join(dir, 'requirements.txt'));
  const pyprojectText = readSmall(path.join(dir, 'pyproject.toml'));
  const needs: PythonNeeds = {
    files: {
      requirementsTxt: requirementsText !== undefined,
      pyproject: pyprojectText !== undefined,
      uvLock: isPlainFile(path.join(dir, 'uv.lock')),
    },
  };
  if (typeof runnerVersion === 'string' && runnerVersion.trim() !== '') needs.runnerVersion = runnerVersion.trim();
  const project = pyprojectText !== undefined ? projectTable(pyprojectText) : undefined;
  const requiresPython = project?.['requires-python'];
  if (typeof requiresPython === 'string' && requiresPython.trim() !== '')
    needs.requiresPython = { specifiers: requiresPython.trim(), from: 'requires-python in pyproject.toml' };
  const dependencies = Array.isArray(project?.dependencies) ? project.dependencies : [];
  const fromPyproject = sdkRange(dependencies.filter((d): d is string => typeof d === 'string'));
  const fromRequirements = requirementsText !== undefined ? sdkRange(requirementLines(requirementsText)) : undefined;
  if (fromRequirements !== undefined) needs.sdkInRequirements = fromRequirements;
  if (fromPyproject !== undefined) needs.sdk = { specifiers: fromPyproject, from: 'pyproject.toml' };
  else if (fromRequirements !== undefined) needs.sdk = { specifiers: fromRequirements, from: 'requirements.txt' };
  return needs;
}

function projectTable(text: string): Record<string, unknown> | undefined {
  try {
    const project = parseToml(text).project;
    return project && typeof project === 'object' && !Array.isArray(project)
      ? (project as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The logical lines of a requirements.txt: continuations joined, comments and options left out. */
function requirementLines(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, '')
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('-'));
}

/**
 * The specifiers of the first requirement on the SDK (PEP 508: `name [extras] specifiers ; marker`,
 * the specifiers possibly in parentheses): `>=0.9.0,<0.11.0`, '' for any version (also a URL
 * requirement, `name @ url`), undefined when there is none.
 */
export function sdkRange(requirements: string[]): string | undefined {
  for (const requirement of requirements) {
    const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$/.exec(requirement);
    if (!m || normalizeName(m[1]!) !== SDK) continue;
    const rest = m[2]!
      .replace(/;.*$/, '')
      .replace(/\s--hash=\S+/g, '')
      .trim();
    if (rest.startsWith('@')) return '';
    return rest.replace(/^\((.*)\)$/, '$1').trim();
  }
  return undefined;
}

/**
 * A file's text, or undefined when it is missing, larger than MAX_FILE_BYTES or not a regular
 * file: a link is not followed (it may point out of the plugin), and a FIFO would block the read.
 */
function readSmall(file: string): string | undefined {
  try {
    const info = lstatSync(file, { throwIfNoEntry: false });
    return info?.isFile() && info.size <= MAX_FILE_BYTES ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function isPlainFile(file: string): boolean {
  try {
    return lstatSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // not a directory on the way, no permission: nothing stated
  }
}

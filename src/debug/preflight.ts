import path from 'node:path';
import { UserError } from '../diagnostics/user-error.js';
import { satisfiesSpecifiers } from '../project/pep440.js';
import { probeInterpreter, type InterpreterFacts, type ProbeResult } from './interpreter-probe.js';
import { pythonNeedsOf, type PythonNeeds, type Stated } from './python-needs.js';
import { describeSource, type Setting } from './settings.js';

/** The interpreter cannot run the plugin; the hint has the commands that fix it. */
export class PreflightError extends UserError {
  constructor(
    message: string,
    hint: string,
    /** For the `--format json` error event. */
    readonly details: Record<string, unknown>,
  ) {
    super(message, hint);
  }
}

export interface PreflightOptions {
  python: Setting<string>;
  pluginDir: string;
  env: NodeJS.ProcessEnv;
  /** `meta.runner.version` as the manifest gives it; the rest of what the plugin needs is read from its files. */
  runnerVersion: unknown;
  timeoutMs: number;
  /** For the commands in hints (tests ask for either). */
  platform?: NodeJS.Platform;
  /** `run --debugpy`: debugpy must be installed for it too. */
  debugpy?: boolean;
}

export interface PreflightResult {
  facts: InterpreterFacts;
  /** What may differ once installed in Dify, but does not stop the plugin here. */
  warnings: string[];
}

/**
 * Before anything is registered: does the interpreter run, is its version one the plugin accepts
 * (`requires-python`), and does it have the SDK in a version the plugin accepts? One start of the
 * interpreter answers all three (interpreter-probe.ts). Throws a PreflightError naming every
 * problem found and the commands that fix them.
 *
 * `meta.runner.version` only warns: the daemon validates it as free text and creates the plugin's
 * environment with its own choice of Python (dify-plugin-daemon
 * `internal/core/local_runtime/setup_python_environment.go`), so nothing refuses a mismatch.
 */
export async function preflight(o: PreflightOptions): Promise<PreflightResult> {
  const { facts, fix, who, needs } = await probe(o);
  const found = assessInterpreter(facts, needs);
  const problems: string[] = [];
  if (found.refusedPython)
    problems.push(
      `it is Python ${facts.version}, and the plugin requires Python ${found.refusedPython.specifiers} (${found.refusedPython.from})`,
    );
  if (found.sdk === 'missing') {
    problems.push(`dify_plugin (the Dify plugin SDK) is not installed for it (Python ${facts.version})`);
  } else if (found.sdk === 'refused') {
    problems.push(
      `it has dify_plugin ${facts.sdk!.version}, and the plugin requires dify_plugin${needs.sdk!.specifiers} (${needs.sdk!.from})`,
    );
  }
  const hints: string[] = [];
  const otherFix = problems.length > 0;
  if (otherFix) hints.push(found.refusedPython ? fix.wrongPython() : fix.missingPackages());
  // A new environment made by the first hint has no debugpy either: its command comes after.
  if (o.debugpy && (!facts.debugpy || found.refusedPython)) {
    if (!facts.debugpy) problems.push(`debugpy is not installed for it (for --debugpy)`);
    hints.push(fix.debugpy(otherFix));
  }
  if (problems.length > 0) {
    throw new PreflightError(
      `the Python interpreter ${who} cannot run this plugin: ${problems.join('\n  ')}`,
      hints.join('; then '),
      {
        python: o.python.value,
        python_version: facts.version,
        sdk_version: facts.sdk?.version ?? null,
        ...(o.debugpy ? { debugpy_version: facts.debugpy?.version ?? null } : {}),
        problems,
      },
    );
  }
  const warnings: string[] = [];
  if (found.otherRunner)
    warnings.push(
      `manifest.yaml has meta.runner.version "${found.otherRunner}", but ${o.python.value} is Python ${facts.version}: the plugin may behave differently once installed in Dify`,
    );
  return { facts, warnings };
}

/**
 * `run --debugpy` of a package or in local mode, which check nothing else of the interpreter (the
 * plugin's own start says what is missing): it runs, and has debugpy.
 */
export async function checkDebugpy(o: PreflightOptions): Promise<InterpreterFacts> {
  const { facts, fix, who } = await probe(o);
  if (!facts.debugpy)
    throw new PreflightError(
      `the Python interpreter ${who} cannot run this plugin under debugpy: debugpy is not installed for it`,
      fix.debugpy(),
      { python: o.python.value, python_version: facts.version, debugpy_version: null, problems: ['debugpy'] },
    );
  return facts;
}

/** One start of the interpreter; throws when it does not run or answer. */
async function probe(
  o: PreflightOptions,
): Promise<{ facts: InterpreterFacts; fix: PythonFixes; who: string; needs: PythonNeeds }> {
  const probed = await probeInterpreter(o.python.value, { cwd: o.pluginDir, env: o.env, timeoutMs: o.timeoutMs });
  const needs = pythonNeedsOf(o.pluginDir, o.runnerVersion);
  const fix = new PythonFixes({ ...o, needs });
  const who = `${o.python.value} ${describeSource(o.python)}`;
  if (!probed.ok) {
    const what = probeFailure(probed);
    throw new PreflightError(`the Python interpreter ${who} ${what}`, fix.unusable(), {
      python: o.python.value,
      problems: [what],
    });
  }
  return { facts: probed.facts, fix, who, needs };
}

/** What the interpreter's facts say against the plugin's needs; each field present only when there is a problem. */
export interface Assessment {
  /** `requires-python` refuses the interpreter's version. */
  refusedPython?: Stated;
  /** The SDK is not installed, or its version is one the plugin's requirement refuses. */
  sdk?: 'missing' | 'refused';
  /** `meta.runner.version`, when the interpreter is another Python (a warning only: see preflight). */
  otherRunner?: string;
}

/** The comparisons preflight() refuses or warns on, for `doctor` to report one by one. */
export function assessInterpreter(facts: InterpreterFacts, needs: PythonNeeds): Assessment {
  const found: Assessment = {};
  if (needs.requiresPython && satisfiesSpecifiers(facts.version, needs.requiresPython.specifiers) === false)
    found.refusedPython = needs.requiresPython;
  if (!facts.sdk) found.sdk = 'missing';
  else if (
    facts.sdk.version !== null &&
    needs.sdk?.specifiers &&
    satisfiesSpecifiers(facts.sdk.version, needs.sdk.specifiers) === false
  )
    found.sdk = 'refused';
  const runner = needs.runnerVersion;
  if (runner && /^\d+(\.\d+)*$/.test(runner) && satisfiesSpecifiers(facts.version, `==${runner}.*`) === false)
    found.otherRunner = runner;
  return found;
}

/** Why a probe got no answer: "was not found", "did not answer (...)", ... */
export function probeFailure(probe: Extract<ProbeResult, { ok: false }>): string {
  return probe.problem === 'not-found'
    ? 'was not found'
    : probe.problem === 'not-executable'
      ? 'is not executable'
      : probe.problem === 'timeout'
        ? `did not answer (${probe.detail})`
        : `did not run (${probe.detail})`;
}

/** The commands that fix each kind of problem, for this plugin's files and this interpreter. */
export class PythonFixes {
  private readonly windows: boolean;

  constructor(
    private readonly o: Pick<PreflightOptions, 'python' | 'pluginDir' | 'platform'> & { needs: PythonNeeds },
  ) {
    this.windows = (o.platform ?? process.platform) === 'win32';
  }

  /** The interpreter does not exist or does not run. */
  unusable(): string {
    const { python } = this.o;
    if (isVenv(python)) return `the plugin's .venv is broken; create it again: ${this.createVenv(true)}`;
    if (python.source === 'default') return `create the plugin's virtual environment: ${this.createVenv(false)}`;
    return `${this.changeInterpreter()}, or leave it out and create the plugin's virtual environment: ${this.createVenv(false)}`;
  }

  /** Its Python version is one the plugin does not accept. */
  wrongPython(): string {
    const { python } = this.o;
    if (isVenv(python)) return `create the plugin's .venv again with Python ${this.wanted()}: ${this.createVenv(true)}`;
    if (python.source === 'default')
      return `create the plugin's virtual environment (run, invoke and test use it when there is one): ${this.createVenv(false)}`;
    return `${this.changeInterpreter()} for Python ${this.wanted()}, or leave it out and create the plugin's virtual environment: ${this.createVenv(false)}`;
  }

  /** The SDK is missing or of a version the plugin does not accept. */
  missingPackages(): string {
    const { python } = this.o;
    if (python.source === 'default' && !isVenv(python))
      return `create the plugin's virtual environment (run, invoke and test use it when there is one): ${this.createVenv(false)}`;
    return `install the plugin's requirements for it: ${this.install(python.value)}`;
  }

  /**
   * debugpy for `run --debugpy`, into the interpreter that runs the plugin: the plugin's .venv
   * when the other hint creates one (`createdVenv`).
   */
  debugpy(createdVenv = false): string {
    const { python } = this.o;
    const venv = isVenv(python) || (createdVenv && python.source === 'default');
    if (this.usesUv && venv) return 'install debugpy into it: `uv pip install debugpy`';
    if (venv) {
      const venvPython = this.windows ? '.venv\\Scripts\\python' : '.venv/bin/python';
      return `install debugpy into it: \`${venvPython} -m pip install debugpy\``;
    }
    if (this.usesUv) return `install debugpy for it: \`uv pip install --python ${quote(python.value)} debugpy\``;
    return `install debugpy for it: \`${quote(this.shown(python.value))} -m pip install debugpy\``;
  }

  private changeInterpreter(): string {
    const { python } = this.o;
    if (python.source === 'flag') return 'pass another --python';
    return `set ${python.name} ${python.source === '.env' ? 'in .env' : 'in the environment'} to another interpreter`;
  }

  /** A uv project (pyproject.toml, and uv.lock or no requirements.txt) is set up with uv, as the daemon does. */
  private get usesUv(): boolean {
    const { files } = this.o.needs;
    return files.pyproject && (files.uvLock || !files.requirementsTxt);
  }

  private createVenv(again: boolean): string {
    const version = this.wanted();
    if (this.usesUv) return `\`uv sync --python ${version}\``;
    const create = this.windows
      ? `py -${version} -m venv ${again ? '--clear ' : ''}.venv`
      : `python${version} -m venv ${again ? '--clear ' : ''}.venv`;
    const venvPython = this.windows ? '.venv\\Scripts\\python' : '.venv/bin/python';
    return `\`${create} && ${this.installWith(venvPython)}\``;
  }

  private install(python: string): string {
    if (this.usesUv) {
      return isVenv(this.o.python) ? '`uv sync`' : `\`uv pip install --python ${quote(python)} -r pyproject.toml\``;
    }
    return `\`${this.installWith(this.shown(python))}\``;
  }

  /** An interpreter inside the plugin's directory (its .venv) by its relative path, as the user types it. */
  private shown(python: string): string {
    const relative = path.relative(this.o.pluginDir, python);
    return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : python;
  }

  private installWith(python: string): string {
    const { needs } = this.o;
    if (needs.files.requirementsTxt) {
      // The SDK's range came from pyproject.toml and requirements.txt says otherwise: installing
      // requirements.txt alone would leave the refused version in place.
      const sdk = needs.sdk?.from === 'pyproject.toml' && needs.sdkInRequirements !== needs.sdk.specifiers;
      return `${quote(python)} -m pip install -r requirements.txt${sdk ? ` ${quote(`dify_plugin${needs.sdk!.specifiers}`)}` : ''}`;
    }
    return `${quote(python)} -m pip install ${quote(`dify_plugin${needs.sdk?.specifiers ?? ''}`)}`;
  }

  /**
   * The Python version to suggest: `meta.runner.version` when requires-python accepts it, else
   * the lowest one requires-python names, else 3.12, which the daemon installs plugins with.
   */
  private wanted(): string {
    const { runnerVersion, requiresPython } = this.o.needs;
    const accepted = (v: string) =>
      !requiresPython || satisfiesSpecifiers(`${v}.0`, requiresPython.specifiers) !== false;
    if (runnerVersion && /^\d+\.\d+$/.test(runnerVersion) && accepted(runnerVersion)) return runnerVersion;
    const lowest = requiresPython && /(?:>=|~=|==)\s*(\d+\.\d+)/.exec(requiresPython.specifiers)?.[1];
    return lowest && accepted(lowest) ? lowest : '3.12';
  }
}

function isVenv(python: Setting<string>): boolean {
  return python.source === 'default' && python.name === '.venv';
}

/** A word as a POSIX shell reads it back: quoted only when it has to be. */
function quote(word: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

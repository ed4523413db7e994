import { diagnostic } from '../../diagnostics/catalog.js';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { PathSegment } from '../../diagnostics/pointer.js';
import { get, isObject, type Declaration, type PluginProject } from '../../project/model.js';
import { resolveRef } from '../../project/references.js';
import { logicalLines } from '../python-module.js';
import { PythonClasses, SDK_BASES, type FoundClass, type SdkBase } from '../python-classes.js';
import { compileSources, type CompileOutcome, type SourceText } from '../python-syntax.js';
import { at, type CheckContext } from './context.js';
import { pythonReferences } from './sources.js';

/**
 * What stops the SDK from starting in the Python code itself: a source that does not compile,
 * and a source without exactly one subclass of the class the SDK loads it as.
 */
export async function pythonCode(ctx: CheckContext): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const uncompiled = new Set<string>();
  const outcome = await ctx.compiled;
  if (outcome) out.push(...syntax(ctx.project, outcome, uncompiled));
  out.push(...(await classes(ctx, uncompiled)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Syntax

/**
 * Compiles every source the SDK imports (and the entrypoint) in one request to a local Python;
 * undefined when there is no Python source to compile.
 */
export async function compileProject(
  project: PluginProject,
  env: NodeJS.ProcessEnv,
): Promise<CompileOutcome | undefined> {
  const sources = await importedFiles(project);
  return sources.length === 0 ? undefined : compileSources(sources, env);
}

/**
 * The findings of a compile. A Python older than the plugin's runner may reject newer syntax
 * the runner accepts, so its complaints are only informational then.
 */
function syntax(project: PluginProject, outcome: CompileOutcome, uncompiled: Set<string>): Diagnostic[] {
  if (!outcome.ran) {
    return [
      diagnostic(
        'python/syntax-check-skipped',
        { file: null },
        `the Python sources were not compiled: ${outcome.reason}`,
        'install Python 3, or set PYTHON_INTERPRETER_PATH to the interpreter the plugin runs with',
      ),
    ];
  }
  const runner = runnerVersion(project);
  const local = outcome.version;
  const older = runner !== undefined && (local[0] < runner[0] || (local[0] === runner[0] && local[1] < runner[1]));
  return outcome.errors.map((e) => {
    uncompiled.add(e.path);
    const d = older
      ? diagnostic(
          'python/syntax-unconfirmed',
          { file: e.path },
          `${e.message} (says Python ${local.join('.')}; the plugin runs on Python ${runner!.join('.')}, which may accept it)`,
          `check with Python ${runner!.join('.')}: set PYTHON_INTERPRETER_PATH to it`,
        )
      : diagnostic(
          'python/syntax-error',
          { file: e.path },
          `${e.message}; the plugin stops at start-up when this file is imported`,
          'fix the code at this line (the error may be on the line before)',
        );
    d.line = e.line;
    d.column = e.column;
    return d;
  });
}

/** The runner's Python version, `meta.runner.version` ("3.12"). */
function runnerVersion(project: PluginProject): [number, number] | undefined {
  const written = get(project.manifest?.value, 'meta', 'runner', 'version');
  const match = typeof written === 'string' ? /^(\d+)\.(\d+)/.exec(written.trim()) : null;
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/**
 * Sources larger than this are not sent to Python: real plugin modules are a few KiB, and reading
 * a file whole costs its size in memory (and once more to send it).
 */
const MAX_COMPILED_BYTES = 4 * 1024 * 1024;

/** Every file the SDK imports from a declaration, and the module the daemon starts, read once. */
async function importedFiles(project: PluginProject): Promise<SourceText[]> {
  const sizes = new Map((await project.source.listFiles()).map((f) => [f.path, f.size]));
  const paths = new Set<string>();
  for (const { written } of pythonReferences(project)) {
    const file = typeof written === 'string' ? resolveRef(written).path : undefined;
    if (file) paths.add(file);
  }
  const entry = get(project.manifest?.value, 'meta', 'runner', 'entrypoint');
  if (typeof entry === 'string' && /^[A-Za-z_][\w.]*$/.test(entry)) {
    const base = entry.split('.').join('/');
    for (const p of [`${base}.py`, `${base}/__init__.py`, `${base}/__main__.py`]) paths.add(p);
  }
  const out: SourceText[] = [];
  for (const p of [...paths].sort()) {
    if (!p.endsWith('.py') || (await project.source.statPath(p)) !== 'file') continue;
    if ((sizes.get(p) ?? 0) > MAX_COMPILED_BYTES) continue;
    try {
      out.push({ path: p, data: await project.source.readFile(p) });
    } catch {
      // Unreadable: reported by the rule for missing sources, or not part of the package.
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Classes

/** How many subclasses of the base a source must have. */
type Need = 'one' | 'at-most-one';

interface ClassRequirement {
  decl: Declaration;
  key: string;
  base: SdkBase;
  need: Need;
}

/** The datasource class each provider type loads its datasources as (others load none). */
const DATASOURCE_BASES: Record<string, SdkBase> = {
  website_crawl: 'WebsiteCrawlDatasource',
  online_document: 'OnlineDocumentDatasource',
  online_drive: 'OnlineDriveDatasource',
};

/**
 * The class each source is loaded as, as dify-plugin-sdks src/dify_plugin/core/plugin_registration.py
 * does: exactly one subclass per file (load_single_subclass_from_source), except model sources
 * (any number of models) and a trigger provider's subscription constructor (at most one, and one
 * when `subscription_constructor` is declared).
 */
function requirements(project: PluginProject): ClassRequirement[] {
  const out: ClassRequirement[] = [];
  const add = (decl: Declaration, base: SdkBase, key = 'source', need: Need = 'one') =>
    out.push({ decl, key, base, need });
  const p = project.providers;
  for (const provider of p.tools) {
    add(provider, 'ToolProvider');
    for (const tool of provider.tools) add(tool, 'Tool');
  }
  for (const provider of p.models) add(provider, 'ModelProvider', 'provider_source');
  for (const group of p.endpoints) for (const endpoint of group.endpoints) add(endpoint, 'Endpoint');
  for (const provider of p.agent_strategies) for (const strategy of provider.strategies) add(strategy, 'AgentStrategy');
  for (const provider of p.datasources) {
    add(provider, 'DatasourceProvider');
    const type = get(provider.value, 'provider_type');
    const base = typeof type === 'string' ? DATASOURCE_BASES[type] : undefined;
    if (base) for (const datasource of provider.datasources) add(datasource, base);
  }
  for (const provider of p.triggers) {
    add(provider, 'Trigger');
    const declared = isObject(get(provider.value, 'subscription_constructor'));
    add(provider, 'TriggerSubscriptionConstructor', 'source', declared ? 'one' : 'at-most-one');
    for (const event of provider.events) add(event, 'Event');
  }
  return out;
}

/** The SDK's own words when it refuses a source, to make the finding easy to match to a log. */
function sdkMessage(base: SdkBase, count: number): string {
  if (base === 'TriggerSubscriptionConstructor')
    return count === 0
      ? 'Trigger subscription constructor configuration declared but no implementation found'
      : 'Multiple TriggerSubscriptionConstructor subclasses found';
  return `${count === 0 ? 'Missing subclass' : 'Multiple subclasses'} of ${base}`;
}

/**
 * Each source must bind exactly one subclass of its base at module level: the SDK counts every
 * class in the module's namespace, imported ones and abstract ones included, and refuses the
 * plugin otherwise. Only certain findings are reported: a class whose bases come from somewhere
 * this reading cannot follow is never counted as missing.
 */
async function classes({ project, files }: CheckContext, uncompiled: Set<string>): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const reader = new PythonClasses(project.source, files);
  const present = new Set(files.map((f) => f.path));
  for (const { decl, key, base, need } of requirements(project)) {
    const path: PathSegment[] = ['extra', 'python', key];
    const written = get(decl.value, ...path);
    const file = typeof written === 'string' ? resolveRef(written).path : undefined;
    if (!file || !file.endsWith('.py') || !present.has(file) || uncompiled.has(file)) continue;
    const found = await reader.subclasses(file, base);
    if (!found) continue;
    if (found.found.length > 1) {
      out.push(multiple(file, base, found.found));
    } else if (found.found.length === 0 && found.complete && need === 'one') {
      if (await holdsNoCode(project, file)) {
        out.push(
          at(
            'python/no-code',
            decl,
            path,
            `${file} holds no code yet (only comments or nothing); the SDK refuses to start until it defines a subclass of ${base}`,
            `define one class that extends ${base} in ${file}`,
          ),
        );
        continue;
      }
      const others: string[] = [];
      for (const other of SDK_BASES) {
        if (other === base) continue;
        const theirs = await reader.subclasses(file, other);
        for (const c of theirs?.found ?? []) if (!c.imported) others.push(`${c.name}, a ${other}`);
      }
      const defines = others.length > 0 ? ` (it defines ${others.join(', ')})` : '';
      out.push(
        at(
          'python/no-subclass',
          decl,
          path,
          `${file} has no subclass of ${base}${defines}, so the SDK refuses to start ("${sdkMessage(base, 0)}")`,
          `define one class that extends ${base} in ${file}, or point extra.python.${key} at the file that has it`,
        ),
      );
    }
  }
  return out;
}

/**
 * A source with no statement at all: a placeholder (a file just created, or a plugin whose code
 * was left out, as in published fixtures), told apart from a module that defines the wrong classes.
 */
async function holdsNoCode(project: PluginProject, file: string): Promise<boolean> {
  try {
    return logicalLines((await project.source.readFile(file)).toString('utf8'))?.length === 0;
  } catch {
    return false;
  }
}

function multiple(file: string, base: SdkBase, found: FoundClass[]): Diagnostic {
  const names = found.map((c) => `${c.name} (${c.imported ? 'imported, ' : ''}line ${c.line})`);
  const list = `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  const hint = found.some((c) => c.imported)
    ? `import the module rather than the class (import package.module, then module.ClassName), so that only one subclass of ${base} is an attribute of this module`
    : `keep one subclass of ${base} in this file: move the others, and any shared base class, to modules of their own`;
  const d = diagnostic(
    'python/multiple-subclasses',
    { file },
    `${file} has ${found.length} subclasses of ${base} at module level, ${list}; the SDK loads exactly one and refuses to start ("${sdkMessage(base, found.length)}")`,
    hint,
  );
  const second = found[1]!;
  d.line = second.line;
  d.column = second.column;
  return d;
}

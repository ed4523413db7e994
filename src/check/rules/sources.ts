import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { at, type CheckContext } from './context.js';
import { closestPath } from '../../diagnostics/suggest.js';
import { allDeclarations, get } from '../../project/model.js';
import type { Declaration, PluginProject } from '../../project/model.js';
import { refProblemFinding, resolveRef } from '../../project/references.js';
import type { PluginSource } from '../../project/source.js';
import type { PathSegment } from '../../diagnostics/pointer.js';

/** Where the Python SDK finds code: each `extra.python` block and the fields in it it imports. */
const PYTHON_BLOCKS: PathSegment[][] = [
  ['extra', 'python'],
  ['subscription_constructor', 'extra', 'python'],
];

/**
 * Every `extra.python` source must exist: the SDK imports each at start-up and the plugin dies
 * before it can register.
 */
export async function pythonSources({ project, files }: CheckContext): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const pyFiles = files.map((f) => f.path).filter((p) => p.endsWith('.py'));
  for (const { decl, at, written } of pythonReferences(project, PYTHON_BLOCKS))
    await checkSource(out, project.source, pyFiles, decl, at, written);
  return out;
}

/** A source file named in a declaration's `extra.python` block. */
export interface PythonReference {
  decl: Declaration;
  /** Where in the declaration, e.g. `extra.python.model_sources.0`. */
  at: PathSegment[];
  written: unknown;
}

/**
 * The sources named in `blocks` of every declaration. The agent-strategy provider's block is
 * skipped because the SDK never reads it (it has no provider class).
 */
export function pythonReferences(
  project: PluginProject,
  blocks: PathSegment[][] = [['extra', 'python']],
): PythonReference[] {
  const out: PythonReference[] = [];
  for (const decl of allDeclarations(project)) {
    if (decl.kind === 'agent-strategy-provider' || decl.kind === 'manifest') continue;
    for (const block of blocks) {
      const python = get(decl.value, ...block);
      if (typeof python !== 'object' || python === null) continue;
      for (const key of ['source', 'provider_source'])
        out.push({ decl, at: [...block, key], written: get(python, key) });
      const models = get(python, 'model_sources');
      if (Array.isArray(models)) {
        for (const [i, m] of models.entries()) out.push({ decl, at: [...block, 'model_sources', i], written: m });
      }
    }
  }
  return out;
}

async function checkSource(
  out: Diagnostic[],
  source: PluginSource,
  pyFiles: string[],
  decl: Declaration,
  path: PathSegment[],
  written: unknown,
): Promise<void> {
  if (typeof written !== 'string' || written === '') return; // type and presence are the schema's
  const ref = resolveRef(written);
  if (ref.problem) {
    const f = refProblemFinding(ref.problem, written);
    out.push(at(f.code, decl, path, f.message, f.hint));
  }
  if (!ref.path) return;
  const type = await source.statPath(ref.path);
  if (type === 'file') return;
  if (type === 'excluded') {
    out.push(
      at(
        'reference/excluded',
        decl,
        path,
        `${written} is excluded from the package by an ignore rule, so the plugin cannot import it once installed`,
        'remove the rule that excludes it from the ignore file',
      ),
    );
    return;
  }
  if (type === 'directory') {
    out.push(at('file/not-a-file', decl, path, `${written} is a directory; a Python source file is expected`));
    return;
  }
  const close = closestPath(ref.path, pyFiles);
  out.push(
    at(
      'reference/python-source-missing',
      decl,
      path,
      `${written} does not exist`,
      close ? `did you mean "${close}"?` : 'create the file, or fix the path (it is relative to the plugin root)',
    ),
  );
}

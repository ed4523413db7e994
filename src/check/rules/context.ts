import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { diagnostic, type RuleCode } from '../../diagnostics/catalog.js';
import type { Declaration, PluginProject } from '../../project/model.js';
import type { SourceEntry } from '../../project/source.js';
import type { YamlFile } from '../../project/yaml-file.js';
import type { PathSegment } from '../../diagnostics/pointer.js';
import type { CompileOutcome } from '../python-syntax.js';

/** What every semantic rule sees: the loaded project, its files, and the findings so far. */
export interface CheckContext {
  project: PluginProject;
  /** Every file of the plugin (sorted), with sizes. */
  files: SourceEntry[];
  fileSizes: Map<string, number>;
  /** Findings of the loader and the schemas, so rules can avoid repeating them. */
  prior: readonly Diagnostic[];
  /**
   * The compile of the Python sources by a local interpreter, when asked for (`package` does;
   * `run` does not, as Python reports a syntax error itself when the plugin starts). It is
   * started before the other rules run, so that Python starts up while they work.
   */
  compiled?: Promise<CompileOutcome | undefined>;
}

export type Rule = (ctx: CheckContext) => Diagnostic[] | Promise<Diagnostic[]>;

/** A diagnostic located at `at` inside a declaration. */
export function at(
  code: RuleCode,
  decl: Declaration,
  segments: PathSegment[],
  message: string,
  hint?: string,
): Diagnostic {
  return inFile(code, decl.file, [...decl.at, ...segments], message, hint);
}

function inFile(code: RuleCode, file: YamlFile, segments: PathSegment[], message: string, hint?: string): Diagnostic {
  return diagnostic(code, { file: file.path, yaml: file, at: segments }, message, hint);
}

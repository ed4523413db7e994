import { diagnostic, type RuleCode } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { excerptAt } from '../diagnostics/excerpt.js';
import type { YamlFile } from './yaml-file.js';

/**
 * The findings for a file that could not be read as YAML, at the parser's line and column. A
 * syntax error carries the line it is on: its message ("missed comma between flow collection
 * entries") only makes sense next to the text.
 */
export function yamlProblemFindings(file: YamlFile): Diagnostic[] {
  return file.problems.map((problem) => {
    const code: RuleCode = `yaml/${problem.kind}`;
    const { line, column } = problem.position;
    const d: Diagnostic = { ...diagnostic(code, { file: file.path }, problem.message), line, column };
    const excerpt = problem.kind === 'syntax' ? excerptAt(file.text, line, column) : undefined;
    if (excerpt) d.excerpt = excerpt;
    return d;
  });
}

import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { diagnostic } from '../../diagnostics/catalog.js';
import { allDeclarations, type Declaration } from '../../project/model.js';
import { toPointer, type PathSegment } from '../../diagnostics/pointer.js';
import type { YamlFile } from '../../project/yaml-file.js';
import { daemonRefusesDuplicate } from '../daemon-fields.js';
import { displayPath } from '../schema.js';
import type { CheckContext } from './context.js';

/**
 * A key written twice in one mapping. PyYAML (the SDK) keeps the last value and says nothing;
 * yaml.v3 (the daemon, on install and when the Go CLI packs) refuses it only where it decodes the
 * mapping, so the finding is an error there and a warning elsewhere.
 */
export async function duplicateKeys({ project }: CheckContext): Promise<Diagnostic[]> {
  const byFile = new Map<YamlFile, Declaration[]>();
  for (const decl of allDeclarations(project)) {
    if (decl.file.hasDuplicateKeys) byFile.set(decl.file, [...(byFile.get(decl.file) ?? []), decl]);
  }
  const out: Diagnostic[] = [];
  for (const [file, decls] of byFile) out.push(...(await duplicateKeyFindings(file, decls)));
  return out;
}

/** The findings for the repeated keys of one file, which holds `decls`. */
export async function duplicateKeyFindings(
  file: YamlFile,
  decls: Pick<Declaration, 'kind' | 'at'>[],
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const dup of await file.duplicateKeys()) {
    const decl = innermost(decls, dup.at);
    const refused = decl && (await daemonRefusesDuplicate(decl.kind, dup.at.slice(decl.at.length), dup.key));
    const where = `${dup.at.length ? `in ${displayPath(dup.at)}` : 'at the top level'} (lines ${dup.firstLine} and ${dup.line})`;
    const d = refused
      ? diagnostic(
          'yaml/duplicate-key',
          { file: file.path },
          `"${dup.key}" is written twice ${where}: the daemon refuses the file (mapping key already defined)`,
          'keep one of them',
        )
      : diagnostic(
          'yaml/duplicate-key-unread',
          { file: file.path },
          `"${dup.key}" is written twice ${where}; the daemon does not check it there, and the Python SDK keeps the value of line ${dup.line}`,
          'keep one of them',
        );
    d.line = dup.line;
    d.column = dup.column;
    d.path = toPointer([...dup.at, dup.key]);
    out.push(d);
  }
  return out;
}

/** The declaration of a file that holds the path (a model file may hold several). */
function innermost<D extends Pick<Declaration, 'at'>>(decls: D[], path: readonly PathSegment[]): D | undefined {
  const holding = decls.filter((d) => d.at.every((seg, i) => path[i] === seg));
  return holding.sort((a, b) => b.at.length - a.at.length)[0];
}

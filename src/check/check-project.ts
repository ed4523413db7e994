import { locateDiagnostics } from '../diagnostics/catalog.js';
import { sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { icons } from './rules/assets.js';
import { type CheckContext, type Rule } from './rules/context.js';
import { allDeclarations } from '../project/model.js';
import { dependencyFile, entrypoint, identifier, pep440Versions, pluginKinds, privacyFile } from './rules/manifest.js';
import { duplicateKeys } from './rules/duplicate-keys.js';
import { duplicateModels } from './rules/models.js';
import { readmes, templateText } from './rules/readme.js';
import { compileProject, pythonCode } from './rules/python.js';
import { pythonSources } from './rules/sources.js';
import { duplicateToolNames, toolCredentials, unlistedTools } from './rules/tools.js';
import { validateDeclaration } from './schema.js';
import type { PluginProject } from '../project/model.js';

/** Rules for what a schema cannot say, run after the schemas. */
const SEMANTIC_RULES: Rule[] = [
  duplicateKeys,
  pluginKinds,
  pep440Versions,
  identifier,
  privacyFile,
  entrypoint,
  dependencyFile,
  pythonSources,
  icons,
  readmes,
  templateText,
  duplicateModels,
  toolCredentials,
  duplicateToolNames,
  unlistedTools,
  // Last: it waits for Python, which has been compiling since the check began.
  pythonCode,
];

export interface ProjectCheckOptions {
  /** Compile the Python sources with a local interpreter found in this environment. */
  python?: { env: NodeJS.ProcessEnv };
}

/** Every finding about a loaded project: loading problems, schema violations, then rules. */
export async function checkProject(project: PluginProject, options: ProjectCheckOptions = {}): Promise<Diagnostic[]> {
  const compiled = options.python ? compileProject(project, options.python.env) : undefined;
  const found: Diagnostic[] = [...project.diagnostics];
  for (const decl of allDeclarations(project)) {
    // A file that is not YAML, or holds nothing, is already one finding (yaml/*, file/empty);
    // its schema would only add "must be a mapping, but it is empty" about the same file.
    if (decl.at.length === 0 && (decl.value === undefined || decl.value === null)) continue;
    found.push(...(await validateDeclaration(decl)));
  }
  const files = await project.source.listFiles();
  const ctx: CheckContext = {
    project,
    files,
    fileSizes: new Map(files.map((f) => [f.path, f.size])),
    prior: [...found],
    ...(compiled ? { compiled } : {}),
  };
  for (const rule of SEMANTIC_RULES) found.push(...(await rule(ctx)));
  await locateDiagnostics(found);
  return sortDiagnostics(dedupe(found));
}

/** A file listed twice (e.g. one endpoint file used by two entries) must not double its findings. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}\u0000${d.file}\u0000${d.path}\u0000${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

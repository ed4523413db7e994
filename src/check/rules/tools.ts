import path from 'node:path';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { diagnostic } from '../../diagnostics/catalog.js';
import { at, type CheckContext } from './context.js';
import { get, isObject } from '../../project/model.js';
import type { PluginSource } from '../../project/source.js';
import { MAX_YAML_BYTES, YamlFile } from '../../project/yaml-file.js';

/**
 * The daemon reads a tool provider's `credentials_schema` at install (falling back to
 * `credentials_for_provider`; dify-plugin-daemon pkg/entities/plugin_entities/tool_declaration.go),
 * but the Python SDK reads only `credentials_for_provider` (dify-plugin-sdks
 * src/dify_plugin/entities/tool.py), and a remote-debugging session registers the SDK's view:
 * the installed plugin has a credential form, the debugged one none.
 */
export function toolCredentials({ project }: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const provider of project.providers.tools) {
    if (get(provider.value, 'credentials_schema') === undefined) continue;
    out.push(
      at(
        'tool-provider/credentials-schema-ignored',
        provider,
        ['credentials_schema'],
        'installed, Dify asks for these credentials (the daemon reads credentials_schema), but the Python SDK reads only credentials_for_provider: while remote debugging, the provider declares no credentials and its tools get none',
        'rename it to credentials_for_provider, written as a mapping of name → settings',
      ),
    );
  }
  return out;
}

/**
 * The SDK keeps a provider's tools in a mapping by `identity.name` (dify-plugin-sdks
 * src/dify_plugin/core/plugin_registration.py, `tools[tool.identity.name]`), so of two tools with
 * one name only the last one's class is ever run; the daemon passes both declarations on.
 */
export function duplicateToolNames({ project }: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const provider of project.providers.tools) {
    const seen = new Map<string, string>();
    for (const tool of provider.tools) {
      const name = get(tool.value, 'identity', 'name');
      if (typeof name !== 'string') continue;
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, tool.file.path);
        continue;
      }
      out.push(
        at(
          'tool/duplicate-name',
          tool,
          ['identity', 'name'],
          `tool name "${name}" is already used by ${first}; the SDK keeps one tool per name, so calls to either run the code of the last one listed`,
          'give each tool of the provider its own identity.name',
        ),
      );
    }
  }
  return out;
}

/**
 * A tool YAML next to the listed ones that the provider does not list is never loaded: neither
 * the daemon nor the SDK looks for tools, they read the provider's `tools` list.
 */
export async function unlistedTools({ project, files }: CheckContext): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const provider of project.providers.tools) {
    const folders = new Set(
      provider.tools.filter((t) => t.at.length === 0).map((t) => path.posix.dirname(t.file.path)),
    );
    for (const { path: file, size } of files) {
      if (!/\.ya?ml$/.test(file) || !folders.has(path.posix.dirname(file))) continue;
      if (project.files.has(file) || size > MAX_YAML_BYTES) continue;
      const name = await toolName(project.source, file);
      if (name === undefined) continue;
      out.push(
        diagnostic(
          'tool-provider/unlisted-tool',
          { file: provider.file.path, yaml: provider.file, at: [...provider.at, 'tools'], atKey: true },
          `${file} declares tool "${name}", but this provider does not list it, so Dify never loads it`,
          `add "- ${file}" to tools, or delete the file`,
        ),
      );
    }
  }
  return out;
}

/** The tool name a YAML file declares, when it reads as a tool declaration (not a provider). */
async function toolName(source: PluginSource, file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = (await source.readFile(file)).toString('utf8');
  } catch {
    return undefined;
  }
  const value = new YamlFile(file, text).value;
  if (!isObject(value) || 'tools' in value || !isObject(get(value, 'extra', 'python'))) return undefined;
  const name = get(value, 'identity', 'name');
  return typeof name === 'string' ? name : undefined;
}

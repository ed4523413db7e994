import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { at, type CheckContext } from './context.js';
import { get } from '../../project/model.js';

/**
 * The daemon reads a tool provider's `credentials_schema` (falling back to
 * `credentials_for_provider`), but the Python SDK reads only `credentials_for_provider`, so the
 * two would disagree about the plugin's credentials.
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
        'the Python SDK ignores credentials_schema in a tool provider, so the plugin would run without these credentials',
        'rename it to credentials_for_provider, written as a mapping of name → settings',
      ),
    );
  }
  return out;
}

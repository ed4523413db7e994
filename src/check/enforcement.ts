import type { DeclarationKind } from '../project/model.js';
import type { SchemaNode } from './validators.js';

/**
 * Where Dify refuses what a schema rule catches, which decides its severity:
 * - `package`: the manifest. The Go CLI struct-validates it when packaging and the daemon runs
 *   ManifestValidate on install (dify-plugin-daemon pkg/plugin_packager/packager/validator.go,
 *   pkg/entities/plugin_entities/plugin_declaration.go): an error everywhere.
 * - `sdk`: the Python SDK's pydantic models refuse the declaration when the plugin starts (types,
 *   required fields, enums): an error everywhere.
 * - `remote-debug`: only the daemon's struct validator, which runs on the JSON registration of a
 *   remote-debugging session (dify-plugin-daemon pkg/utils/parser/json.go) and not when a
 *   package is installed (its YAML is decoded without validation): a warning from `package`, an
 *   error from `run`.
 */
export type Enforcement = 'package' | 'sdk' | 'remote-debug';

/**
 * Limits the SDK's models do not have: lengths, counts, ranges, patterns and formats come from
 * the daemon's `validate:` tags alone (dify-plugin-sdks src/dify_plugin/entities/ declares none).
 */
const DAEMON_ONLY_KEYWORDS = new Set([
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
]);

/**
 * Kinds refused whole when a rule fails: by the Go packager or the daemon's install path (the
 * manifest, a bundle), or by `dify plugin test` (a declarative case, which only this CLI reads).
 */
const PACKAGE_KINDS = new Set<DeclarationKind>(['manifest', 'bundle', 'invoke-case']);

/** Where the rule behind a failed keyword is enforced, for a declaration of `kind`. */
export function enforcementOf(
  kind: DeclarationKind,
  keyword: string,
  node: SchemaNode | undefined,
  value: unknown,
): Enforcement {
  if (PACKAGE_KINDS.has(kind)) return 'package';
  if (node?.['x-enforced'] === 'remote-debug') return 'remote-debug';
  if (DAEMON_ONLY_KEYWORDS.has(keyword)) return 'remote-debug';
  // An enum narrower than the SDK's: values only the daemon refuses.
  const sdkAlso = node?.['x-sdk-accepts'];
  if (keyword === 'enum' && Array.isArray(sdkAlso) && sdkAlso.includes(value)) return 'remote-debug';
  return 'sdk';
}

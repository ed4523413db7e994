import type { PathSegment } from '../diagnostics/pointer.js';
import type { DeclarationKind } from '../project/model.js';

/**
 * What the daemon decodes of one declaration, generated from schemas/ into
 * src/generated/daemon-fields.ts (see daemonFields() in scripts/build-validators.mjs).
 */
export interface FieldNode {
  /** Known struct fields. */
  f?: Record<string, FieldNode>;
  /** The values of a map whose keys the author chooses. */
  any?: FieldNode;
  items?: FieldNode;
  /** A free-form map (`map[string]any`): everything below it is decoded. */
  free?: 1;
  /** A field the daemon's structs lack: never decoded. */
  ignored?: 1;
  /** A mapping the daemon walks by hand, without checking its keys. */
  unchecked?: 1;
}

/**
 * Whether the daemon refuses a key written twice in the mapping at `at` of a declaration. yaml.v3
 * fails on a repeated key when it decodes the mapping into a map, or into a struct that has a
 * field of that name (dify-plugin-daemon decodes with yaml.v3's default unique-key check:
 * pkg/utils/parser/yaml.go); a key the struct lacks is skipped, and a subtree under such a key is
 * never looked at. The Python SDK (PyYAML) never refuses a duplicate: the last value wins.
 */
export async function daemonRefusesDuplicate(
  kind: DeclarationKind,
  at: readonly PathSegment[],
  key: string,
): Promise<boolean> {
  const { DAEMON_FIELDS } = await import('../generated/daemon-fields.js');
  let node: FieldNode | undefined = DAEMON_FIELDS[kind];
  for (const seg of at) {
    if (!node || node.ignored) return false;
    if (node.free) return true;
    node = typeof seg === 'number' ? node.items : (node.f?.[seg] ?? node.any);
  }
  if (!node || node.ignored || node.unchecked) return false;
  return Boolean(node.free || node.any || node.f?.[key]);
}

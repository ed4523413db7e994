import { DEFAULT_STORAGE_SIZE, PERMISSIONS, type Permission } from '../project/permissions.js';
import { validate } from '../project/manifest-fields.js';
import { get } from '../project/model.js';
import { EditError } from './errors.js';
import { setMapping, type EditResult } from '../project/yaml-edit.js';

/**
 * `resource.permission` as a set of choices, the same ones `dify plugin init` offers
 * (`PERMISSIONS` of the scaffold), plus the storage size.
 */
export interface PermissionChoice {
  permissions: Permission[];
  /** Bytes; meaningful when `storage` is chosen. */
  storageSize: number;
  /** The manifest has a `storage` block whose size Dify refuses (outside 1024..1073741824). */
  storageSizeInvalid?: boolean;
}

const MODEL_TYPES = ['llm', 'text_embedding', 'rerank', 'tts', 'speech2text', 'moderation'] as const;
const SIMPLE = ['tool', 'node', 'endpoint', 'app'] as const;
/**
 * The keys of `resource.permission` this editor manages (dify-plugin-daemon
 * `pkg/entities/plugin_entities/plugin_declaration.go`); others are kept.
 */
const MANAGED = new Set<string>(['tool', 'model', 'node', 'endpoint', 'app', 'storage']);

/** What the manifest grants now: each permission whose `enabled` (or model sub-type) is true. */
export function readPermissions(manifest: unknown): PermissionChoice {
  const block = get(manifest, 'resource', 'permission');
  const on = (...path: string[]) => get(block, ...path) === true;
  const chosen = new Set<Permission>();
  for (const p of SIMPLE) if (on(p, 'enabled')) chosen.add(p);
  if (on('model', 'enabled')) chosen.add('model');
  for (const t of MODEL_TYPES) if (on('model', t)) chosen.add(`model.${t}`);
  if (on('storage', 'enabled')) chosen.add('storage');
  const size = get(block, 'storage', 'size');
  const sizeOk = typeof size === 'number' && validate.storageSize(size) === true;
  const choice: PermissionChoice = {
    permissions: PERMISSIONS.filter((p) => chosen.has(p)),
    storageSize: sizeOk ? size : DEFAULT_STORAGE_SIZE,
  };
  // Dify checks the size even when storage is disabled.
  if (get(block, 'storage') !== undefined && !sizeOk) choice.storageSizeInvalid = true;
  return choice;
}

/** What `dify plugin permission` flags ask for: start from none or from the manifest, then revoke and grant. */
export interface PermissionChanges {
  reset: boolean;
  grant: readonly Permission[];
  revoke: readonly Permission[];
  storageSize?: number | undefined;
}

/**
 * `current` with `changes` applied: what is not named stays as it is. Revoking `model` takes the
 * model types with it, since any of them turns the model block back on; grants apply last, so
 * `--no-allow-model --allow-llm` leaves LLMs only.
 */
export function applyPermissionChanges(current: PermissionChoice, changes: PermissionChanges): PermissionChoice {
  const set = new Set<Permission>(changes.reset ? [] : current.permissions);
  for (const p of changes.revoke) {
    set.delete(p);
    if (p === 'model') for (const t of MODEL_TYPES) set.delete(`model.${t}`);
  }
  for (const p of changes.grant) set.add(p);
  return {
    permissions: PERMISSIONS.filter((p) => set.has(p)),
    storageSize: changes.storageSize ?? current.storageSize,
  };
}

/** Whether two choices grant the same (the size counts only with storage), and neither needs fixing. */
export function samePermissions(a: PermissionChoice, b: PermissionChoice): boolean {
  if (a.storageSizeInvalid || b.storageSizeInvalid) return false;
  // A model sub-type turns the model block on, so `model.llm` alone grants what `model, model.llm` does.
  const set = (c: PermissionChoice) => {
    const s = new Set(c.permissions);
    if (c.permissions.some((p) => p.startsWith('model.'))) s.add('model');
    return [...s].sort().join(',');
  };
  if (set(a) !== set(b)) return false;
  return !a.permissions.includes('storage') || a.storageSize === b.storageSize;
}

/**
 * The `resource.permission` mapping for a choice, shaped as `init` writes it: only what is
 * granted, `{enabled: true}` blocks, a model sub-type turning `model.enabled` on. Keys this
 * editor does not know are carried over from `previous` unchanged.
 */
export function permissionBlock(choice: PermissionChoice, previous?: unknown): Record<string, unknown> {
  const size = validate.storageSize(choice.storageSize);
  if (choice.permissions.includes('storage') && size !== true)
    throw new EditError(`storage size ${choice.storageSize}: ${size}`);
  const has = (p: Permission) => choice.permissions.includes(p);
  const block: Record<string, unknown> = {};
  if (has('tool')) block.tool = { enabled: true };
  const types = MODEL_TYPES.filter((t) => has(`model.${t}`));
  if (has('model') || types.length > 0)
    block.model = { enabled: true, ...Object.fromEntries(types.map((t) => [t, true])) };
  for (const p of ['node', 'endpoint', 'app'] as const) if (has(p)) block[p] = { enabled: true };
  if (has('storage')) block.storage = { enabled: true, size: choice.storageSize };
  if (typeof previous === 'object' && previous !== null && !Array.isArray(previous)) {
    for (const [k, v] of Object.entries(previous)) if (!MANAGED.has(k)) block[k] = v;
  }
  return block;
}

/**
 * manifest.yaml with `resource.permission` replaced by `choice`, every other byte kept: the
 * comments, key order and quoting of the rest of the file, and comments on the key's own line.
 */
export function editPermissions(manifestText: string, manifest: unknown, choice: PermissionChoice): EditResult {
  const block = permissionBlock(choice, get(manifest, 'resource', 'permission'));
  return setMapping(manifestText, 'manifest.yaml', ['resource', 'permission'], block);
}

/** `tool, model (llm, rerank), storage (1048576 bytes)`, or `none`. */
export function describePermissions(choice: PermissionChoice): string {
  const has = (p: Permission) => choice.permissions.includes(p);
  const parts: string[] = [];
  if (has('tool')) parts.push('tool');
  const types = MODEL_TYPES.filter((t) => has(`model.${t}`));
  if (has('model') || types.length > 0) parts.push(types.length > 0 ? `model (${types.join(', ')})` : 'model');
  for (const p of ['node', 'endpoint', 'app'] as const) if (has(p)) parts.push(p);
  if (has('storage')) parts.push(`storage (${choice.storageSize} bytes)`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

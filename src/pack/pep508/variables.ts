/**
 * The variables a marker decision diagram tests, and the order in which it tests them.
 *
 * The order is uv's: two diagrams can only be compared node by node (and print the same text as
 * uv's) when their variables are decided in the same sequence.
 */
import { compareStrings } from '../../project/pep440.js';

export type StringKey =
  | 'os_name'
  | 'sys_platform'
  | 'platform_system'
  | 'platform_machine'
  | 'platform_python_implementation'
  | 'platform_release'
  | 'platform_version'
  | 'implementation_name';
export type VersionKey = 'implementation_version' | 'python_full_version';

/** Decision order of string variables. os_name/sys_platform/platform_system come first because
 * known-incompatible pairs among them are detected at the top of a diagram. */
const STRING_KEY_ORDER: readonly StringKey[] = [
  'os_name',
  'sys_platform',
  'platform_system',
  'platform_machine',
  'platform_python_implementation',
  'platform_release',
  'platform_version',
  'implementation_name',
];
const VERSION_KEY_ORDER: readonly VersionKey[] = ['implementation_version', 'python_full_version'];

export type Variable =
  | { kind: 'string'; key: StringKey }
  | { kind: 'version'; key: VersionKey }
  | { kind: 'in' | 'contains'; key: StringKey; value: string }
  | { kind: 'extra'; name: string };

const VARIABLE_KIND_ORDER = { string: 0, version: 1, in: 2, contains: 3, extra: 4 } as const;

export function compareVariables(a: Variable, b: Variable): number {
  const byKind = VARIABLE_KIND_ORDER[a.kind] - VARIABLE_KIND_ORDER[b.kind];
  if (byKind !== 0) return byKind;
  if (a.kind === 'extra' || b.kind === 'extra') return compareStrings(variableName(a), variableName(b));
  if (a.kind === 'version' || b.kind === 'version') {
    return VERSION_KEY_ORDER.indexOf(a.key as VersionKey) - VERSION_KEY_ORDER.indexOf(b.key as VersionKey);
  }
  const byKey = STRING_KEY_ORDER.indexOf(a.key) - STRING_KEY_ORDER.indexOf(b.key);
  if (byKey !== 0 || a.kind === 'string' || b.kind === 'string') return byKey;
  return compareStrings(a.value, b.value);
}

export function variableName(v: Variable): string {
  switch (v.kind) {
    case 'extra':
      return v.name;
    case 'in':
    case 'contains':
      return `${v.kind}:${v.key}:${v.value}`;
    default:
      return `${v.kind}:${v.key}`;
  }
}

/** True for the variables that take part in known-incompatible pairs (see `exclusions` in
 * decision-diagram.ts). */
export function isConflictingVariable(v: Variable): boolean {
  return v.kind === 'string' && (v.key === 'os_name' || v.key === 'sys_platform' || v.key === 'platform_system');
}

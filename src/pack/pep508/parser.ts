/**
 * Parses a PEP 508 marker expression into a decision diagram node.
 *
 * It follows uv's parser rather than the letter of PEP 508: the same PEP 345 spellings, the same
 * rewriting of `platform_system` to `sys_platform`, and the same leniency towards comparisons
 * that mean nothing. Syntax errors are thrown as UvLockError: markers come from uv.lock.
 */
import { UvLockError } from '../uv-lock-error.js';
import { DIAGRAMS, FALSE_ID, TRUE_ID, type NodeId } from './decision-diagram.js';
import { normalizeName } from './names.js';
import { UNBOUNDED, complementSegments, excluded, included, singleton, type Segment } from './ranges.js';
import type { StringKey } from './variables.js';
import { versionComparison } from './version-comparisons.js';

/** Marker names (including PEP 345 spellings) → canonical variable. */
const STRING_KEYS: Readonly<Record<string, StringKey>> = {
  os_name: 'os_name',
  'os.name': 'os_name',
  sys_platform: 'sys_platform',
  'sys.platform': 'sys_platform',
  platform_system: 'platform_system',
  platform_machine: 'platform_machine',
  'platform.machine': 'platform_machine',
  platform_python_implementation: 'platform_python_implementation',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
  platform_release: 'platform_release',
  platform_version: 'platform_version',
  'platform.version': 'platform_version',
  implementation_name: 'implementation_name',
};

/** `platform_system` values that always equal a `sys_platform` value are rewritten to it. */
const PLATFORM_SYSTEM_TO_SYS_PLATFORM: Readonly<Record<string, string>> = {
  Windows: 'win32',
  Darwin: 'darwin',
  Linux: 'linux',
  AIX: 'aix',
  Emscripten: 'emscripten',
  Android: 'android',
};

type Token =
  { t: '(' | ')' | 'and' | 'or' } | { t: 'op'; v: string } | { t: 'name'; v: string } | { t: 'str'; v: string };

function tokenizeMarker(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:(\()|(\))|('[^']*'|"[^"]*")|(===|==|!=|<=|>=|~=|<|>)|(not\s+in\b)|([A-Za-z_][A-Za-z0-9_.]*))\s*/y;
  let at = 0;
  while (at < text.length && text.slice(at).trim() !== '') {
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (!m) throw new UvLockError(`invalid marker "${text}": unexpected "${text.slice(at, at + 10)}"`);
    at = pattern.lastIndex;
    if (m[1]) tokens.push({ t: '(' });
    else if (m[2]) tokens.push({ t: ')' });
    else if (m[3]) tokens.push({ t: 'str', v: m[3].slice(1, -1) });
    else if (m[4]) tokens.push({ t: 'op', v: m[4] });
    else if (m[5]) tokens.push({ t: 'op', v: 'not in' });
    else if (m[6] === 'and' || m[6] === 'or') tokens.push({ t: m[6] });
    else if (m[6] === 'in') tokens.push({ t: 'op', v: 'in' });
    else if (m[6]) tokens.push({ t: 'name', v: m[6] });
  }
  return tokens;
}

/**
 * Recursive descent over `or` / `and` / parenthesised atoms. Like uv, comparisons that carry no
 * meaning (two literals, `~=` on a string, an unparsable version…) are left out of the
 * expression rather than rejected; `null` stands for such a dropped part.
 */
export function parseMarkerExpression(text: string): NodeId {
  const tokens = tokenizeMarker(text);
  if (tokens.length === 0) return TRUE_ID;
  let pos = 0;
  const fail = (what: string): never => {
    throw new UvLockError(`invalid marker "${text}": ${what}`);
  };
  const peek = (): Token | undefined => tokens[pos];

  const parseOr = (): NodeId | null => {
    let result = parseAnd();
    while (peek()?.t === 'or') {
      pos++;
      const right = parseAnd();
      result = result === null ? right : right === null ? result : DIAGRAMS.or(result, right);
    }
    return result;
  };
  const parseAnd = (): NodeId | null => {
    let result = parseAtom();
    while (peek()?.t === 'and') {
      pos++;
      const right = parseAtom();
      result = result === null ? right : right === null ? result : DIAGRAMS.and(result, right);
    }
    return result;
  };
  const parseAtom = (): NodeId | null => {
    const token = peek();
    if (token?.t === '(') {
      pos++;
      const inner = parseOr();
      if (peek()?.t !== ')') fail('missing ")"');
      pos++;
      return inner;
    }
    const left = tokens[pos++];
    const op = tokens[pos++];
    const right = tokens[pos++];
    if (!left || !op || !right) return fail('incomplete comparison');
    if (op.t !== 'op') return fail('expected a comparison operator');
    if ((left.t !== 'name' && left.t !== 'str') || (right.t !== 'name' && right.t !== 'str')) {
      return fail('expected a marker name or a quoted string');
    }
    return comparison(left, op.v, right);
  };

  const result = parseOr();
  if (pos < tokens.length) fail('unexpected text after the expression');
  return result ?? TRUE_ID;
}

const REVERSED_OPERATOR: Readonly<Record<string, string>> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
  '==': '==',
  '!=': '!=',
  '===': '===',
  '~=': '~=',
  in: 'contains',
  'not in': 'not contains',
};

/** One `<name> <op> '<value>'` comparison (either side may be the marker name). */
function comparison(
  left: { t: 'name' | 'str'; v: string },
  operator: string,
  right: { t: 'name' | 'str'; v: string },
): NodeId | null {
  let name: string;
  let value: string;
  let op = operator;
  if (left.t === 'name' && right.t === 'str') {
    name = left.v;
    value = right.v;
  } else if (left.t === 'str' && right.t === 'name') {
    name = right.v;
    value = left.v;
    op = REVERSED_OPERATOR[operator] ?? operator;
  } else {
    return null; // comparing two names or two literals means nothing
  }

  if (name === 'extra') return extraComparison(op, value);
  if (name === 'python_version' || name === 'python_full_version' || name === 'implementation_version') {
    return versionComparison(name, op, value);
  }
  const key = STRING_KEYS[name];
  if (!key) throw new UvLockError(`invalid marker: unknown marker name "${name}"`);
  return stringComparison(key, op, value);
}

function extraComparison(op: string, value: string): NodeId | null {
  if (op !== '==' && op !== '!=') return null;
  // A name that is not a valid extra name can never be an enabled extra.
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i.test(value)) return FALSE_ID;
  const variable = { kind: 'extra', name: normalizeName(value) } as const;
  return op === '==' ? DIAGRAMS.boolNode(variable, TRUE_ID, FALSE_ID) : DIAGRAMS.boolNode(variable, FALSE_ID, TRUE_ID);
}

function stringComparison(key: StringKey, op: string, value: string): NodeId | null {
  switch (op) {
    case 'in':
    case 'not in':
    case 'contains':
    case 'not contains': {
      const kind = op.endsWith('contains') ? 'contains' : 'in';
      const positive = !op.startsWith('not');
      return DIAGRAMS.boolNode({ kind, key, value }, positive ? TRUE_ID : FALSE_ID, positive ? FALSE_ID : TRUE_ID);
    }
    case '~=':
    case '===':
      return null;
  }
  const mapped = key === 'platform_system' ? PLATFORM_SYSTEM_TO_SYS_PLATFORM[value] : undefined;
  const variable = { kind: 'string', key: mapped ? 'sys_platform' : key } as const;
  return DIAGRAMS.fromSegments(variable, stringSegments(variable.key, op, mapped ?? value));
}

/**
 * Current marker semantics: `<`/`>` on pure string fields never hold and `<=`/`>=` mean
 * equality; platform_release and platform_version keep lexicographic ordering.
 */
function stringSegments(key: StringKey, op: string, value: string): Segment[] {
  const ordered = key === 'platform_release' || key === 'platform_version';
  switch (op) {
    case '==':
      return [singleton(value)];
    case '!=':
      return complementSegments([singleton(value)]);
    case '<':
      return ordered ? [{ lower: UNBOUNDED, upper: excluded(value) }] : [];
    case '<=':
      return ordered ? [{ lower: UNBOUNDED, upper: included(value) }] : [singleton(value)];
    case '>':
      return ordered ? [{ lower: excluded(value), upper: UNBOUNDED }] : [];
    case '>=':
      return ordered ? [{ lower: included(value), upper: UNBOUNDED }] : [singleton(value)];
  }
  throw new UvLockError(`invalid marker: operator "${op}" on ${key}`);
}

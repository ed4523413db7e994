/**
 * A reader for what a Python module binds at its top level: imports, classes and their bases,
 * functions and simple assignments. It is no Python parser: it splits the text into tokens and
 * logical lines, follows indentation to tell module-level statements from function and class
 * bodies, and reads the few statement forms that bind names. Anything it cannot read with
 * certainty becomes `complex`, so callers can stay on the safe side.
 */

export interface Token {
  kind: 'name' | 'number' | 'string' | 'op';
  text: string;
  /** 1-based. */
  line: number;
  column: number;
}

/** One logical line: the tokens of a statement line, however many physical lines it spans. */
interface LogicalLine {
  /** Width of the indentation (a tab advances to the next multiple of 8, as in Python). */
  indent: number;
  tokens: Token[];
}

/** A dotted name such as `dify_plugin.Tool`, or `complex` for any other expression. */
export type NameRef = string[] | 'complex';

/**
 * A name an expression starts from (`Path` in `Path(__file__).parent`), and what is done to it
 * right away: called, subscripted, or neither.
 */
export interface ExpressionRoot {
  ref: string[];
  use: 'value' | 'call' | 'subscript';
}

/** What the right-hand side of `name = ...` is, as far as binding a class goes. */
export type AssignedValue =
  | { kind: 'name'; ref: string[] }
  | { kind: 'literal' }
  /** Any other expression: its value comes from what its roots are or return. */
  | { kind: 'expression'; roots: ExpressionRoot[] }
  | { kind: 'complex' };

interface At {
  line: number;
  column: number;
  /** Inside an `if`, `try`, `for`, `with`... at module level: it may or may not have run. */
  conditional: boolean;
}

/** A module-level statement that binds (or unbinds) names, in the order they appear. */
export type Binding = At &
  (
    | { type: 'import'; name: string; module: string }
    | { type: 'from'; module: string; name: string; as: string }
    | { type: 'star'; module: string }
    | { type: 'class'; name: string; bases: NameRef[] }
    /** `makesClasses`: the body may build or return a class (so calling it may give one). */
    | { type: 'def'; name: string; makesClasses: boolean }
    | { type: 'assign'; name: string; value: AssignedValue }
    | { type: 'unknown'; name: string }
    | { type: 'del'; name: string }
    /** `globals()`, `exec`, `setattr` at module level: names may appear that no statement shows. */
    | { type: 'dynamic' }
  );

/** Characters Python allows in identifiers (approximately: letters, marks, digits, `_`). */
const NAME = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const NUMBER = /(?:0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)/y;
const STRING_PREFIX = /^(?:[rRuUbBfFtT]|[rR][bBfFtT]|[bBfFtT][rR])$/;
const OPERATORS = [
  '**=', '//=', '>>=', '<<=', '...', '->', ':=', '==', '!=', '<=', '>=', '**', '//', '<<', '>>',
  '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=',
]; // prettier-ignore
const OPENERS = '([{';
const CLOSERS = ')]}';

/**
 * Splits Python source into logical lines. Returns undefined when the text cannot be tokenized
 * (an unterminated string, unbalanced brackets): then nothing about it is certain.
 */
export function logicalLines(text: string): LogicalLine[] | undefined {
  const lines: LogicalLine[] = [];
  let tokens: Token[] = [];
  let indent = 0;
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endLine = () => {
    if (tokens.length > 0) lines.push({ indent, tokens });
    tokens = [];
    atLineStart = true;
  };
  while (i < text.length) {
    if (atLineStart) {
      // Measure the indentation of a new logical line.
      let width = 0;
      while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\f')) {
        width = text[i] === '\t' ? (Math.floor(width / 8) + 1) * 8 : text[i] === '\f' ? 0 : width + 1;
        i++;
      }
      indent = width;
      atLineStart = false;
      continue;
    }
    const c = text[i]!;
    if (c === '\n' || c === '\r') {
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      lineStart = i;
      if (depth === 0) endLine();
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    if (c === '\\' && (text[i + 1] === '\n' || text[i + 1] === '\r')) {
      i += text[i + 1] === '\r' && text[i + 2] === '\n' ? 3 : 2;
      line++;
      lineStart = i;
      continue;
    }
    const column = i - lineStart + 1;
    NAME.lastIndex = i;
    const name = NAME.exec(text);
    // A string literal, with or without a prefix (r, b, f, rb...).
    const quoteAt = name && STRING_PREFIX.test(name[0]) ? i + name[0].length : i;
    if (text[quoteAt] === '"' || text[quoteAt] === "'") {
      const end = stringEnd(text, quoteAt);
      if (end === undefined) return undefined;
      tokens.push({ kind: 'string', text: '', line, column });
      line += countNewlines(text, quoteAt, end.index);
      if (end.lineStart !== undefined) lineStart = end.lineStart;
      i = end.index;
      continue;
    }
    if (name) {
      tokens.push({ kind: 'name', text: name[0], line, column });
      i += name[0].length;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = /[\d.]/.test(c) ? NUMBER.exec(text) : null;
    if (number && number[0] !== '.' && number[0] !== '') {
      tokens.push({ kind: 'number', text: number[0], line, column });
      i += number[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i)) ?? c;
    if (OPENERS.includes(op)) depth++;
    if (CLOSERS.includes(op)) {
      if (depth === 0) return undefined;
      depth--;
    }
    tokens.push({ kind: 'op', text: op, line, column });
    i += op.length;
  }
  if (depth !== 0) return undefined;
  endLine();
  return lines;
}

/** Where the string literal whose quote is at `start` ends (just past its closing quote). */
function stringEnd(text: string, start: number): { index: number; lineStart?: number } | undefined {
  const q = text[start]!;
  const triple = text.startsWith(q + q + q, start);
  let i = start + (triple ? 3 : 1);
  let lineStart: number | undefined;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      // An escaped character never ends the string, in raw strings too.
      if (text[i + 1] === '\r' && text[i + 2] === '\n') i++;
      if (text[i + 1] === '\n' || text[i + 1] === '\r') lineStart = i + 2;
      i += 2;
      continue;
    }
    if (c === '\n' || c === '\r') {
      if (!triple) return undefined;
      lineStart = c === '\r' && text[i + 1] === '\n' ? i + 2 : i + 1;
    }
    if (triple ? text.startsWith(q + q + q, i) : c === q) {
      const index = i + (triple ? 3 : 1);
      return lineStart === undefined ? { index } : { index, lineStart };
    }
    i++;
  }
  return undefined;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) n++;
  }
  return n;
}

/** Statements that open a block (`else`, `case` and friends continue one). */
const COMPOUND = new Set(['if', 'elif', 'else', 'for', 'while', 'try', 'except', 'finally', 'with', 'def', 'class']);
/** Soft keywords that open a block only when the line is `match x:` / `case p:`. */
const SOFT_COMPOUND = new Set(['match', 'case']);
/** Names whose use at module level can bind globals no statement shows (`sys.modules` too). */
const DYNAMIC = new Set(['globals', 'exec', 'setattr', 'vars', '__dict__']);

/**
 * What a module binds at its top level, statement by statement; undefined when its text cannot be
 * tokenized. Bindings inside functions and class bodies are not module attributes and are skipped.
 */
export function moduleBindings(text: string): Binding[] | undefined {
  const lines = logicalLines(text);
  if (!lines) return undefined;
  const out: Binding[] = [];
  // Open blocks: their indentation, whether they are a scope of their own (def, class), and for
  // a module-level function its binding, to note what its body does.
  const blocks: { indent: number; scope: boolean; fn?: Binding & { type: 'def' } }[] = [];
  for (const { indent, tokens } of lines) {
    while (blocks.length > 0 && blocks[blocks.length - 1]!.indent >= indent) blocks.pop();
    const scope = blocks.find((b) => b.scope);
    if (scope) {
      if (scope.fn && !scope.fn.makesClasses) scope.fn.makesClasses = makesClasses(tokens);
      continue;
    }
    const conditional = blocks.length > 0;
    let rest = tokens;
    // `async def`, `async with`, `async for` read as their plain forms.
    if (rest[0]?.text === 'async' && rest.length > 1) rest = rest.slice(1);
    const first = rest[0]!;
    if (first.kind === 'op' && first.text === '@') continue; // a decorator: the def or class follows
    const compound =
      first.kind === 'name' &&
      (COMPOUND.has(first.text) || (SOFT_COMPOUND.has(first.text) && rest[rest.length - 1]?.text === ':'));
    if (!compound) {
      for (const stmt of splitStatements(rest)) simpleStatement(stmt, conditional, out);
      continue;
    }
    const colon = headerColon(rest);
    const header = colon < 0 ? rest : rest.slice(0, colon);
    const body = colon < 0 ? [] : rest.slice(colon + 1);
    const opensScope = first.text === 'def' || first.text === 'class';
    const binding = headerBindings(header, conditional, out);
    const fn = binding?.type === 'def' ? binding : undefined;
    if (fn && body.length > 0) fn.makesClasses = makesClasses(body);
    if (body.length === 0) blocks.push({ indent, scope: opensScope, ...(fn ? { fn } : {}) });
    else if (!opensScope) for (const stmt of splitStatements(body)) simpleStatement(stmt, true, out);
  }
  return out;
}

/** The index of the `:` that ends a compound statement's header (outside brackets and lambdas). */
function headerColon(tokens: Token[]): number {
  let depth = 0;
  let lambdas = 0;
  for (const [i, t] of tokens.entries()) {
    if (t.kind === 'op' && OPENERS.includes(t.text)) depth++;
    else if (t.kind === 'op' && CLOSERS.includes(t.text)) depth--;
    else if (depth === 0 && t.kind === 'name' && t.text === 'lambda') lambdas++;
    else if (depth === 0 && t.kind === 'op' && t.text === ':') {
      if (lambdas === 0) return i;
      lambdas--;
    }
  }
  return -1;
}

/** Splits tokens at top-level occurrences of an operator. */
function splitAt(tokens: Token[], op: string): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && OPENERS.includes(t.text)) depth++;
    if (t.kind === 'op' && CLOSERS.includes(t.text)) depth--;
    if (depth === 0 && t.kind === 'op' && t.text === op) parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  return parts;
}

/**
 * The tokens from `start` up to the next `op` outside brackets: what `splitAt(tokens.slice(start),
 * op)[0]` gives, without copying and scanning the rest of a long line each time.
 */
function untilTopLevel(tokens: Token[], start: number, op: string): Token[] {
  let depth = 0;
  let end = start;
  for (; end < tokens.length; end++) {
    const t = tokens[end]!;
    if (t.kind !== 'op') continue;
    if (OPENERS.includes(t.text)) depth++;
    else if (CLOSERS.includes(t.text)) depth--;
    else if (depth === 0 && t.text === op) break;
  }
  return tokens.slice(start, end);
}

function splitStatements(tokens: Token[]): Token[][] {
  return splitAt(tokens, ';').filter((s) => s.length > 0);
}

const at = (t: Token, conditional: boolean): At => ({ line: t.line, column: t.column, conditional });

/**
 * The names a compound statement's header binds: `class`, `def`, and `for`/`with` targets (the
 * name of `except E as e` is deleted when the clause ends). Returns a class or def binding.
 */
function headerBindings(header: Token[], conditional: boolean, out: Binding[]): Binding | undefined {
  const [kw, name] = header;
  if (!kw || !name) return undefined;
  if (kw.text === 'class' && name.kind === 'name') {
    out.push({ type: 'class', name: name.text, bases: classBases(header.slice(2)), ...at(kw, conditional) });
    return out[out.length - 1];
  }
  if (kw.text === 'def' && name.kind === 'name') {
    out.push({ type: 'def', name: name.text, makesClasses: false, ...at(kw, conditional) });
    return out[out.length - 1];
  }
  dynamicUse(header, conditional, out);
  if (kw.text === 'except') return undefined;
  // Loop variables, `as` targets and capture patterns: bound, to something unknown.
  const names: Token[] = [];
  if (kw.text === 'for') {
    const end = header.findIndex((t) => t.kind === 'name' && t.text === 'in');
    names.push(...header.slice(1, end < 0 ? header.length : end).filter((t) => t.kind === 'name'));
  } else if (kw.text === 'case') {
    names.push(...header.slice(1).filter((t) => t.kind === 'name'));
  } else {
    for (const [i, t] of header.entries()) {
      if (t.kind === 'name' && t.text === 'as' && header[i + 1]?.kind === 'name') names.push(header[i + 1]!);
    }
  }
  for (const n of names) out.push({ type: 'unknown', name: n.text, ...at(n, true) });
  return undefined;
}

/** Builtins that can produce a class object. */
export const CLASS_MAKERS = new Set([
  'type',
  'getattr',
  'vars',
  'globals',
  'locals',
  'eval',
  'exec',
  '__import__',
  'super',
]);

/**
 * Whether a line of a function body may build or return a class: a `class` statement, a call of
 * type() and friends, or a `return` of anything but a literal or a call's result.
 */
function makesClasses(tokens: Token[]): boolean {
  for (const [i, t] of tokens.entries()) {
    if (t.kind !== 'name') continue;
    if (t.text === 'class' || t.text === 'import_module' || t.text === 'new_class') return true;
    if (CLASS_MAKERS.has(t.text) && tokens[i + 1]?.text === '(') return true;
    if (t.text === 'return') {
      const value = untilTopLevel(tokens, i + 1, ';');
      const kind = value.length === 0 ? 'literal' : assignedValue(value).kind;
      const call = kind === 'expression' && isCall(value);
      if (kind !== 'literal' && !call) return true;
    }
  }
  return false;
}

/** `a.b(...)`: a dotted name called, and nothing after the call. */
function isCall(tokens: Token[]): boolean {
  const open = tokens.findIndex((t) => t.text === '(');
  return open > 0 && dottedName(tokens.slice(0, open)) !== undefined && matching(tokens, open) === tokens.length - 1;
}

/** The bases of `class Name(...)`: keyword arguments (metaclass=...) are not bases. */
function classBases(tokens: Token[]): NameRef[] {
  if (tokens[0]?.text === '[') {
    // PEP 695 type parameters: `class Name[T](Base)`.
    const close = matching(tokens, 0);
    if (close < 0) return ['complex'];
    tokens = tokens.slice(close + 1);
  }
  if (tokens.length === 0) return [];
  if (tokens[0]!.text !== '(' || matching(tokens, 0) !== tokens.length - 1) return ['complex'];
  const inner = tokens.slice(1, -1);
  if (inner.length === 0) return [];
  return splitAt(inner, ',')
    .filter((part) => part.length > 0)
    .filter((part) => !(part[0]!.kind === 'name' && part[1]?.text === '='))
    .map((part) => {
      if (part[0]!.text === '*' || part[0]!.text === '**') return 'complex';
      return dottedName(part, true) ?? 'complex';
    });
}

/** The index of the bracket closing the one at `open`. */
function matching(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.kind !== 'op') continue;
    if (OPENERS.includes(tokens[i]!.text)) depth++;
    if (CLOSERS.includes(tokens[i]!.text) && --depth === 0) return i;
  }
  return -1;
}

/**
 * `a.b.c` when the tokens are exactly a dotted name; with `subscript`, a trailing `[...]` is
 * allowed (`Generic[T]` names the class `Generic`).
 */
function dottedName(tokens: Token[], subscript = false): string[] | undefined {
  const names: string[] = [];
  let i = 0;
  for (;;) {
    const t = tokens[i];
    if (t?.kind !== 'name' || KEYWORDS.has(t.text)) return undefined;
    names.push(t.text);
    i++;
    if (tokens[i]?.text !== '.') break;
    i++;
  }
  if (i === tokens.length) return names;
  if (subscript && tokens[i]!.text === '[' && matching(tokens, i) === tokens.length - 1) return names;
  return undefined;
}

const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del',
  'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal',
  'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]); // prettier-ignore

/** A simple statement at module level: import, assignment, `del`, `type X = ...`. */
function simpleStatement(tokens: Token[], conditional: boolean, out: Binding[]): void {
  const first = tokens[0]!;
  if (first.kind === 'name' && first.text === 'import') {
    for (const part of splitAt(tokens.slice(1), ',')) {
      const asAt = part.findIndex((t) => t.text === 'as');
      const module = dottedName(asAt < 0 ? part : part.slice(0, asAt));
      if (!module) continue;
      const alias = asAt < 0 ? undefined : part[asAt + 1]?.text;
      // `import a.b` binds `a`; `import a.b as x` binds `x` to `a.b`.
      out.push({
        type: 'import',
        name: alias ?? module[0]!,
        module: alias ? module.join('.') : module[0]!,
        ...at(part[0]!, conditional),
      });
    }
    return;
  }
  if (first.kind === 'name' && first.text === 'from') {
    fromImport(tokens, conditional, out);
    return;
  }
  dynamicUse(tokens, conditional, out);
  if (first.kind === 'name' && first.text === 'del') {
    for (const part of splitAt(tokens.slice(1), ',')) {
      if (part.length === 1 && part[0]!.kind === 'name')
        out.push({ type: 'del', name: part[0]!.text, ...at(first, conditional) });
    }
    return;
  }
  if (first.kind === 'name' && first.text === 'type' && tokens[1]?.kind === 'name' && tokens.length > 2) {
    // `type Alias = ...` (PEP 695) binds a TypeAliasType, never a class.
    if (tokens[2]!.text === '=' || tokens[2]!.text === '[') {
      out.push({ type: 'assign', name: tokens[1]!.text, value: { kind: 'literal' }, ...at(first, conditional) });
      return;
    }
  }
  const parts = splitAt(tokens, '=');
  if (parts.length < 2) {
    // `x += 1` and `x: int` rebind or annotate; treat the name as unknown from then on.
    const aug = tokens.findIndex(
      (t) =>
        t.kind === 'op' &&
        t.text.length >= 2 &&
        t.text.endsWith('=') &&
        !['==', '!=', '<=', '>=', ':='].includes(t.text),
    );
    if (aug === 1 && first.kind === 'name') out.push({ type: 'unknown', name: first.text, ...at(first, conditional) });
    return;
  }
  const value = assignedValue(parts[parts.length - 1]!);
  for (const target of parts.slice(0, -1)) {
    // `x: T = v` annotates the target.
    const annotated = splitAt(target, ':')[0]!;
    if (annotated.length === 1 && annotated[0]!.kind === 'name') {
      out.push({ type: 'assign', name: annotated[0]!.text, value, ...at(annotated[0]!, conditional) });
      continue;
    }
    // Unpacking binds each name to something unknown; `a.b = ...` and `a[i] = ...` bind nothing here.
    if (annotated.some((t) => t.text === '.' || t.text === '[')) {
      if (annotated[0]!.text !== '(' && annotated[0]!.text !== '[') continue;
    }
    for (const t of annotated)
      if (t.kind === 'name' && !KEYWORDS.has(t.text))
        out.push({ type: 'unknown', name: t.text, ...at(t, conditional) });
  }
}

function fromImport(tokens: Token[], conditional: boolean, out: Binding[]): void {
  const importAt = tokens.findIndex((t) => t.kind === 'name' && t.text === 'import');
  if (importAt < 2) return;
  // The module: leading dots (relative import, `...` is one token of three dots), then a dotted name.
  let module = '';
  let i = 1;
  for (; i < importAt && (tokens[i]!.text === '.' || tokens[i]!.text === '...'); i++) module += tokens[i]!.text;
  if (i < importAt) {
    const name = dottedName(tokens.slice(i, importAt));
    if (!name) return;
    module += name.join('.');
  }
  let names = tokens.slice(importAt + 1);
  if (names[0]?.text === '(' && names[names.length - 1]?.text === ')') names = names.slice(1, -1);
  if (names.length === 1 && names[0]!.text === '*') {
    out.push({ type: 'star', module, ...at(tokens[0]!, conditional) });
    return;
  }
  for (const part of splitAt(names, ',')) {
    const [name, as, alias] = part;
    if (name?.kind !== 'name') continue;
    const bound = as?.text === 'as' && alias?.kind === 'name' ? alias.text : name.text;
    out.push({ type: 'from', module, name: name.text, as: bound, ...at(part[0]!, conditional) });
  }
}

/** Records a use of `globals()`, `exec`, `setattr`... at module level. */
function dynamicUse(tokens: Token[], conditional: boolean, out: Binding[]): void {
  const t = tokens.find(
    (t, i) => t.kind === 'name' && (DYNAMIC.has(t.text) || (t.text === 'modules' && tokens[i - 1]?.text === '.')),
  );
  if (t) out.push({ type: 'dynamic', ...at(t, conditional) });
}

/** What `name = <tokens>` binds `name` to, as far as classes go. */
function assignedValue(tokens: Token[]): AssignedValue {
  const first = tokens[0];
  if (!first) return { kind: 'complex' };
  const ref = dottedName(tokens);
  if (ref) return { kind: 'name', ref };
  // A string (implicitly concatenated or not), a number, None, a lambda.
  if (tokens.every((t) => t.kind === 'string')) return { kind: 'literal' };
  if (tokens.length === 1 && (first.kind === 'number' || ['None', 'True', 'False'].includes(first.text)))
    return { kind: 'literal' };
  if (first.kind === 'name' && first.text === 'lambda') return { kind: 'literal' };
  if (first.kind === 'op' && first.text === '-' && tokens[1]?.kind === 'number' && tokens.length === 2)
    return { kind: 'literal' };
  // A list, dict, set or tuple display (or comprehension) is never a class.
  if (first.kind === 'op' && OPENERS.includes(first.text) && matching(tokens, 0) === tokens.length - 1) {
    const inner = tokens.slice(1, -1);
    if (first.text !== '(' || inner.length === 0 || splitAt(inner, ',').length > 1) return { kind: 'literal' };
  }
  if (tokens.some((t) => t.kind === 'name' && (t.text === 'yield' || t.text === 'await'))) return { kind: 'complex' };
  return { kind: 'expression', roots: expressionRoots(tokens) };
}

/** Words that join or start expressions; a name after one of them starts a new root. */
const EXPRESSION_WORDS = new Set(['if', 'else', 'and', 'or', 'not', 'in', 'is', 'lambda', 'for', 'async']);

/** The names an expression starts from: each dotted name not read as an attribute of another. */
function expressionRoots(tokens: Token[]): ExpressionRoot[] {
  const roots: ExpressionRoot[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'name' || KEYWORDS.has(t.text) || EXPRESSION_WORDS.has(t.text)) continue;
    const before = tokens[i - 1];
    // An attribute (`x.name`), or a keyword argument's name (`f(name=...)`).
    if (before?.text === '.' || (tokens[i + 1]?.text === '=' && (before?.text === '(' || before?.text === ',')))
      continue;
    const ref = [t.text];
    while (tokens[i + 1]?.text === '.' && tokens[i + 2]?.kind === 'name') {
      ref.push(tokens[i + 2]!.text);
      i += 2;
    }
    const next = tokens[i + 1]?.text;
    roots.push({ ref, use: next === '(' ? 'call' : next === '[' ? 'subscript' : 'value' });
  }
  return roots;
}

/**
 * Go's `path/filepath.Match` semantics, which the daemon uses for model `predefined` globs:
 * `*` matches any run of characters except `/`, `?` one character except `/`, `[...]` a class
 * (`^` negates, ranges with `-`), and `\` escapes the next character. `**` is just two stars.
 */
export function goGlobToRegExp(pattern: string): RegExp | null {
  let out = '^';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === '*') {
      out += '[^/]*';
      i++;
    } else if (ch === '?') {
      out += '[^/]';
      i++;
    } else if (ch === '[') {
      const end = classEnd(pattern, i + 1);
      if (end < 0) return null; // Go reports ErrBadPattern
      let body = pattern.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      if (body === '') return null;
      out += `[${negate ? '^/' : ''}${escapeClass(body)}]`;
      i = end + 1;
    } else if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return null;
      out += escapeLiteral(next);
      i += 2;
    } else {
      out += escapeLiteral(ch);
      i++;
    }
  }
  return new RegExp(out + '$', 'u');
}

function classEnd(pattern: string, from: number): number {
  for (let j = from; j < pattern.length; j++) {
    if (pattern[j] === '\\') j++;
    else if (pattern[j] === ']' && j > from) return j;
  }
  return -1;
}

function escapeClass(body: string): string {
  let out = '';
  for (let j = 0; j < body.length; j++) {
    const c = body[j]!;
    if (c === '\\' && j + 1 < body.length) {
      out += '\\' + body[++j];
    } else if (c === ']' || c === '[' || c === '^') {
      out += '\\' + c;
    } else {
      out += c;
    }
  }
  return out;
}

function escapeLiteral(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? '\\' + ch : ch;
}

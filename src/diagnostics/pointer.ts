/** One step into a parsed document: a mapping key or a list index. */
export type PathSegment = string | number;

/** `/a/b/0` from segments, escaping `~` and `/` as RFC 6901 says. */
export function toPointer(segments: readonly PathSegment[]): string {
  return segments.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

export function fromPointer(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

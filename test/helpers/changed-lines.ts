/**
 * Lines of `after` that differ from `before`, as 1-based line numbers of `before`: the first
 * changed line and the last one (inclusive), or null when the texts are equal. Lines outside that
 * range are byte-for-byte the same in both.
 */
export function changedLines(
  before: string,
  after: string,
): { first: number; lastBefore: number; lastAfter: number } | null {
  if (before === after) return null;
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { first: head + 1, lastBefore: a.length - tail, lastAfter: b.length - tail };
}

/** Byte-wise (UTF-8) order, which is what Go's string comparison gives, and code-point order too. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

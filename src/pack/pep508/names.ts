/** PEP 503 normalization, which uv applies to package, extra and group names. */
export function normalizeName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
}

/** The closest candidate to a misspelt word, if one is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate.toLowerCase() === lower) return candidate;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // One edit per three characters, at least one and at most three.
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

/** Damerau-Levenshtein distance (optimal string alignment): swaps count as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The file most likely meant by a path that does not exist, among `paths` (all relative to the
 * plugin root, `/`-separated): the same path in other letter case (`Tools/x.yaml`), a misspelt
 * name in the same directory (`tools/gret.yaml`), the same name with another extension
 * (`icon.png` for `icon.svg`), or the same file name in another directory (`provider/x.yaml` for
 * `tools/x.yaml`). Undefined when nothing is close.
 */
export function closestPath(wanted: string, paths: Iterable<string>): string | undefined {
  const all = [...paths];
  const lower = wanted.toLowerCase();
  const exact = all.find((p) => p.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  const [dir, name] = splitPath(lower);
  const [stem, extension] = splitName(name);
  const siblings = all.filter((p) => splitPath(p.toLowerCase())[0] === dir);
  // Misspellings are judged on the name without its extension, so that `ab.yaml` is not taken
  // for `cd.yaml` because the extension makes the names long.
  const sameExtension = new Map<string, string>();
  for (const p of siblings) {
    const [s, ext] = splitName(splitPath(p)[1]);
    if (ext.toLowerCase() === extension) sameExtension.set(s, p);
  }
  const misspelt = didYouMean(stem, sameExtension.keys());
  if (misspelt !== undefined) return sameExtension.get(misspelt);
  const otherExtension = siblings.find((p) => splitName(splitPath(p.toLowerCase())[1])[0] === stem);
  if (otherExtension !== undefined) return otherExtension;
  const sameName = all.filter((p) => splitPath(p.toLowerCase())[1] === name);
  return sameName.length > 1 ? didYouMean(wanted, sameName) : sameName[0];
}

function splitPath(p: string): [dir: string, name: string] {
  const slash = p.lastIndexOf('/');
  return [p.slice(0, slash + 1), p.slice(slash + 1)];
}

/** `icon.svg` → [`icon`, `.svg`]; a leading dot starts no extension (`.env`). */
function splitName(name: string): [stem: string, extension: string] {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
}

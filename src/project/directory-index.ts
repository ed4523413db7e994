/**
 * The directories that a list of file paths implies ("a/b/c.py" implies "a" and "a/b"), asked
 * one at a time. Listing every prefix of every path costs the square of a path's depth, which a
 * hostile package (entry names thousands of levels deep) turns into gigabytes and minutes; a
 * sorted copy answers each question by binary search instead, in time and memory linear in the
 * paths. (Paths below a directory are contiguous in any lexicographic order, which `sort()` and
 * `<` agree on.)
 */
export class DirectoryIndex {
  private readonly sorted: string[];

  constructor(paths: Iterable<string>) {
    this.sorted = [...paths].sort();
  }

  /** Whether some path lies below `dir`. */
  has(dir: string): boolean {
    const key = `${dir}/`;
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.sorted.length && this.sorted[lo]!.startsWith(key);
  }
}

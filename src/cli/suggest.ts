/** "Did you mean ...?": the closest known name to a misspelt one, as git and npm suggest. */

/** Edit distance with transpositions (Damerau–Levenshtein, optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `word` most likely meant: the nearest within a third of its length (at least
 * one edit, at most three), or the only candidate it is a prefix of; undefined when none is close.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (w === '') return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  for (const c of candidates) {
    const dist = editDistance(w, c);
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  if (best !== undefined && bestD <= limit) return best;
  const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(w));
  return w.length >= 2 && prefixed.length === 1 ? prefixed[0] : undefined;
}

/** "; did you mean X?" or "" — to append to a message about `word`. */
export function didYouMean(word: string, candidates: readonly string[], show: (c: string) => string = (c) => c): string {
  const c = closest(word, candidates);
  return c !== undefined && c !== word ? `; did you mean ${show(c)}?` : '';
}

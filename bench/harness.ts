/** A small benchmark harness: best-of-N timing and a side-by-side table with ratios. */

/** One measured figure. */
export interface Figure {
  name: string;
  /** Value per backend/system, e.g. { native: 3.1, js: 25.0, linux: 800 }. */
  values: Record<string, number | undefined>;
  unit: string;
  /** Printed after the table row (targets, notes). */
  note?: string;
}

/** Runs `fn` (which performs `ops` operations) `rounds` times after a warm-up; returns the best ns per operation. */
export function nsPerOp(fn: () => void, ops: number, rounds = 5): number {
  fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const t1 = process.hrtime.bigint();
    best = Math.min(best, Number(t1 - t0) / ops);
  }
  return best;
}

/** Formats a number with 3 significant digits. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (v >= 1000) return v.toFixed(0);
  if (v >= 100) return v.toFixed(1);
  return v.toPrecision(3);
}

/**
 * How `b` compares with `a` in words that carry the direction: "8.0x slower" / "2.5x faster"
 * for times and rates (a unit ending in '/s' is a rate, higher is better), "3.0x more" / "less"
 * for amounts; "same" within 5%.
 */
export function compare(a: number | undefined, b: number | undefined, unit: string): string {
  if (a === undefined || b === undefined || !(a > 0) || !(b > 0)) return 'n/a';
  const rate = unit.endsWith('/s');
  const time = /^(ns|us|µs|ms|s)(\/|$)/.test(unit);
  const r = b / a;
  if (Math.abs(r - 1) < 0.05) return 'same';
  const times = `${(r >= 1 ? r : 1 / r).toFixed(1)}x`;
  if (time) return `${times} ${r > 1 ? 'slower' : 'faster'}`;
  if (rate) return `${times} ${r > 1 ? 'faster' : 'slower'}`;
  return `${times} ${r > 1 ? 'more' : 'less'}`;
}

/** Prints figures as a table: one column per system, and for each pair [a, b] a column "b vs a" ("8.0x slower"). */
export function printTable(title: string, columns: string[], figures: Figure[], ratios: [string, string][]): void {
  const header = ['benchmark', ...columns.map((c) => c), 'unit', ...ratios.map(([a, b]) => `${b} vs ${a}`)];
  const rows = figures.map((f) => [f.name, ...columns.map((c) => fmt(f.values[c])), f.unit, ...ratios.map(([a, b]) => compare(f.values[a], f.values[b], f.unit))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n## ${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (let i = 0; i < rows.length; i++) {
    console.log(line(rows[i]!));
    if (figures[i]!.note) console.log(`    ${figures[i]!.note}`);
  }
}

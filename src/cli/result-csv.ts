/** A replay result as one flat CSV row whose column names are stable per level: tlb.levels.l1d.misses, not levels.0.misses. */
import type { ReplayResult } from '../replay/replay-result.js';
import { flattenObject, type FlatValue } from '../report/index.js';

/** The result without the listed SIGSEGVs and the time series (their own tables), levels keyed by name. */
export function flatResult(r: ReplayResult, prefix: Record<string, unknown> = {}): Record<string, FlatValue> {
  const { segfaults: _s, series: _t, ...rest } = r;
  const levels = Object.fromEntries(r.tlb.levels.map(({ name, ...l }) => [name, l]));
  return flattenObject({ ...prefix, ...rest, tlb: { ...rest.tlb, levels } });
}

/** The time series as CSV rows (accesses, then each rate: the hierarchy's levels, or the one TLB's). */
export function seriesRows(r: ReplayResult): { header: string[]; rows: number[][] } {
  const pts = r.series?.points ?? [];
  const header = r.tlb.hierarchy ? ['accesses', 'l1iMissRate', 'l1dMissRate', 'stlbMissRate', 'missesPerAccess'] : ['accesses', 'tlbMissRate', 'missesPerAccess'];
  return { header, rows: pts.map((p) => header.map((h) => (p as Record<string, number | undefined>)[h] ?? 0)) };
}

/** The human-readable report of one replay. */
import type { ReplayResult } from '../replay/replay-result.js';
import { formatBytes, formatCount, formatDuration, formatRate, formatTable } from '../report/index.js';
import { formatProgramSummary } from './program-summary.js';

/** A few aligned tables: the trace, the accesses, the TLB levels, walks, faults and memory. */
export function formatReplaySummary(r: ReplayResult): string {
  const out: string[] = [];
  const t = r.trace;
  out.push(`trace ${t.source} (${t.format}${t.compression && t.compression !== 'none' ? `, ${t.compression}` : t.gzip ? ', gzip' : ''}): ${formatCount(t.records)} records${t.skipped ? `, ${formatCount(t.skipped)} malformed skipped` : ''}`);
  if (r.from) out.push(`continued from snapshot ${r.from.snapshot} (its TLBs ${r.from.tlbs === 'kept' ? 'kept' : 'emptied: another geometry'}; the counts are this trace's)`);
  out.push(`replayed in ${formatDuration(r.timeMs)} on the ${r.backend} core (${r.nsPerAccess.toFixed(1)} ns per access)${r.window ? '' : '\n'}`);
  if (r.window) out.push(`counted: ${formatCount(r.window.simulate)} ${r.window.unit} after ${r.window.skipped !== undefined ? `${formatCount(r.window.skipped)} skipped (read, not replayed) and ` : ''}a warm-up of ${formatCount(r.window.warmup)} (uncounted; pages touched and frames used are the whole run's)\n`);
  out.push(
    formatTable(
      [
        ['instruction fetches', formatCount(r.byKind.instructions)],
        ['loads', formatCount(r.byKind.loads)],
        ['stores', formatCount(r.byKind.stores)],
        ['modifies', formatCount(r.byKind.modifies)],
        ['total', formatCount(r.accesses)],
        ['crossing a page', formatCount(r.pageCrossing)],
      ],
      { header: ['accesses', 'count'], align: ['left', 'right'] },
    ),
  );
  const h = r.tlb.hierarchy;
  const tlbRows = r.tlb.levels.filter((l) => l.level !== 'pwc');
  // The hierarchy's rows add the page sizes and policy of each array.
  const extra = (l: (typeof tlbRows)[number]) => (h ? [l.pageSize ?? '', l.policy ?? 'lru'] : []);
  const levels = tlbRows.map((l) => [l.name, `${l.entries}`, l.ways === l.entries ? 'full' : `${l.ways}-way`, ...extra(l), formatCount(l.hits), formatCount(l.misses), formatRate(l.misses, l.hits + l.misses)]);
  levels.push(['all levels', '', '', ...(h ? ['', ''] : []), formatCount(r.tlb.hits), formatCount(r.tlb.misses), formatRate(r.tlb.misses, r.tlb.lookups)]);
  if (h) out.push(`TLB${h.cpu ? ` (preset ${h.cpu})` : ''}: a level's misses are counted at the array holding the page's size`);
  out.push(
    formatTable(levels, {
      header: ['TLB', 'entries', 'assoc', ...(h ? ['pages', 'policy'] : []), 'hits', 'misses', 'miss rate'],
      align: ['left', 'right', 'right', ...(h ? (['left', 'left'] as const) : []), 'right', 'right', 'right'],
    }),
  );
  if (h) {
    const mp = (v: number | undefined) => (v === undefined ? '' : v.toFixed(3));
    const lv = (name: string, l: { present: boolean; lookups: number; misses: number }, mpki?: number) => [name, formatCount(l.lookups), formatCount(l.misses), formatRate(l.misses, l.lookups), mp(mpki)];
    const rows = [];
    if (h.l1i.present) rows.push(lv('L1 instruction', h.l1i, h.mpki?.l1i));
    if (h.l1d.present) rows.push(lv('L1 data', h.l1d, h.mpki?.l1d));
    if (h.stlb.present) {
      rows.push(lv('second level', h.stlb, h.mpki?.stlb));
      if (!h.l2i.present) rows.push(lv('  fetches', { present: true, lookups: h.stlb.byKind.instruction.hits + h.stlb.byKind.instruction.misses, misses: h.stlb.byKind.instruction.misses }));
      rows.push(lv('  data', { present: true, lookups: h.stlb.byKind.data.hits + h.stlb.byKind.data.misses, misses: h.stlb.byKind.data.misses }));
    }
    if (h.l2i.present) rows.push(lv('L2 instruction', h.l2i, h.mpki?.l2i));
    out.push(formatTable(rows, { header: ['TLB level', 'lookups', 'misses', 'miss rate', 'MPKI'], align: ['left', 'right', 'right', 'right', 'right'] }));
  }
  if (r.pwc || h) {
    const pwcRows = r.tlb.levels.filter((l) => l.level === 'pwc').map((l) => [l.name, `${l.entries}`, l.ways === l.entries ? 'full' : `${l.ways}-way`, formatCount(l.hits), formatCount(l.misses), formatRate(l.misses, l.hits + l.misses)]);
    if (pwcRows.length) out.push(formatTable(pwcRows, { header: ['walk cache', 'entries', 'assoc', 'hits', 'misses', 'miss rate'], align: ['left', 'right', 'right', 'right', 'right', 'right'] }));
  }
  if (h) {
    const w = h.walkReferences;
    out.push(`page walks: ${formatCount(h.walks.instruction)} for fetches, ${formatCount(h.walks.data)} for data (${formatCount(h.walks.faulting)} faulted, ${formatCount(h.walks.assists)} assists); memory references ${formatCount(w.total)} (${w.perWalk.toFixed(2)} per walk): PML4E ${formatCount(w.pml4e)}, PDPTE ${formatCount(w.pdpte)}, PDE ${formatCount(w.pde)}, PTE ${formatCount(w.pte)}`);
    const c = h.cost;
    out.push(`translation cost: ${formatCount(c.translationCycles)} cycles (${c.cyclesPerAccess.toFixed(3)} per access), ${c.averageMissCycles.toFixed(1)} per second-level lookup, ${c.averageWalkCycles.toFixed(1)} per walk\n`);
  }
  out.push(
    formatTable(
      [
        ['page walks', formatCount(r.walks)],
        // Split by what each fault did (the page-ins are what curve and textbooks count as faults), then as Linux counts them.
        ['page faults', formatCount(r.faults.total)],
        [`  page-ins (curve's "faults")`, formatCount(r.faults.pageIns)],
        ['  writes to zero-page/COW pages', formatCount(r.faults.writeProtect)],
        ['  refused (SIGSEGV)', formatCount(r.faults.segv)],
        ['minor + major (read from swap)', `${formatCount(r.faults.minor)} + ${formatCount(r.faults.major)}`],
        ['copy-on-write faults', formatCount(r.faults.cow)],
        ...(r.resident
          ? ([
              [`resident limit (${r.resident.policy})`, `${formatCount(r.resident.frames)} pages`],
              ['swap in / out (pages)', `${formatCount(r.swap!.in)} / ${formatCount(r.swap!.out)}`],
              ['evictions clean / dirty', `${formatCount(r.evictions!.clean)} / ${formatCount(r.evictions!.dirty)}`],
              ...(r.swap!.zswap ? [['zswap pages, ratio', `${formatCount(r.swap!.zswap.storedPages)}, ${r.swap!.zswap.ratio.toFixed(2)}x`] as [string, string]] : []),
            ] as Array<[string, string]>)
          : []),
        // With 2 MiB pages, where a THP did not fit the pages are 4 KiB: say how many of each.
        r.pageSize === '2m' ? ['pages touched (2 MiB + 4 KiB)', `${formatCount(r.pagesTouchedBySize['2m'])} + ${formatCount(r.pagesTouchedBySize['4k'])}`] : ['pages touched (4k)', formatCount(r.pagesTouched)],
        ['memory touched', formatBytes(r.bytesTouched)],
        ['frames used', `${formatCount(r.framesUsed)} (${formatBytes(r.framesUsed * 4096)})`],
        ['regions', formatCount(r.regions)],
      ],
      { header: ['memory system', 'count'], align: ['left', 'right'] },
    ),
  );
  for (const s of r.segfaults) out.push(`SIGSEGV: ${s.access} at ${s.address} (${s.cause})`);
  if (r.program) out.push('', formatProgramSummary(r.program));
  return out.join('\n').replace(/\n+$/, '') + '\n';
}

/** The human-readable report of one replay. */
import type { ReplayResult } from '../replay/replay-result.js';
import { formatBytes, formatCount, formatDuration, formatRate, formatTable } from '../report/index.js';

/** A few aligned tables: the trace, the accesses, the TLB levels, walks, faults and memory. */
export function formatReplaySummary(r: ReplayResult): string {
  const out: string[] = [];
  const t = r.trace;
  out.push(`trace ${t.source} (${t.format}${t.gzip ? ', gzip' : ''}): ${formatCount(t.records)} records${t.skipped ? `, ${formatCount(t.skipped)} malformed skipped` : ''}`);
  out.push(`replayed in ${formatDuration(r.timeMs)} on the ${r.backend} core (${r.nsPerAccess.toFixed(1)} ns per access)\n`);
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
  const levels = r.tlb.levels.map((l) => [l.name, `${l.entries}`, l.ways === l.entries ? 'full' : `${l.ways}-way`, formatCount(l.hits), formatCount(l.misses), formatRate(l.misses, l.hits + l.misses)]);
  levels.push(['all levels', '', '', formatCount(r.tlb.hits), formatCount(r.tlb.misses), formatRate(r.tlb.misses, r.tlb.lookups)]);
  out.push(formatTable(levels, { header: ['TLB', 'entries', 'assoc', 'hits', 'misses', 'miss rate'], align: ['left', 'right', 'right', 'right', 'right', 'right'] }));
  if (r.pwc) {
    const rows = r.pwc.levels.map((l) => [l.name, `${l.entries}`, formatCount(l.hits), formatCount(l.misses)]);
    out.push(formatTable(rows, { header: ['walk cache', 'entries', 'hits', 'misses'], align: ['left', 'right', 'right', 'right'] }));
    out.push(`page walks: ${formatCount(r.walks)}, ${formatCount(r.pwc.walkReferences)} memory references (${(r.pwc.walkReferences / Math.max(1, r.walks)).toFixed(2)} per walk)\n`);
  }
  out.push(
    formatTable(
      [
        ['page walks', formatCount(r.walks)],
        ['page faults', formatCount(r.faults.total)],
        ['  minor (demand paging)', formatCount(r.faults.minor)],
        ['  copy-on-write', formatCount(r.faults.cow)],
        ['  refused (SIGSEGV)', formatCount(r.faults.segv)],
        ...(r.resident
          ? ([
              ['  major (read from swap)', formatCount(r.faults.major)],
              [`resident limit (${r.resident.policy})`, `${formatCount(r.resident.frames)} pages`],
              ['swap in / out (pages)', `${formatCount(r.swap!.in)} / ${formatCount(r.swap!.out)}`],
              ['evictions clean / dirty', `${formatCount(r.evictions!.clean)} / ${formatCount(r.evictions!.dirty)}`],
              ...(r.swap!.zswap ? [['zswap pages, ratio', `${formatCount(r.swap!.zswap.storedPages)}, ${r.swap!.zswap.ratio.toFixed(2)}x`] as [string, string]] : []),
            ] as Array<[string, string]>)
          : []),
        [`pages touched (${r.pageSize})`, formatCount(r.pagesTouched)],
        ['memory touched', formatBytes(r.bytesTouched)],
        ['frames used', `${formatCount(r.framesUsed)} (${formatBytes(r.framesUsed * 4096)})`],
        ['regions', formatCount(r.regions)],
      ],
      { header: ['memory system', 'count'], align: ['left', 'right'] },
    ),
  );
  for (const s of r.segfaults) out.push(`SIGSEGV: ${s.access} at ${s.address} (${s.cause})`);
  return out.join('\n').replace(/\n+$/, '') + '\n';
}

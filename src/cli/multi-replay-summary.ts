/** The human-readable report of a replay of several traces at once (one process each). */
import type { MultiReplayResult } from '../replay/multi-replay-result.js';
import { formatCount, formatDuration, formatRate, formatTable } from '../report/index.js';

/** Per-process, per-CPU and machine tables. */
export function formatMultiReplaySummary(r: MultiReplayResult): string {
  const out: string[] = [];
  out.push(`${r.processes.length} processes on ${r.cpuCount} CPU${r.cpuCount > 1 ? 's' : ''}, quantum ${formatCount(r.quantum)} accesses; replayed in ${formatDuration(r.timeMs)} on the ${r.backend} core (${r.nsPerAccess.toFixed(1)} ns per access)\n`);
  out.push(
    formatTable(
      r.processes.map((p, i) => [`${i}`, p.trace.source, `${p.cpu}`, formatCount(p.accesses), formatCount(p.tlb.hits), formatCount(p.tlb.misses), formatRate(p.tlb.misses, p.tlb.lookups), formatCount(p.faults.total), formatCount(p.swap?.out ?? 0)]),
      { header: ['process', 'trace', 'cpu', 'accesses', 'TLB hits', 'misses', 'miss rate', 'faults', 'swapped out'], align: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] },
    ),
  );
  out.push(
    formatTable(
      r.cpus.map((c) => [`${c.index}`, formatCount(c.tlb.hits), formatCount(c.tlb.misses), formatCount(c.switchFlushes), formatCount(c.ipisSent), formatCount(c.tlbShootdowns), formatCount(c.flushes.full), formatCount(c.flushes.single)]),
      { header: ['CPU', 'TLB hits', 'misses', 'switch flushes', 'IPIs sent', 'TLB shootdowns', 'full flushes', 'INVLPGs'], align: ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] },
    ),
  );
  const m = r.machine;
  out.push(`machine: ${formatCount(m.accesses)} accesses, TLB miss rate ${formatRate(m.tlb.misses, m.tlb.hits + m.tlb.misses)}, ${formatCount(m.pageFaults)} page faults, ${formatCount(m.framesUsed)} frames used, ${formatCount(m.shootdowns.tlbShootdowns)} TLB shootdowns\n`);
  return out.join('\n');
}

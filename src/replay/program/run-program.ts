/** replay() of a trace with processes (a recorded program, or CloudSuite's address spaces): the machine, the loop, the result. */
import { performance } from 'node:perf_hooks';
import { Counter } from '../../core/constants.js';
import type { TraceChunk } from '../../trace/trace-record.js';
import { checkChunk } from '../page-touches.js';
import { replayMachine } from '../replay-machine.js';
import type { ReplayOptions, ResolvedReplayOptions } from '../replay-options.js';
import type { ReplayResult } from '../replay-result.js';
import { ProgramReplay } from './program-replay.js';
import { MeasureWindow } from '../measure-window.js';

/** True when a trace's first chunk says it is one of processes: it has events other than notes (images, threads, calls). */
export function isProgramChunk(chunk: TraceChunk | undefined): boolean {
  return chunk?.events?.some((e) => e.type !== 'note') === true;
}

/** Replays the chunks of a program trace (`first`, then the rest of `chunks`); returns a replay's totals with `program`. */
export async function runProgram(
  first: TraceChunk,
  rest: AsyncIterator<TraceChunk> | Iterator<TraceChunk>,
  options: ReplayOptions,
  o: ResolvedReplayOptions,
  info: ReplayResult['trace'],
  finishSource: () => void,
): Promise<ReplayResult> {
  const machine = replayMachine(options, o, o.cpus);
  try {
    const framesBefore = machine.core.totalFrames - machine.core.freeFrames();
    const r = new ProgramReplay(machine, o, { strict: o.strict, source: info.source });
    // ChampSim's windows over the whole tree's instructions (CloudSuite's address spaces, a recorded program).
    const window = new MeasureWindow(o.warmup, o.simulate, () => r.resetCounts());
    const t0 = performance.now();
    let chunk: TraceChunk | undefined = first;
    while (chunk) {
      checkChunk(chunk);
      if (window.open) r.run(chunk);
      else for (const piece of window.pieces(chunk)) r.run(piece);
      if (!window.open && window.done) break;
      const n = await rest.next();
      chunk = n.done ? undefined : n.value;
    }
    if (!window.open) window.finish();
    r.finish();
    const timeMs = performance.now() - t0;
    finishSource();
    info.records = r.records;
    const program = r.result();
    const st = machine.stats();
    const c = machine.countersSum();
    const sum = (f: (p: (typeof program.processes)[number]) => number) => program.processes.reduce((n, p) => n + f(p), 0);
    const byKind = { instructions: sum((p) => p.byKind.instructions), loads: sum((p) => p.byKind.loads), stores: sum((p) => p.byKind.stores), modifies: sum((p) => p.byKind.modifies) };
    const accesses = byKind.instructions + byKind.loads + byKind.stores + byKind.modifies;
    const pagesTouched = r.all.reduce((n, p) => n + p.touched.leaves, 0);
    // The TLB of every CPU together: its arrays' hits and misses summed over the CPUs.
    const levels = new Map<string, { hits: number; misses: number }>();
    for (const cpu of program.cpus) for (const l of cpu.levels) {
      const row = levels.get(l.name) ?? { hits: 0, misses: 0 };
      row.hits += l.hits;
      row.misses += l.misses;
      levels.set(l.name, row);
    }
    const tlbRows = [...levels].map(([name, v]) => ({ name, entries: name === 'tlb' ? o.tlb.entries : 0, ways: name === 'tlb' ? o.tlb.ways : 0, hits: v.hits, misses: v.misses, missRate: v.hits + v.misses > 0 ? v.misses / (v.hits + v.misses) : 0 }));
    const result: ReplayResult = {
      trace: info,
      accesses,
      byKind,
      pageCrossing: 0,
      tlb: { lookups: st.tlb.hits + st.tlb.misses, hits: st.tlb.hits, misses: st.tlb.misses, missRate: st.tlb.hits + st.tlb.misses > 0 ? st.tlb.misses / (st.tlb.hits + st.tlb.misses) : 0, retries: st.tlb.retries, levels: tlbRows },
      walks: c[Counter.WALKS]!,
      faults: {
        total: c[Counter.FAULTS]!,
        pageIns: sum((p) => p.faults.pageIns),
        writeProtect: sum((p) => p.faults.writeProtect),
        minor: sum((p) => p.faults.minor),
        major: sum((p) => p.faults.major),
        cow: sum((p) => p.faults.cow),
        segv: sum((p) => p.faults.segv + p.faults.sigbus),
      },
      segfaults: program.processes.flatMap((p) => p.segfaults).slice(0, 10),
      pageSize: o.pageSize,
      pagesTouched,
      pagesTouchedBySize: { '4k': pagesTouched, '2m': 0 },
      bytesTouched: r.all.reduce((n, p) => n + p.touched.pages, 0) * 4096,
      framesUsed: machine.core.totalFrames - machine.core.freeFrames() - framesBefore,
      regions: sum((p) => p.regions),
      backend: machine.core.backend,
      timeMs,
      nsPerAccess: accesses > 0 ? (timeMs * 1e6) / accesses : 0,
      program,
      ...(window.open ? {} : { window: window.result() }),
    };
    return result;
  } finally {
    machine.dispose();
  }
}

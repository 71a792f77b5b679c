/** What a replay of several traces at once reports: one plain, JSON-ready object. */
import type { WindowResult } from './measure-window.js';
import type { CpuStats, TlbStats } from '../machine/cpu.js';
import type { MachineShootdowns } from '../machine/shootdown-stats.js';
import type { FaultCounters } from '../vmm/vm-stats.js';
import type { ReplayResult } from './replay-result.js';

/** One process (one trace) of a multi-program replay: what it did, counted on the CPU it ran on during its quanta. */
export interface ProcessReplayResult {
  trace: ReplayResult['trace'];
  /** The CPU it ran on (process i runs on CPU i mod cpus). */
  cpu: number;
  /** Quanta it ran (each a context switch to it when its CPU had run another process). */
  slices: number;
  accesses: number;
  byKind: ReplayResult['byKind'];
  pageCrossing: number;
  /** Lookups its accesses made in its CPU's TLB (the hierarchy's levels together, when the CPU has one). */
  tlb: { lookups: number; hits: number; misses: number; missRate: number; retries: number };
  walks: number;
  faults: ReplayResult['faults'];
  segfaults: ReplayResult['segfaults'];
  swap?: { in: number; out: number };
  evictions?: { clean: number; dirty: number };
  pagesTouched: number;
  bytesTouched: number;
  regions: number;
  /** ChampSim's windows of this process (its own warm-up and simulation), when asked for: its counts are its simulation's. */
  window?: WindowResult;
}

/** The outcome of replay([a, b, ...], { cpus }). Counts are exact; `timeMs` is the only measured value. */
export interface MultiReplayResult {
  /** One per trace, in the order given. */
  processes: ProcessReplayResult[];
  /** Each CPU's statistics at the end: its TLB (and hierarchy levels), its context-switch flushes and shootdown counters. */
  cpus: CpuStats[];
  /** The machine's totals. */
  machine: {
    accesses: number;
    tlb: TlbStats;
    pageFaults: number;
    faults: FaultCounters;
    shootdowns: MachineShootdowns;
    /** Frames the replay allocated (data pages and page tables of every process). */
    framesUsed: number;
  };
  cpuCount: number;
  quantum: number;
  pageSize: '4k' | '2m';
  backend: 'native' | 'js';
  timeMs: number;
  nsPerAccess: number;
}

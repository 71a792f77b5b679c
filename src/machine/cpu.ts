/**
 * One CPU of the machine: its TLB (the core's per-CPU arrays; optionally a TLB hierarchy), CR3
 * with the address space it holds loaded, its ASIDs, the task it runs, and its counters. What
 * a CPU does when the scheduler switches it (Linux's switch_mm_irqs_off, enter_lazy_tlb) and
 * when a flush reaches it (flush_tlb_func) is the machine's (src/machine/mmu.ts,
 * src/machine/arch-tlb.ts): this class holds the state and the public view of it.
 */
import { Counter, TlbFlag } from '../core/constants.js';
import type { TlbState } from '../core/tlb-state.js';
import { HierStat, SLOT_NAMES, Slot, SlotStat } from '../tlb/layout.js';
import { VmmError } from '../errors.js';
import { strictOptions } from '../strict-options.js';
import { toLinear } from '../address.js';
import type { CpuAsids } from './asids.js';
import type { MmContext } from './mm-context.js';
import { copyShootdownCounters, newShootdownCounters, type ShootdownCounters } from './shootdown-stats.js';

/** TLB statistics of a CPU (or summed over a machine's CPUs). */
export interface TlbStats {
  hits: number;
  /** Misses of the accesses themselves (retries after resolved faults excluded: see `retries`). */
  misses: number;
  /** Accesses re-executed after a resolved page fault (each one more lookup, a miss, and a walk). */
  retries: number;
  walks: number;
  flushes: number;
  invalidations: number;
  evictions: number;
  hitRate: number;
}

/** One TLB array's lookups on a CPU: the single TLB ('tlb'), or each array of its hierarchy. */
export interface TlbLevelCounts {
  name: string;
  hits: number;
  misses: number;
}

/** What cpu.stats() reports: its TLB, its arrays and its shootdown counters. */
export interface CpuStats extends ShootdownCounters {
  index: number;
  tlb: TlbStats;
  levels: TlbLevelCounts[];
}

/** A task a CPU can run (a thread, or an address space as its main thread): what the scheduler needs of it. */
export interface SchedTask {
  /** The CPU it runs on, or undefined. @internal */
  cpu: Cpu | undefined;
  /** Its address space's TLB context. @internal */
  readonly mm: MmContext;
  /** Throws when the task cannot run (exited, destroyed, another machine's). @internal */
  checkRunnable(owner: unknown): void;
}

/** What a CPU asks of its machine. @internal */
export interface CpuHost {
  schedule(cpu: Cpu, task: SchedTask): void;
  idle(cpu: Cpu): void;
  checkLive(): void;
  /** INVLPG / a flush on this CPU's TLB (the public `cpu.tlb` operations). */
  cpuInvlpg(cpu: Cpu, la: number): void;
  cpuFlush(cpu: Cpu, global: boolean): void;
  /** Settles the hierarchy's pending faulted touch (its misses are counted) before stats are read. */
  settleHierarchy(cpu: Cpu): void;
}

/** One CPU. */
export class Cpu {
  /** @internal The task running (undefined: the idle task). */
  task: SchedTask | undefined;
  /** @internal cpu_tlbstate.loaded_mm: the address space CR3 holds (init_mm's context for the idle tables). */
  loaded: MmContext;
  /** @internal cpu_tlbstate.loaded_mm_asid. */
  asid = 0;
  /** @internal TLB tag of CR3: its PCID with PCIDE, else 0 (the JS hit path reads it). */
  tag = 0;
  /** @internal cpu_tlbstate_shared.is_lazy: idle, with the last address space still loaded. */
  lazy = false;
  /** @internal Accesses re-executed after a resolved fault (the core counted each as one more lookup and miss). */
  retries = 0;
  /** @internal KVM: the host flushes this vCPU's whole TLB at its next entry (KVM_VCPU_FLUSH_TLB). */
  hostFlushPending = false;
  /** @internal Shootdown counters. */
  readonly sd: ShootdownCounters = newShootdownCounters();

  /** @internal Built by the machine. */
  constructor(
    /** @internal */ readonly host: CpuHost,
    /** This CPU's number, 0 to cpus - 1. */
    readonly index: number,
    /** @internal The core's TLB arrays of this CPU. */ readonly tlbState: TlbState,
    /** @internal This CPU's core counters. */ readonly counters: Float64Array,
    /** @internal The hierarchy's statistics when the CPU has one. */ readonly hierStats: Float64Array | undefined,
    /** @internal Which slots of the hierarchy exist. */ private readonly hierSlots: readonly boolean[],
    /** @internal Its ASIDs. */ readonly asids: CpuAsids,
    initMm: MmContext,
  ) {
    this.loaded = initMm;
  }

  /** The task it runs (an address space as its main thread, or a Thread), or undefined when idle. */
  get current(): SchedTask | undefined {
    return this.task;
  }

  /** Context-switches this CPU to `task` (the previous task keeps its state and runs nowhere). EBUSY when the task runs on another CPU; a no-op when it runs here. */
  run(task: SchedTask): void {
    this.host.schedule(this, task);
  }

  /** Switches this CPU to the idle task: it keeps the last address space loaded, lazily (Linux's enter_lazy_tlb). */
  idle(): void {
    this.host.checkLive();
    this.host.idle(this);
  }

  /** TLB maintenance on this CPU as the OS would issue it. */
  readonly tlb = cpuTlbControl(this);

  /** The PCID that tags `space`'s entries on this CPU now: its ASID + 1 (Linux's dynamic ASIDs; 0 when it holds none here), its own PCID (asids: 'static'); 0 without PCIDs. */
  pcidOf(space: { readonly mm: MmContext }): number {
    return this.asids.pcidOf(space.mm);
  }

  /** @internal TLB statistics of this CPU. */
  tlbStats(): TlbStats {
    const c = this.counters;
    const st = this.hierStats;
    let hits: number;
    let misses: number;
    if (st) {
      // The hierarchy counts each lookup once (a retry goes straight to the walk): its own figures.
      this.host.settleHierarchy(this);
      hits = 0;
      for (let s = 0; s < Slot.PWC_PML4; s++) hits += st[s * SlotStat.FIELDS + SlotStat.HITS]!;
      misses = st[HierStat.MISSES_ALL]!;
    } else {
      hits = c[Counter.HITS]!;
      misses = c[Counter.MISSES]! - this.retries;
    }
    return {
      hits,
      misses,
      retries: this.retries,
      walks: c[Counter.WALKS]!,
      flushes: c[Counter.FLUSHES]!,
      invalidations: c[Counter.INVLPG]!,
      evictions: c[Counter.EVICTIONS]!,
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
    };
  }

  /** This CPU's statistics: its TLB (and each array of its hierarchy) and its shootdown counters, exact at the moment of the call. */
  stats(): CpuStats {
    this.host.checkLive();
    const tlb = this.tlbStats();
    const levels: TlbLevelCounts[] = [];
    const st = this.hierStats;
    if (st) {
      for (let s = 0; s < Slot.COUNT; s++) {
        const b = s * SlotStat.FIELDS;
        if (this.hierSlots[s]) levels.push({ name: SLOT_NAMES[s]!, hits: st[b + SlotStat.HITS]!, misses: st[b + SlotStat.MISSES]! });
      }
    } else levels.push({ name: 'tlb', hits: tlb.hits, misses: tlb.misses });
    return { index: this.index, tlb, levels, ...copyShootdownCounters(this.sd) };
  }

  /** @internal Resets this CPU's counters (the TLB contents stay). */
  resetStats(): void {
    this.counters.fill(0);
    this.hierStats?.fill(0);
    this.retries = 0;
    Object.assign(this.sd, newShootdownCounters());
  }
}

/** @internal A CPU's `tlb` controls (a function of the CPU, so a restored CPU gets its own: src/snapshot). */
export function cpuTlbControl(cpu: Cpu) {
  return {
    /** INVLPG in the address space this CPU has loaded: drops the entries that translate `va`. */
    invlpg: (va: number | bigint): void => {
      cpu.host.checkLive();
      cpu.host.cpuInvlpg(cpu, toLinear(va));
    },
    /** Flushes every non-global entry (what a CR3 reload without PCIDs does), or every entry with `global`. */
    flush: (options: { global?: boolean } = {}): void => {
      cpu.host.checkLive();
      strictOptions(options, 'options', ['global']);
      if (options.global !== undefined && typeof options.global !== 'boolean') throw new VmmError('EINVAL', `options.global must be a boolean, got ${typeof options.global}`);
      cpu.host.cpuFlush(cpu, options.global === true);
    },
    /** Number of valid entries now in the single TLB (0 with a hierarchy, whose arrays the core owns). */
    validEntries: (): number => {
      let n = 0;
      for (const f of cpu.tlbState.flags) if (f & TlbFlag.VALID) n++;
      return n;
    },
  };
}

/**
 * Linux's x86 TLB code (arch/x86/mm/tlb.c, arch/x86/include/asm/tlbflush.h, Linux 6.18) over
 * vmsim's CPUs: context switches (switch_mm_irqs_off, enter_lazy_tlb), flush requests
 * (flush_tlb_mm_range) with their generations, the IPIs of native_flush_tlb_multi and the
 * work of flush_tlb_func on each CPU, reclaim's batched flush (arch_tlbbatch_add_pending,
 * arch_tlbbatch_flush), kernel-range flushes, and the two alternatives: AMD's INVLPGB broadcast
 * with Linux's global ASIDs, and KVM's paravirtual flush (kvm_flush_tlb_multi). TypeScript
 * decides everything here; the TLB work of one request on every CPU it reaches is one list of
 * core.tlbOps operations, so a shootdown is one crossing into the core, whatever the CPUs.
 * docs/multiprocessor.md states each rule with the function it comes from.
 */
import type { Core } from '../core/core.js';
import { TlbFlag, TlbOp } from '../core/constants.js';
import { MAX_ASID_AVAILABLE, TLB_NR_DYN_ASIDS } from './asids.js';
import type { Cpu } from './cpu.js';
import type { MmContext } from './mm-context.js';
import type { ResolvedShootdown } from './options.js';
import { flushCycles } from './shootdown-cost.js';
import { newTlbVmstat, type TlbVmstat } from './shootdown-stats.js';

/** TLB_FLUSH_ALL as a flush's end. */
export const FLUSH_ALL = -1;
/** TLB_GENERATION_INVALID: a flush that asks no mm to reach a generation (reclaim's batch, kernel flushes). */
const GEN_INVALID = 0;
const TWO47 = 2 ** 47;
const SIZE_OF_CLASS = [4096, 2 ** 21, 2 ** 30];
/** 2^k for the strides and page sizes (k < 64): `2 ** k` of a variable k is a Math.pow call, the dearest step of a flush request. */
const POW2 = Float64Array.from({ length: 64 }, (_, k) => 2 ** k);

/** struct flush_tlb_info. */
interface FlushInfo {
  mm: MmContext | undefined;
  start: number;
  end: number;
  strideShift: number;
  freedTables: boolean;
  newGen: number;
  initiator: number;
  trimCpumask: boolean;
  /** The range asked for, before the ceiling turned it into a full flush (for global user pages, which a PCID flush keeps). */
  askedStart: number;
  askedEnd: number;
}

/** What the TLB code needs of the machine. */
export interface ArchTlbHost {
  readonly core: Core;
  readonly cpuArray: readonly Cpu[];
  /** init_mm: the kernel's idle tables. */
  readonly initMm: MmContext;
  readonly shootdown: ResolvedShootdown;
  readonly pcide: boolean;
  /** The CPU the kernel runs on now (the flush initiator). */
  readonly selected: number;
  /** Some user-half leaf was mapped global (mapPage can; Linux never does): a PCID flush keeps such entries. */
  readonly userGlobals: boolean;
  /** The 'static' ASID model: a destroyed space's PCID is flushed on every CPU before it is reused. */
  readonly staticAsids: boolean;
}

/** Reclaim's pending flush (struct arch_tlbflush_unmap_batch). */
interface UnmapBatch {
  cpumask: Uint8Array;
  flushRequired: boolean;
  unmappedPages: boolean;
}

/** The x86 TLB code of Linux over a machine's CPUs. */
export class ArchTlb {
  /** /proc/vmstat's TLB counters. */
  readonly vmstat: TlbVmstat = newTlbVmstat();
  /** INVLPGB and TLBSYNC instructions issued; reclaim's batched flushes. */
  invlpgb = 0;
  tlbsync = 0;
  batchFlushes = 0;
  private ops = new Float64Array(16 * TlbOp.FIELDS);
  private nOps = 0;
  private readonly batch: UnmapBatch;
  // The global ASID allocator (allocate_global_asid, reset_global_asid_space, mm_free_global_asid).
  private readonly globalUsed = new Uint8Array(MAX_ASID_AVAILABLE);
  private readonly globalFreed = new Uint8Array(MAX_ASID_AVAILABLE);
  private lastGlobalAsid = MAX_ASID_AVAILABLE;
  private globalAvailable = MAX_ASID_AVAILABLE - TLB_NR_DYN_ASIDS - 1;

  constructor(private readonly hw: ArchTlbHost) {
    this.batch = { cpumask: new Uint8Array(hw.cpuArray.length), flushRequired: false, unmappedPages: false };
    this.invlpgbOn = hw.shootdown.mechanism === 'invlpgb';
  }

  /** The options never change: read once (a flush request is on the COW fault's path). */
  private readonly invlpgbOn: boolean;

  // ------------------------------------------------------------ the operation list

  private push(op: number, cpu: number, a: number, b = 0, c = 0, d = 0): void {
    if ((this.nOps + 1) * TlbOp.FIELDS > this.ops.length) {
      const grown = new Float64Array(this.ops.length * 2);
      grown.set(this.ops);
      this.ops = grown;
    }
    const o = this.ops;
    const i = this.nOps++ * TlbOp.FIELDS;
    o[i] = op;
    o[i + 1] = cpu;
    o[i + 2] = a;
    o[i + 3] = b;
    o[i + 4] = c;
    o[i + 5] = d;
  }

  /** Runs the operations gathered so far: one core call for every CPU they reach. */
  commit(): void {
    if (this.nOps === 0) return;
    const n = this.nOps;
    this.nOps = 0;
    const o = this.ops;
    // One INVLPG run or PCID flush on the kernel's own CPU (every flush of a single CPU): the
    // CPU-level call does exactly what tlbOps would, and a call with numbers crosses the
    // boundary in half the time of one with a typed array.
    if (n === 1 && o[1] === this.hw.selected) {
      if (o[0] === TlbOp.INVLPG && o[5] === 12) return this.hw.core.invalidate(o[2]!, o[3]!, o[4]!);
      if (o[0] === TlbOp.FLUSH_PCID) return this.hw.core.flushPcid(o[2]!);
    }
    const st = this.hw.core.tlbOps(o, n);
    if (st < 0) throw new Error(`internal error: the core refused a TLB operation list (${st})`);
  }

  // ------------------------------------------------------------ context switches

  /** load_new_mm_cr3: CR3 := the mm's root with the ASID's PCID, flushing it unless told not to. */
  private loadCr3(cpu: Cpu, mm: MmContext, asid: number, needFlush: boolean): void {
    const pcid = this.hw.pcide ? cpu.asids.pcid(asid) : 0;
    this.push(TlbOp.LOAD_CR3, cpu.index, mm.rootFrame, pcid, needFlush || !this.hw.pcide ? 0 : 1);
    cpu.tag = pcid;
  }

  /**
   * switch_mm_irqs_off(NULL, next): `cpu` now runs `next`. Switching to another mm sets the CPU
   * in its cpumask (the previous mm's bit stays: Linux clears it lazily) and takes an ASID
   * (choose_new_asid), flushing when the ASID is new or behind the mm's tlb_gen. Staying on
   * the same mm after lazy mode catches up on the generations it missed.
   */
  switchMm(cpu: Cpu, next: MmContext): void {
    const prev = cpu.loaded;
    const prevAsid = cpu.asid;
    const wasLazy = cpu.lazy;
    cpu.lazy = false;
    let asid: number;
    let needFlush: boolean;
    let gen: number;
    if (prev === next) {
      if (this.needsGlobalAsid(next, prevAsid)) {
        gen = next.tlbGen;
        ({ asid, needFlush } = cpu.asids.choose(next, gen));
      } else {
        // Broadcast invalidation keeps a global ASID up to date; a thread switch within a process needs nothing.
        if (cpu.asids.isGlobal(prevAsid) || !wasLazy) return;
        gen = next.tlbGen;
        if (cpu.asids.genOf(prevAsid, next) === gen) return;
        // The TLB went out of date while lazy: flush it at the same ASID.
        asid = prevAsid;
        needFlush = true;
      }
    } else {
      if (next !== this.hw.initMm) next.setCpu(cpu.index);
      gen = next.tlbGen;
      ({ asid, needFlush } = cpu.asids.choose(next, gen));
    }
    if (needFlush) {
      cpu.asids.record(asid, next, gen);
      cpu.sd.switchFlushes++;
    }
    this.loadCr3(cpu, next, asid, needFlush);
    cpu.loaded = next;
    cpu.asid = asid;
  }

  /** enter_lazy_tlb: the CPU runs the idle task and keeps its mm loaded (not init_mm's). */
  enterLazy(cpu: Cpu): void {
    if (cpu.loaded !== this.hw.initMm) cpu.lazy = true;
  }

  /** KVM: a preempted vCPU's TLB is flushed whole by the host when it next enters (record_steal_time, KVM_VCPU_FLUSH_TLB). */
  hostFlush(cpu: Cpu): void {
    if (!cpu.hostFlushPending) return;
    cpu.hostFlushPending = false;
    cpu.sd.hostFlushes++;
    this.push(TlbOp.FLUSH_ALL, cpu.index, 1);
  }

  // ------------------------------------------------------------ flush requests

  /**
   * flush_tlb_mm_range(mm, start, end, stride_shift, freed_tables) from the selected CPU: bumps
   * the mm's tlb_gen, then flushes the CPUs that may hold the range — by INVLPGB for an mm with
   * a global ASID, by IPIs when another CPU is in its cpumask, else locally when this CPU runs it.
   * `end` FLUSH_ALL flushes the whole mm (flush_tlb_mm).
   */
  flushRange(mm: MmContext, start: number, end: number, strideShift: number, freedTables: boolean): void {
    this.flushRangeNoCommit(mm, start, end, strideShift, freedTables);
    this.commit();
  }

  private flushRangeNoCommit(mm: MmContext, start: number, end: number, strideShift: number, freedTables: boolean): void {
    const c = this.hw.selected;
    const info = this.info(mm, start, end, strideShift, freedTables, ++mm.tlbGen, c);
    if (this.invlpgbOn && mm.globalAsid !== 0) this.broadcast(info);
    else if (mm.anyBut(c)) {
      // should_trim_cpumask trims once a second; vmsim has no clock, so it never does (docs/multiprocessor.md).
      info.trimCpumask = false;
      this.flushMulti(mm.cpumask, info);
      this.considerGlobalAsid(mm);
    } else {
      const cpu = this.hw.cpuArray[c]!;
      if (mm === cpu.loaded) this.flushFunc(cpu, info, true);
    }
    if (this.hw.userGlobals && info.askedEnd !== FLUSH_ALL && info.askedStart < TWO47) this.dropUserGlobals(info.askedStart, info.askedEnd);
  }

  /** The one flush_tlb_info (Linux's is per CPU, and requests never nest). */
  private readonly theInfo: FlushInfo = { mm: undefined, start: 0, end: 0, strideShift: 12, freedTables: false, newGen: 0, initiator: 0, trimCpumask: false, askedStart: 0, askedEnd: 0 };

  /** init_flush_tlb_info: more pages than the ceiling at the stride become a full flush. */
  private info(mm: MmContext | undefined, start: number, end: number, strideShift: number, freedTables: boolean, newGen: number, initiator: number): FlushInfo {
    const f = this.theInfo;
    f.askedStart = start;
    f.askedEnd = end;
    if (end !== FLUSH_ALL && Math.floor((end - start) / POW2[strideShift]!) > this.hw.shootdown.ceiling) {
      start = 0;
      end = FLUSH_ALL;
    }
    f.mm = mm;
    f.start = start;
    f.end = end;
    f.strideShift = strideShift;
    f.freedTables = freedTables;
    f.newGen = newGen;
    f.initiator = initiator;
    f.trimCpumask = false;
    return f;
  }

  /**
   * flush_tlb_multi: native_flush_tlb_multi, or KVM's wrapper (paravirt) which first takes the
   * preempted vCPUs out of the mask and has the host flush them. With freed page tables (or an
   * ASID transition) every CPU in the mask gets the IPI; otherwise should_flush_tlb skips lazy
   * CPUs and CPUs running another mm. The initiator, when in the mask, flushes itself without an IPI.
   */
  private flushMulti(mask: Uint8Array, info: FlushInfo): void {
    const cpus = this.hw.cpuArray;
    const sd = this.hw.shootdown;
    const initiator = cpus[info.initiator]!;
    const ipis = sd.mechanism !== 'none';
    this.vmstat.nr_tlb_remote_flush++;
    const everyone = info.freedTables || (info.mm !== undefined && this.inAsidTransition(info.mm));
    let remote = 0;
    let slowest = 0;
    for (let i = 0; i < cpus.length; i++) {
      if (mask[i] === 0) continue;
      const cpu = cpus[i]!;
      if (ipis && sd.paravirt && i !== info.initiator && cpu.task === undefined) {
        // kvm_flush_tlb_multi: an idle vCPU is preempted (it halted); the host flushes it at its next entry.
        cpu.hostFlushPending = true;
        cpu.sd.paravirtSkipped++;
        continue;
      }
      if (!everyone && !this.shouldFlush(cpu, info)) continue;
      if (i === info.initiator) {
        initiator.sd.cycles.initiator += this.flushFunc(cpu, info, true);
        continue;
      }
      const cycles = this.flushFunc(cpu, info, false);
      if (!ipis) continue;
      remote++;
      initiator.sd.ipisSent++;
      cpu.sd.ipisReceived++;
      cpu.sd.tlbShootdowns++;
      const handler = sd.cost.ipiHandler + cycles;
      cpu.sd.cycles.handler += handler;
      if (handler > slowest) slowest = handler;
    }
    // The initiator sends the IPIs and waits for the last acknowledgement (smp_call_function_many_cond with wait).
    if (remote > 0) initiator.sd.cycles.initiator += sd.cost.ipiSend + (remote - 1) * sd.cost.ipiPerTarget + slowest;
  }

  /** should_flush_tlb: whether a CPU in the mask needs the IPI. */
  private shouldFlush(cpu: Cpu, info: FlushInfo): boolean {
    // Lazy TLB will get flushed at the next context switch.
    if (cpu.lazy) {
      cpu.sd.lazySkipped++;
      return false;
    }
    if (info.mm === undefined || cpu.loaded === info.mm || info.trimCpumask) return true;
    cpu.sd.otherMmSkipped++;
    return false;
  }

  /**
   * flush_tlb_func on `cpu` (local: the initiator itself): a CPU left in the mask of an mm it no
   * longer runs leaves the mask; a lazy CPU switches to init_mm; otherwise, if its ASID is behind
   * the mm's generation, a partial flush when it is exactly one generation behind and the
   * request is the newest, else a full flush. Returns the cycles of the flush it did.
   */
  private flushFunc(cpu: Cpu, f: FlushInfo, local: boolean): number {
    if (!local) this.vmstat.nr_tlb_remote_flush_received++;
    if (f.mm !== undefined && f.mm !== cpu.loaded) {
      f.mm.clearCpu(cpu.index);
      return 0;
    }
    const loaded = cpu.loaded;
    if (loaded === this.hw.initMm) return 0;
    if (this.needsGlobalAsid(loaded, cpu.asid)) this.switchMm(cpu, loaded);
    if (cpu.asids.isGlobal(cpu.asid)) return 0;
    if (cpu.lazy) {
      // Lazy: switching to init_mm is barely slower than a minimal flush.
      this.switchMm(cpu, this.hw.initMm);
      return this.hw.shootdown.cost.flushFull;
    }
    const localGen = cpu.asids.genOf(cpu.asid, loaded);
    if (f.newGen !== GEN_INVALID && f.newGen <= localGen) return 0;
    const mmGen = loaded.tlbGen;
    if (localGen === mmGen) return 0;
    let cycles: number;
    if (f.end !== FLUSH_ALL && f.newGen === localGen + 1 && f.newGen === mmGen) {
      const step = POW2[f.strideShift]!;
      const shift = f.strideShift > 30 ? 30 : f.strideShift;
      const first = Math.floor(f.start / POW2[shift]!) * POW2[shift]!;
      const n = Math.ceil((f.end - f.start) / step);
      this.pushInvlpg(cpu.index, cpu.tag, first, n, shift, step);
      cpu.sd.flushes.single += n;
      if (local) this.vmstat.nr_tlb_local_flush_one += n;
      cycles = flushCycles(this.hw.shootdown.cost, false, n);
    } else {
      // flush_tlb_local: a CR3 reload of the current ASID.
      this.push(TlbOp.FLUSH_PCID, cpu.index, cpu.tag);
      cpu.sd.flushes.full++;
      if (local) this.vmstat.nr_tlb_local_flush_all++;
      cycles = flushCycles(this.hw.shootdown.cost, true, 0);
    }
    cpu.asids.setGen(cpu.asid, loaded, mmGen);
    return cycles;
  }

  /** INVLPGs at `step` from `first` (the core's stride is a page size; a larger stride is one INVLPG per step). */
  private pushInvlpg(cpu: number, tag: number, first: number, n: number, shift: number, step: number): void {
    if (step === POW2[shift]!) this.push(TlbOp.INVLPG, cpu, tag, first, n, shift);
    else for (let k = 0; k < n; k++) this.push(TlbOp.INVLPG, cpu, tag, first + k * step, 1, shift);
  }

  // ------------------------------------------------------------ INVLPGB (mechanism 'invlpgb')

  /** mm_needs_global_asid: the mm got a global ASID and this CPU still runs it with a dynamic one. */
  private needsGlobalAsid(mm: MmContext, asid: number): boolean {
    return this.invlpgbOn && mm.globalAsid !== 0 && asid !== mm.globalAsid;
  }

  private inAsidTransition(mm: MmContext): boolean {
    return this.invlpgbOn && mm.asidTransition;
  }

  /** broadcast_tlb_flush: INVLPGB of the global ASID's PCID on every CPU (invlpgb_count_max pages an instruction), then TLBSYNC. */
  private broadcast(info: FlushInfo): void {
    const mm = info.mm!;
    const sd = this.hw.shootdown;
    const pcid = mm.globalAsid + 1;
    const cpus = this.hw.cpuArray;
    let n = 0;
    if (info.end === FLUSH_ALL) {
      for (const cpu of cpus) this.push(TlbOp.FLUSH_PCID, cpu.index, pcid);
      n = 1;
    } else {
      const shift = info.strideShift > 30 ? 30 : info.strideShift;
      let addr = Math.floor(info.start / POW2[shift]!) * POW2[shift]!;
      do {
        let nr = 1;
        if (info.strideShift <= 21) nr = Math.min(Math.max(Math.floor((info.end - addr) / POW2[info.strideShift]!), 1), sd.invlpgbCountMax);
        for (const cpu of cpus) this.push(TlbOp.INVLPG, cpu.index, pcid, addr, nr, shift);
        addr += nr * POW2[info.strideShift]!;
        n++;
      } while (addr < info.end);
    }
    this.invlpgb += n;
    this.finishAsidTransition(info);
    this.tlbsync++;
    cpus[info.initiator]!.sd.cycles.initiator += n * sd.cost.invlpgb + sd.cost.tlbsync;
  }

  /** finish_asid_transition: while a CPU still runs the mm with a dynamic ASID, the IPIs go out too (it switches over in flush_tlb_func). */
  private finishAsidTransition(info: FlushInfo): void {
    const mm = info.mm!;
    if (!mm.asidTransition) return;
    for (const cpu of this.hw.cpuArray) {
      if (mm.cpumask[cpu.index] === 0 || cpu.loaded !== mm) continue;
      if (cpu.asid !== mm.globalAsid) {
        this.flushMulti(mm.cpumask, info);
        return;
      }
    }
    mm.asidTransition = false;
  }

  /**
   * consider_global_asid: a process active (loaded, not lazy) on more than 3 CPUs at once gets a
   * global ASID. Linux checks "every once in a while" ((pid & 0x1f) == (jiffies & 0x1f)); vmsim
   * has no clock and checks one remote flush in 32 of each mm: its 1st, 33rd, 65th...
   */
  private considerGlobalAsid(mm: MmContext): void {
    if (!this.invlpgbOn) return;
    if (mm.remoteFlushes++ % 32 !== 0) return;
    if (this.activeCpusExceed(mm, 3)) this.useGlobalAsid(mm);
  }

  /** mm_active_cpus_exceeds. */
  private activeCpusExceed(mm: MmContext, threshold: number): boolean {
    if (mm.cpusInMask <= threshold) return false;
    let count = 0;
    for (const cpu of this.hw.cpuArray) {
      if (mm.cpumask[cpu.index] === 0 || cpu.loaded !== mm || cpu.lazy) continue;
      if (++count > threshold) return true;
    }
    return false;
  }

  /** use_global_asid + mm_assign_global_asid. */
  private useGlobalAsid(mm: MmContext): void {
    if (mm.globalAsid !== 0 || this.globalAvailable === 0) return;
    const asid = this.allocateGlobalAsid();
    if (asid === 0) return;
    mm.asidTransition = true;
    mm.globalAsid = asid;
  }

  /** allocate_global_asid: the next free global ASID, after a full flush of every CPU at wrap-around (reset_global_asid_space). */
  private allocateGlobalAsid(): number {
    if (this.lastGlobalAsid >= MAX_ASID_AVAILABLE - 1) {
      // invlpgb_flush_all_nonglobals: freed global ASIDs are safe to reuse after it.
      for (const cpu of this.hw.cpuArray) this.push(TlbOp.FLUSH_ALL, cpu.index, 0);
      this.invlpgb++;
      this.tlbsync++;
      for (let a = 0; a < MAX_ASID_AVAILABLE; a++) {
        if (this.globalFreed[a]) this.globalUsed[a] = 0;
        this.globalFreed[a] = 0;
      }
      this.lastGlobalAsid = TLB_NR_DYN_ASIDS;
    }
    let asid = this.lastGlobalAsid;
    while (asid < MAX_ASID_AVAILABLE && this.globalUsed[asid]) asid++;
    if (asid >= MAX_ASID_AVAILABLE) return 0;
    this.globalUsed[asid] = 1;
    this.lastGlobalAsid = asid;
    this.globalAvailable--;
    return asid;
  }

  /** mm_free_global_asid: reusable after the next wrap-around's flush. */
  freeGlobalAsid(mm: MmContext): void {
    if (mm.globalAsid === 0) return;
    this.globalFreed[mm.globalAsid] = 1;
    mm.globalAsid = 0;
    this.globalAvailable++;
  }

  // ------------------------------------------------------------ reclaim's batched flush

  /**
   * try_to_unmap_one's flush of pages `las[0..count)` of `mm` just unmapped by reclaim
   * (TTU_BATCH_FLUSH): deferred into the batch when another CPU is in the mm's cpumask
   * (should_defer_flush → set_tlb_ubc_flush_pending: a generation per page, the mask OR-ed in),
   * else flushed page by page (ptep_clear_flush → flush_tlb_page).
   */
  unmapPages(mm: MmContext, las: Float64Array, count: number): void {
    if (count <= 0) return;
    const c = this.hw.selected;
    if (mm.anyBut(c)) {
      mm.tlbGen += count;
      const b = this.batch;
      for (let i = 0; i < b.cpumask.length; i++) if (mm.cpumask[i] === 1) b.cpumask[i] = 1;
      b.unmappedPages = true;
      b.flushRequired = true;
      return;
    }
    for (let i = 0; i < count; i++) this.flushRangeNoCommit(mm, las[i]!, las[i]! + 4096, 12, false);
    this.commit();
  }

  /** try_to_unmap_flush: the batch's one flush (arch_tlbbatch_flush), if anything was deferred. */
  flushUnmapBatch(): void {
    const b = this.batch;
    if (!b.flushRequired) return;
    b.flushRequired = false;
    this.batchFlushes++;
    const c = this.hw.selected;
    const info = this.info(undefined, 0, FLUSH_ALL, 0, false, GEN_INVALID, c);
    if (this.invlpgbOn && b.unmappedPages) {
      // invlpgb_flush_all_nonglobals.
      for (const cpu of this.hw.cpuArray) this.push(TlbOp.FLUSH_ALL, cpu.index, 0);
      this.invlpgb++;
      this.tlbsync++;
      this.hw.cpuArray[c]!.sd.cycles.initiator += this.hw.shootdown.cost.invlpgb + this.hw.shootdown.cost.tlbsync;
      b.unmappedPages = false;
    } else if (anyBut(b.cpumask, c)) {
      this.flushMulti(b.cpumask, info);
    } else if (b.cpumask[c] === 1) {
      const cpu = this.hw.cpuArray[c]!;
      cpu.sd.cycles.initiator += this.flushFunc(cpu, info, true);
    }
    b.cpumask.fill(0);
    this.commit();
  }

  // ------------------------------------------------------------ kernel-half changes

  /**
   * flush_tlb_kernel_range: on every CPU (on_each_cpu: function-call IPIs, not TLB shootdowns),
   * an INVLPG per page, or above the ceiling a flush of everything, globals included
   * (flush_tlb_all). Kernel entries are global in Linux; vmsim's may be tagged with any PCID,
   * so each CPU invalidates the page under every PCID it uses.
   */
  flushKernelRange(start: number, pages: number): void {
    const c = this.hw.selected;
    const cpus = this.hw.cpuArray;
    const sd = this.hw.shootdown;
    const all = pages > sd.ceiling;
    if (all) this.vmstat.nr_tlb_remote_flush++;
    let remote = 0;
    let slowest = 0;
    for (const cpu of cpus) {
      let cycles: number;
      if (all) {
        this.push(TlbOp.FLUSH_ALL, cpu.index, 1);
        this.vmstat.nr_tlb_remote_flush_received++;
        cycles = sd.cost.flushFull;
      } else {
        const tags = new Set([...cpu.asids.liveTags(), cpu.tag]);
        for (const t of tags) this.push(TlbOp.INVLPG, cpu.index, t, start, pages, 12);
        if (c === cpu.index) this.vmstat.nr_tlb_local_flush_one += pages;
        cycles = pages * sd.cost.invlpg;
      }
      if (this.invlpgbOn || cpu.index === c || sd.mechanism === 'none') continue;
      remote++;
      cpus[c]!.sd.ipisSent++;
      cpu.sd.ipisReceived++;
      cpu.sd.cycles.handler += sd.cost.ipiHandler + cycles;
      slowest = Math.max(slowest, sd.cost.ipiHandler + cycles);
    }
    if (this.invlpgbOn) {
      this.invlpgb += all ? 1 : Math.ceil(pages / sd.invlpgbCountMax);
      this.tlbsync++;
    } else if (remote > 0) cpus[c]!.sd.cycles.initiator += sd.cost.ipiSend + (remote - 1) * sd.cost.ipiPerTarget + slowest;
    this.commit();
  }

  // ------------------------------------------------------------ vmsim's extensions

  /**
   * Global user pages (mapPage can make them; Linux never does): a PCID flush keeps them, so the
   * global entries overlapping [start, end) are invalidated on every CPU — found in the single
   * TLB's arrays, or (a hierarchy's arrays are the core's) by INVLPGs of the range, or a flush of
   * everything beyond the ceiling.
   */
  private dropUserGlobals(start: number, end: number): void {
    const pages = Math.ceil((end - start) / 4096);
    for (const cpu of this.hw.cpuArray) {
      if (cpu.hierStats) {
        if (pages > this.hw.shootdown.ceiling) this.push(TlbOp.FLUSH_ALL, cpu.index, 1);
        else this.push(TlbOp.INVLPG, cpu.index, cpu.tag, start - (start % 4096), pages, 12);
        continue;
      }
      const t = cpu.tlbState;
      if (t.meta[0]! === 0) continue;
      for (let e = 0; e < t.key.length; e++) {
        if ((t.flags[e]! & (TlbFlag.GLOBAL | TlbFlag.VALID)) !== (TlbFlag.GLOBAL | TlbFlag.VALID)) continue;
        const q = Math.floor(t.key[e]! / 8192);
        const size = SIZE_OF_CLASS[q % 4]!;
        const base = Math.floor(q / 4) * size;
        if (base < end && base + size > start) this.push(TlbOp.INVLPG, cpu.index, cpu.tag, base, 1, q % 4 === 0 ? 12 : q % 4 === 1 ? 21 : 30);
      }
    }
  }

  /** A destroyed space: the global entries of its whole user half go on every CPU, and (static model) its PCID is flushed everywhere before it is handed out again. */
  release(mm: MmContext, forgetStatic: (cpu: Cpu) => void): void {
    if (this.hw.userGlobals) this.dropUserGlobals(0, TWO47);
    if (this.hw.staticAsids) {
      for (const cpu of this.hw.cpuArray) {
        if (mm.staticPcid !== 0 && this.hw.pcide) this.push(TlbOp.FLUSH_PCID, cpu.index, mm.staticPcid);
        forgetStatic(cpu);
      }
    }
    this.freeGlobalAsid(mm);
    this.commit();
  }

  /** INVLPG on one CPU in its loaded address space (cpu.tlb.invlpg). */
  invlpg(cpu: Cpu, la: number): void {
    this.push(TlbOp.INVLPG, cpu.index, cpu.tag, la - (la % 4096), 1, 12);
    this.commit();
  }

  /** A flush of one CPU's non-global (or every) entry (cpu.tlb.flush). */
  flushCpu(cpu: Cpu, global: boolean): void {
    this.push(TlbOp.FLUSH_ALL, cpu.index, global ? 1 : 0);
    this.commit();
  }
}

/** True when a CPU other than `cpu` is in `mask`. */
function anyBut(mask: Uint8Array, cpu: number): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i] === 1 && i !== cpu) return true;
  return false;
}


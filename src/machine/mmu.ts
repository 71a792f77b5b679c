/**
 * The MMU level of a machine: physical memory and the core shared by every CPU, the CPUs
 * (each its TLB, CR3, ASIDs and counters), the address spaces as the TLB code knows them
 * (root frame and MmContext), scheduling of tasks onto CPUs, and Linux's x86 TLB code
 * (ArchTlb: context switches, flush requests, shootdowns). Nothing here knows regions or the
 * VMM; the Machine (src/system/machine.ts) puts the VMM on top of it.
 */
import type { Core } from '../core/core.js';
import { Counter, Feature, Result, Status, TlbOp } from '../core/constants.js';
import { createTlbState } from '../core/tlb-state.js';
import { createCore } from '../core/create-core.js';
import { undetachable } from '../core/undetachable.js';
import { HierStat, Slot } from '../tlb/layout.js';
import { encodeHierarchy } from '../tlb/hierarchy-options.js';
import { VmmError } from '../errors.js';
import { resolveOptions, type MachineOptions, type ResolvedOptions } from './options.js';
import { PhysicalMemory } from './physical-memory.js';
import { Frames } from './frames.js';
import { MmContext } from './mm-context.js';
import { LinuxAsids, StaticAsids, type CpuAsids } from './asids.js';
import { Cpu, type SchedTask, type TlbStats } from './cpu.js';
import { ArchTlb, FLUSH_ALL } from './arch-tlb.js';
import { sumShootdownCounters, type MachineShootdowns } from './shootdown-stats.js';

export type { TlbStats } from './cpu.js';

const TWO47 = 2 ** 47;
const MAX_PCID = 4095;

/** The core of a disposed machine: every use is refused with the same VmmError on both backends. */
const DISPOSED_CORE = new Proxy({} as Core, {
  get() {
    throw new VmmError('EINVAL', 'the machine has been disposed');
  },
});

/** What the machine knows of an address space: its top-level table, its TLB context, its tasks. */
export interface CpuSpace {
  readonly rootFrame: number;
  /** @internal Its mm->context (ctx_id, tlb_gen, cpumask, global ASID). */
  readonly mm: MmContext;
  /** @internal The tasks of this space (its main thread first, then its threads). */
  tasks(): Iterable<SchedTask>;
  /** @internal The CPU its main thread runs on. */
  readonly runningOn: Cpu | undefined;
  /** The machine was disposed: the space is dead. */
  markDestroyed(): void;
}

/** The MMU level: physical memory, the core, the CPUs and the TLB code of the kernel. */
export class Mmu {
  /** Raw physical memory and frames. */
  readonly physical: PhysicalMemory;
  /** Which backend runs the core. */
  readonly backend: 'native' | 'js';
  /** The validated options. */
  readonly config: Readonly<ResolvedOptions>;
  /** @internal The backend (replaced by a refusing stub at dispose). */ core: Core;
  /** @internal The typed frame operations (what the VMM and reclaim use for frames). */
  readonly frames: Frames = new Frames(this);
  /** @internal Multi-value results of the core (shared by every CPU: calls are one at a time). */
  readonly result: Float64Array;
  /** @internal Frame of the idle top-level table (init_mm's), loaded when no space runs. */
  readonly idleRoot: number;
  /** @internal init_mm's TLB context. */
  readonly initMm: MmContext;
  /** @internal The CPU the core's CPU-level calls act on (core.selectCpu). */
  selected = 0;
  /** @internal A user-half leaf was mapped global (mapPage can; Linux never does). */
  userGlobals = false;
  /** @internal Linux's x86 TLB code over these CPUs. */
  readonly arch: ArchTlb;
  /** The task whose system calls run now (callAs), if not the main thread's. */
  private caller: SchedTask | undefined;
  /** @internal */ protected readonly spaceSet = new Set<CpuSpace>();
  private readonly cpuList: Cpu[];
  private readonly pcidInUse = new Uint8Array(MAX_PCID + 1);
  private nextCtxId = 2; // init_mm is 1 (INIT_MM_CONTEXT), the first mm 2 (last_mm_ctx_id starts at 1)
  private nextTaskId = 1;
  private disposed = false;

  /** Builds the hardware; see MachineOptions for the defaults. */
  constructor(options: MachineOptions = {}) {
    this.config = resolveOptions(options);
    const n = this.config.cpus;
    const tlbs = Array.from({ length: n }, () => createTlbState(this.config.tlbSets, this.config.tlbWays));
    const counters = Array.from({ length: n }, () => undetachable(Float64Array, Counter.LENGTH));
    this.result = undetachable(Float64Array, Result.LENGTH);
    try {
      this.core = createCore(this.config.backend, {
        memoryBytes: this.config.memoryBytes,
        features: this.config.features,
        tlb: tlbs[0]!,
        counters: counters[0]!,
        result: this.result,
        eagerHostMemory: this.config.hostMemory === 'eager',
        ...(n > 1 ? { otherCpus: tlbs.slice(1).map((tlb, i) => ({ tlb, counters: counters[i + 1]! })) } : {}),
      });
    } catch (e) {
      // The host refused the reservation (or, eager, the commit) of simulated RAM: address-space or commit limits.
      if (e instanceof VmmError || !(e instanceof Error) || !/host memory|allocation failed/i.test(e.message)) throw e;
      throw new VmmError('ENOMEM', `options.memory: the host could not reserve ${this.config.memoryBytes} bytes of simulated RAM (${(e as Error).message})`);
    }
    this.backend = this.core.backend;
    this.physical = new PhysicalMemory(this.core, this.config.memoryBytes);
    // Like Linux's init_mm: a kernel-only address space that is loaded when no process runs.
    const idle = this.core.createRoot();
    if (idle < 0) throw new VmmError('ENOMEM', 'options.memory is too small for the kernel page tables');
    this.idleRoot = idle;
    this.initMm = new MmContext(idle, 1, n);
    const pcide = this.pcidEnabled;
    const h = this.config.hierarchy;
    const slots = Array.from({ length: Slot.COUNT }, (_, s) => h?.arrays[s] !== undefined);
    this.cpuList = tlbs.map((tlb, i) => {
      const asids: CpuAsids = this.config.asids === 'static' ? new StaticAsids(pcide) : new LinuxAsids(pcide, this.config.shootdown.mechanism === 'invlpgb');
      return new Cpu(this, i, tlb, counters[i]!, h ? undetachable(Float64Array, HierStat.LENGTH) : undefined, slots, asids, this.initMm);
    });
    this.arch = new ArchTlb(this);
    if (h) {
      const conf = encodeHierarchy(h);
      for (const cpu of this.cpuList) {
        this.selectCpu(cpu.index);
        if (this.core.hierarchy(conf, cpu.hierStats!) < 0) throw new VmmError('EINVAL', 'the core refused the TLB hierarchy configuration');
      }
      this.selectCpu(0);
    }
    // initialize_tlbstate_and_flush on every CPU: init_mm in the first ASID, CR3 loaded with a flush.
    const boot = new Float64Array(n * TlbOp.FIELDS);
    for (const cpu of this.cpuList) {
      cpu.asid = cpu.asids.boot(this.initMm);
      cpu.tag = pcide ? cpu.asids.pcid(cpu.asid) : 0;
      boot.set([TlbOp.LOAD_CR3, cpu.index, idle, cpu.tag, 0], cpu.index * TlbOp.FIELDS);
    }
    this.core.tlbOps(boot, n);
  }

  // ---------------------------------------------------------------- the CPUs

  /** Number of CPUs. */
  get cpus(): number {
    return this.cpuList.length;
  }

  /** CPU `index` (0 to cpus - 1). */
  cpu(index: number): Cpu {
    const c = typeof index === 'number' && Number.isInteger(index) ? this.cpuList[index] : undefined;
    if (!c) throw new VmmError('EINVAL', `cpu index must be an integer in [0, ${this.cpuList.length - 1}], got ${String(index)}`);
    return c;
  }

  /** @internal Every CPU, in order. */
  get cpuArray(): readonly Cpu[] {
    return this.cpuList;
  }

  /** @internal CPU 0's TLB arrays (the single-CPU view). */
  get tlbState() {
    return this.cpuList[0]!.tlbState;
  }

  /** @internal CPU 0's counters (the single-CPU view; countersSum() adds every CPU's). */
  get counters(): Float64Array {
    return this.cpuList[0]!.counters;
  }

  /** @internal Every CPU's counters added up. */
  countersSum(): Float64Array {
    const out = new Float64Array(Counter.LENGTH);
    for (const cpu of this.cpuList) for (let i = 0; i < Counter.LENGTH; i++) out[i]! += cpu.counters[i]!;
    return out;
  }

  /** @internal Accesses re-executed after resolved faults, on every CPU. */
  get retries(): number {
    let n = 0;
    for (const cpu of this.cpuList) n += cpu.retries;
    return n;
  }

  /** True when PCIDs tag TLB entries. */
  get pcidEnabled(): boolean {
    return (this.config.features & Feature.PCIDE) !== 0;
  }

  /** True when EFER.NXE makes bit 63 of entries execute-disable. */
  get nxEnabled(): boolean {
    return (this.config.features & Feature.NXE) !== 0;
  }

  /** @internal ArchTlbHost: the shootdown options. */
  get shootdown() {
    return this.config.shootdown;
  }

  /** @internal ArchTlbHost. */
  get pcide(): boolean {
    return this.pcidEnabled;
  }

  /** @internal ArchTlbHost. */
  get staticAsids(): boolean {
    return this.config.asids === 'static';
  }

  /** TLB statistics of every CPU added up, exact at the moment of the call. */
  tlbStats(): TlbStats {
    const all = this.cpuList.map((c) => c.tlbStats());
    const s: TlbStats = { hits: 0, misses: 0, retries: 0, walks: 0, flushes: 0, invalidations: 0, evictions: 0, hitRate: 0 };
    for (const t of all) {
      s.hits += t.hits;
      s.misses += t.misses;
      s.retries += t.retries;
      s.walks += t.walks;
      s.flushes += t.flushes;
      s.invalidations += t.invalidations;
      s.evictions += t.evictions;
    }
    s.hitRate = s.hits + s.misses === 0 ? 0 : s.hits / (s.hits + s.misses);
    return s;
  }

  /** Shootdown counters of every CPU added up, with Linux's vmstat counters and the broadcast instructions. */
  shootdownStats(): MachineShootdowns {
    const a = this.arch;
    return { ...sumShootdownCounters(this.cpuList.map((c) => c.sd)), vmstat: { ...a.vmstat }, invlpgb: a.invlpgb, tlbsync: a.tlbsync, batchFlushes: a.batchFlushes };
  }

  /** Resets every CPU's TLB, access and shootdown counters to zero (the TLB contents stay). */
  resetStats(): void {
    for (const cpu of this.cpuList) cpu.resetStats();
    const a = this.arch;
    Object.assign(a.vmstat, { nr_tlb_remote_flush: 0, nr_tlb_remote_flush_received: 0, nr_tlb_local_flush_all: 0, nr_tlb_local_flush_one: 0 });
    a.invlpgb = 0;
    a.tlbsync = 0;
    a.batchFlushes = 0;
  }

  /** TLB maintenance on CPU 0 as the OS would issue it (each CPU has its own: `cpu(i).tlb`). */
  get tlb(): Cpu['tlb'] {
    return this.cpuList[0]!.tlb;
  }

  /** Releases host memory; the machine and its address spaces are unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.spaceSet) s.markDestroyed();
    this.spaceSet.clear();
    this.core.dispose();
    this.core = DISPOSED_CORE;
    this.physical.detach(DISPOSED_CORE);
  }

  // ---------------------------------------------------------------- scheduling

  /** @internal CpuHost: `cpu` runs `task` (sched's context_switch: switch_mm_irqs_off to its mm). */
  schedule(cpu: Cpu, task: SchedTask): void {
    this.checkLive();
    task.checkRunnable(this);
    if (task.cpu === cpu) return;
    if (task.cpu !== undefined) throw new VmmError('EBUSY', `the task runs on CPU ${task.cpu.index} already: one task runs on one CPU at a time (idle that CPU first)`);
    this.arch.hostFlush(cpu);
    if (cpu.task) cpu.task.cpu = undefined;
    cpu.task = task;
    task.cpu = cpu;
    this.arch.switchMm(cpu, task.mm);
    this.arch.commit();
  }

  /** @internal A task's address space changed under it (a vfork child's exec): the CPU running it switches to the new one (exec's activate_mm). */
  switchTaskMm(task: SchedTask): void {
    const cpu = task.cpu;
    if (cpu === undefined) return;
    this.arch.switchMm(cpu, task.mm);
    this.arch.commit();
  }

  /** @internal CpuHost: `cpu` runs the idle task (lazy TLB: its address space stays loaded). */
  idle(cpu: Cpu): void {
    if (cpu.task) cpu.task.cpu = undefined;
    cpu.task = undefined;
    this.arch.enterLazy(cpu);
  }

  /**
   * @internal The CPU a task's access runs on, selected in the core: the one it runs on, or
   * CPU 0 when it runs nowhere (it is scheduled there first, as a single CPU always did).
   */
  enter(task: SchedTask): Cpu {
    let c = task.cpu;
    if (c === undefined) {
      c = this.cpuList[0]!;
      this.schedule(c, task);
    }
    if (c.index !== this.selected) this.selectCpu(c.index);
    return c;
  }

  /** @internal Makes `task` run (as enter) — the name of the single-CPU API. */
  activate(task: SchedTask): void {
    this.enter(task);
  }

  /** @internal The core's CPU-level calls act on CPU `index` from now on. */
  selectCpu(index: number): void {
    this.core.selectCpu(index);
    this.selected = index;
  }

  /**
   * @internal A system call of `space` (munmap, mprotect, madvise, fork...) runs in the kernel on
   * the CPU of its main thread when that runs, else on the lowest-numbered CPU running one of
   * its threads, else on CPU 0 (a kernel thread there: no context switch). That CPU initiates the flushes.
   */
  kernelFor(space: CpuSpace): void {
    const caller = this.caller;
    let index = caller !== undefined && caller.cpu !== undefined && caller.mm === space.mm ? caller.cpu.index : (space.runningOn?.index ?? -1);
    if (index < 0) {
      for (const t of space.tasks()) {
        const c = t.cpu;
        if (c !== undefined && (index < 0 || c.index < index)) index = c.index;
      }
    }
    if (index < 0) index = 0;
    if (index !== this.selected) this.selectCpu(index);
  }

  /**
   * @internal Runs `fn` — system calls of `task`'s process — as made by `task`: they run in the
   * kernel on its CPU (Linux runs a call on its caller's CPU, which initiates its flushes)
   * instead of the main thread's. Trace replay of a recorded program calls through this.
   */
  callAs<T>(task: SchedTask, fn: () => T): T {
    const prev = this.caller;
    this.caller = task;
    try {
      return fn();
    } finally {
      this.caller = prev;
    }
  }

  /** @internal A fresh task id. */
  taskId(): number {
    return this.nextTaskId++;
  }

  // ---------------------------------------------------------------- address spaces

  /** @internal A new top-level table (or the given one): its frame; ENOMEM when no frame is left. */
  newRoot(what: string, given?: number): number {
    if (given !== undefined) return given;
    const root = this.core.createRoot();
    if (root < 0) throw new VmmError('ENOMEM', `${what}: no free frame for the top-level table`);
    return root;
  }

  /** @internal The TLB context of a new space over `root`: a fresh ctx_id and, in the static model, its PCID. */
  newMm(root: number, owner: unknown): MmContext {
    const mm = new MmContext(root, this.nextCtxId++, this.cpuList.length, owner);
    if (this.staticAsids) mm.staticPcid = this.allocPcid();
    return mm;
  }

  /** @internal Adds a live space. */
  register(space: CpuSpace): void {
    this.spaceSet.add(space);
  }

  /**
   * @internal Before a space's tables are freed (exit_mmap): its tasks stop running (their CPUs
   * go idle, lazily on it), then the whole mm is flushed with freed tables (tlb_finish_mmu of a
   * full mm), which also moves every CPU still lazy on it to init_mm.
   */
  release(space: CpuSpace): void {
    for (const t of space.tasks()) if (t.cpu) this.idle(t.cpu);
    const mm = space.mm;
    this.arch.flushRange(mm, 0, FLUSH_ALL, 12, true);
    // A CPU the flush did not reach (a preempted vCPU under KVM's paravirtual flush) goes to init_mm at its next switch; none may walk the freed tables meanwhile.
    for (const cpu of this.cpuList) if (cpu.loaded === mm && !cpu.hostFlushPending) this.arch.switchMm(cpu, this.initMm);
    mm.dead = true;
    this.arch.release(mm, (cpu) => (cpu.asids as StaticAsids).forget?.(mm));
    if (mm.staticPcid !== 0) this.pcidInUse[mm.staticPcid] = 0;
    this.spaceSet.delete(space);
  }

  // ---------------------------------------------------------------- flush requests of the page operations

  /** @internal flush_tlb_mm_range for `space` from the kernel's CPU; kernel-half ranges go to every CPU (flush_tlb_kernel_range). */
  flushRange(space: CpuSpace, start: number, end: number, strideShift: number, freedTables: boolean): void {
    if (start >= TWO47) {
      this.arch.flushKernelRange(start, Math.ceil((end - start) / 4096));
      return;
    }
    this.arch.flushRange(space.mm, start, end, strideShift, freedTables);
  }

  /** @internal flush_tlb_mm: the whole mm (freed_tables, as the macro says). */
  flushMm(space: CpuSpace): void {
    this.arch.flushRange(space.mm, 0, FLUSH_ALL, 12, true);
  }

  /** @internal Reclaim unmapped pages las[0..count) of `space`: batched when another CPU may hold them, else flushed page by page. */
  unmapPages(space: CpuSpace, las: Float64Array, count: number): void {
    this.arch.unmapPages(space.mm, las, count);
  }

  /** @internal try_to_unmap_flush: reclaim's batch is flushed once. */
  flushUnmapBatch(): void {
    this.arch.flushUnmapBatch();
  }

  // ---------------------------------------------------------------- CpuHost

  /** @internal */
  cpuInvlpg(cpu: Cpu, la: number): void {
    this.arch.invlpg(cpu, la);
  }

  /** @internal */
  cpuFlush(cpu: Cpu, global: boolean): void {
    this.arch.flushCpu(cpu, global);
  }

  /** @internal The hierarchy's pending faulted touch gets its misses counted (an empty trace batch settles it). */
  settleHierarchy(cpu: Cpu): void {
    if (this.disposed || !cpu.hierStats) return;
    const was = this.selected;
    if (was !== cpu.index) this.selectCpu(cpu.index);
    this.core.hierTraceBatch(EMPTY_TRACE, 0, 0, 1 | 4, SCRATCH_OUT);
    if (was !== cpu.index) this.selectCpu(was);
  }

  /** @internal Throws when the machine was disposed. */
  checkLive(): void {
    if (this.disposed) throw new VmmError('EINVAL', 'the machine has been disposed');
  }

  /** @internal Maps a core status to a VmmError for `op`. */
  statusError(status: number, op: string, detail: string): VmmError {
    switch (status) {
      case Status.ENOMEM:
        return new VmmError('ENOMEM', `${op}: out of physical memory (${detail})`);
      case Status.EEXIST:
        return new VmmError('EEXIST', `${op}: ${detail} is already mapped`);
      case Status.ENOENT:
        return new VmmError('ENOENT', `${op}: ${detail} is not mapped`);
      default:
        return new VmmError('EINVAL', `${op}: invalid argument (${detail})`);
    }
  }

  /** The 'static' model's PCID for a new space: the lowest free one, or 0 (shared, flushed at every switch) beyond 4095. */
  private allocPcid(): number {
    if (!this.pcidEnabled) return 0;
    for (let p = 1; p <= MAX_PCID; p++) {
      if (this.pcidInUse[p] === 0) {
        this.pcidInUse[p] = 1;
        return p;
      }
    }
    return 0;
  }
}

const EMPTY_TRACE = new Uint32Array(0);
const SCRATCH_OUT = new Float64Array(5);

/**
 * The MMU level of one address space: a top-level table (CR3) and its TLB context (Linux's
 * mm->context), the page-level API of an MMU (map, unmap, protect, translate, walk), and the
 * access API as its own main task (Task). Threads (createThread) share it. Nothing here knows
 * regions or the VMM: a raw space (`createAddressSpace({ faults: 'raw' })`) is this class as it is.
 */
import { PAGE_SIZE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import { describe, fromLinear, sizeName, toLinear, toLinearAligned, toPhysical } from '../address.js';
import { decodeFlags, decodeSoftware, encodeFlags, entryBigInt, FLAG_MASK_HI, FLAG_MASK_LO, type EntryFlags, type PageFlags, type SoftwareBits } from '../page-flags.js';
import { strictOptions } from '../strict-options.js';
import { RAW_FAULTS, type FaultHandler } from './fault.js';
import { PageTable } from './page-table.js';
import { TlbGather } from './tlb-gather.js';
import { walkEntries, type WalkStep } from './walk.js';
import { Task } from './task.js';
import { Thread } from './thread.js';
import type { Mmu } from './mmu.js';
import type { MmContext } from './mm-context.js';
import type { Cpu, SchedTask } from './cpu.js';

export type { AccessOptions, BatchResult } from './task.js';

/** A translation found by a pure page walk. */
export interface Translation {
  /** Physical address of the translated byte. */
  physical: number;
  /** Size of the page that maps it: 4096, 2 MiB or 1 GiB. */
  pageSize: number;
  /** Hardware flags of the leaf entry. */
  flags: EntryFlags;
  /** Software state (OS-available bits). */
  software: SoftwareBits;
  /** The raw 64-bit leaf entry. */
  entry: bigint;
}

/** Options of mapPage. */
export interface MapOptions {
  /** Page size in bytes: 4096 (default), 2 MiB or 1 GiB. */
  pageSize?: number;
}

const PAGE_SIZES: readonly unknown[] = [4096, 2 ** 21, 2 ** 30];

/** The MMU level of one address space: CR3 and its TLB context, page-level mapping, and accesses (as its main task). */
export class MmuSpace extends Task {
  /** Frame number of the top-level table. @internal */
  rootFrame: number;
  /** @internal Its TLB context: ctx_id, tlb_gen, mm_cpumask, global ASID. */
  mm: MmContext;
  /** Who resolves this space's page faults: nobody (raw: every fault is thrown), a callback, or the VMM. @internal */
  faultHandler: FaultHandler = RAW_FAULTS;
  /** @internal The typed page operations on this space's tables (what the VMM and reclaim use). */
  pages: PageTable;
  /** @internal Its live threads (not the main task). */
  readonly threads = new Set<Thread>();
  private dead = false;
  /** Waiting for its vfork child: every call is refused (EBUSY) until the child execs or exits. */
  private waiting = false;

  /**
   * @internal Use machine.createAddressSpace() or machine.adoptAddressSpace(). With `share`, the
   * space is a task on `share`'s tables and TLB context (a vfork child: the same mm, so running
   * it reloads no CR3) until `rebind` gives it its own.
   */
  constructor(machine: Mmu, rootFrame: number, share?: MmuSpace) {
    super(machine, machine.taskId());
    this.rootFrame = share ? share.rootFrame : rootFrame;
    this.mm = share ? share.mm : machine.newMm(rootFrame, this);
    this.pages = share ? share.pages : new PageTable(machine, this);
  }

  /** @internal Task: a space's accesses use its own tables. */
  protected get home(): this {
    return this;
  }

  /** Physical address of the top-level table: the value CR3 holds for this space. */
  get root(): number {
    return this.rootFrame * PAGE_SIZE;
  }

  /**
   * The PCID tagging this space's TLB entries on CPU 0: with Linux's dynamic ASIDs the ASID it
   * holds there + 1 (0 when it holds none), with `asids: 'static'` its own PCID; 0 without PCIDs.
   * Each CPU's: `machine.cpu(i).pcidOf(space)`.
   */
  get pcid(): number {
    return this.machine.cpu(0).asids.pcidOf(this.mm);
  }

  /** True once destroy() has run. */
  get destroyed(): boolean {
    return this.dead;
  }

  /**
   * A new thread of this process: a task that shares this address space, with the access API
   * of a space. It runs nowhere until a CPU runs it (`machine.cpu(i).run(thread)`); an access
   * by a thread that runs nowhere schedules it on CPU 0 first.
   */
  createThread(): Thread<this> {
    this.live();
    const t = new Thread(this.machine, this.machine.taskId(), this);
    this.threads.add(t);
    return t;
  }

  /** @internal The CPU its main thread runs on, or undefined. */
  get runningOn(): Cpu | undefined {
    return this.cpu;
  }

  /** @internal Its tasks: the space itself (its main thread), then its threads. */
  *tasks(): Iterable<SchedTask> {
    yield this;
    yield* this.threads;
  }

  /**
   * Frees every frame this space owns (its tables and the frames only it references); kernel
   * tables stay. Its tasks stop running first (their CPUs go idle) and its threads exit; the
   * whole address space is flushed, with freed page tables, before its frames are reused.
   */
  destroy(): void {
    this.live();
    this.beforeDestroy();
    const m = this.machine;
    // The OOM killer destroys a process from inside another's fault: that fault goes on on its own CPU.
    const was = m.selected;
    m.kernelFor(this);
    m.release(this);
    for (const t of this.threads) t.markExited();
    this.threads.clear();
    const st = m.core.destroyRoot(this.rootFrame);
    this.dead = true;
    if (m.selected !== was) m.selectCpu(was);
    this.afterDestroy();
    if (st < 0) throw m.statusError(st, 'destroy', `root ${hex(this.root)}`);
  }

  /** What a layer above must drop before the tables are freed (the VMM: its regions). */
  protected beforeDestroy(): void {}

  /** What a layer above gives back once the tables are freed (the VMM: its hold on the huge zero page). */
  protected afterDestroy(): void {}

  /**
   * @internal Moves this space to tables of its own (a vfork child's exec): root, TLB context,
   * page operations; the CPU running it switches to them (exec's activate_mm).
   */
  rebind(rootFrame: number): void {
    this.rootFrame = rootFrame;
    this.mm = this.machine.newMm(rootFrame, this);
    this.pages = new PageTable(this.machine, this);
    this.machine.switchTaskMm(this);
  }

  /** @internal A vfork parent stops (true) until its child execs or exits (false). */
  setWaiting(waiting: boolean): void {
    this.waiting = waiting;
  }

  /** @internal Marks the space dead without freeing anything (a vfork child that exits owns no tables): its CPU goes idle. */
  protected markExited(): void {
    if (this.cpu) this.machine.idle(this.cpu);
    for (const t of this.threads) t.markExited();
    this.threads.clear();
    this.dead = true;
  }

  /** @internal The machine was disposed. */
  markDestroyed(): void {
    this.dead = true;
    for (const t of this.threads) t.markExited();
  }

  /** @internal A thread exited. */
  threadExited(t: Thread): void {
    this.threads.delete(t);
  }

  // ---------------------------------------------------------------- page-level API

  /**
   * Maps the page at `va` to the frame(s) at `pa` with `flags`; the mapping takes a reference
   * on every frame it covers. EEXIST if anything is mapped there, EINVAL for a frame that is
   * not allocated, ENOMEM when a page table cannot be allocated (nothing changes).
   */
  mapPage(va: number | bigint, pa: number | bigint, flags?: PageFlags, options?: MapOptions): void {
    strictOptions(options, 'options', ['pageSize']);
    const size = options?.pageSize ?? PAGE_SIZE;
    const [lo, hi] = encodeFlags(flags);
    this.live();
    const m = this.machine;
    m.kernelFor(this);
    if (!PAGE_SIZES.includes(size)) throw new VmmError('EINVAL', `options.pageSize must be 4096, 2 MiB or 1 GiB, got ${describe(size)}`);
    const la = toLinearAligned(va, size, 'va');
    const p = toPhysical(pa, m.physical.size, 'pa');
    if (p % size !== 0) throw new VmmError('EINVAL', `pa ${hex(p)} is not aligned to ${sizeName(size)}`);
    if (p + size > m.physical.size) throw new VmmError('EINVAL', `pa ${hex(p)}: a ${sizeName(size)} page there runs past the end of physical memory`);
    let ok: boolean;
    try {
      ok = this.pages.mapFrames(la, p / PAGE_SIZE, 1, { lo, hi }, size);
    } catch (e) {
      // Everything else was checked: the core refuses only frames that are not allocated.
      if (e instanceof VmmError && e.code === 'EINVAL') throw new VmmError('EINVAL', `pa ${hex(p)}: frame${size > PAGE_SIZE ? 's are' : ' is'} not allocated (allocate with machine.physical.allocFrame${size > PAGE_SIZE ? 's' : ''}())`);
      throw e;
    }
    if (!ok) throw new VmmError('ENOMEM', `mapPage: out of physical memory for page tables (va ${hex(fromLinear(la))})`);
    // A not-present entry is never cached, so a new mapping needs no TLB invalidation.
  }

  /** Unmaps the page mapped at `va` (its whole 4K/2M/1G page; `va` must be its start). ENOENT when nothing is mapped. */
  unmapPage(va: number | bigint): void {
    this.live();
    const la = toLinearAligned(va, PAGE_SIZE, 'va');
    const size = this.leafAt(la, 'unmapPage');
    this.machine.kernelFor(this);
    // Linux's zap: the cleared leaf (and any table freed) in an mmu_gather, flushed once.
    const g = new TlbGather();
    this.pages.unmap(la, size / PAGE_SIZE, g);
    this.pages.finish(g);
  }

  /** Replaces the hardware flags of the page mapped at `va` (A and D are kept). ENOENT when nothing is mapped. */
  protectPage(va: number | bigint, flags?: PageFlags): void {
    const [lo, hi] = encodeFlags(flags);
    this.live();
    const la = toLinearAligned(va, PAGE_SIZE, 'va');
    const size = this.leafAt(la, 'protectPage');
    this.machine.kernelFor(this);
    // A whole leaf is covered: no split, so no allocation can fail. Flushed when the change needs it (pte_needs_flush).
    const g = new TlbGather();
    this.pages.protect(la, size / PAGE_SIZE, { setLo: lo, setHi: hi, clearLo: FLAG_MASK_LO & ~lo, clearHi: FLAG_MASK_HI & ~hi }, g);
    this.pages.finish(g);
  }

  /** Pure page walk (no TLB fill, no A/D update): the translation of `va`, or undefined when not mapped. */
  translate(va: number | bigint): Translation | undefined {
    this.live();
    const leaf = this.pages.leaf(toLinear(va, 'va'));
    if (leaf === undefined) return undefined;
    return { physical: leaf.physical, pageSize: leaf.pageSize, flags: decodeFlags(leaf.lo, leaf.hi), software: decodeSoftware(leaf.lo), entry: entryBigInt(leaf.lo, leaf.hi) };
  }

  /**
   * The page walk of `va` as the hardware would do it, entry by entry, top first: one step per
   * level visited, ending at a leaf, a not-present entry, or an entry that points outside RAM.
   * Reads simulated RAM only (no TLB, no A/D update).
   */
  walk(va: number | bigint): WalkStep[] {
    this.live();
    return walkEntries(this.machine.physical, this.rootFrame, toLinear(va, 'va'));
  }

  /** Size of the leaf covering `la` (which must be its first byte). */
  private leafAt(la: number, op: string): number {
    const leaf = this.pages.leaf(la);
    if (leaf === undefined) throw new VmmError('ENOENT', `${op}: va ${hex(fromLinear(la))} is not mapped`);
    if (la % leaf.pageSize !== 0) throw new VmmError('EINVAL', `${op}: va ${hex(fromLinear(la))} is inside a ${sizeName(leaf.pageSize)} page; pass the page's first address`);
    return leaf.pageSize;
  }

  /** @internal Throws when destroyed (or the machine was disposed, which destroys every space). */
  live(): void {
    if (this.dead || this.waiting) this.throwDead();
  }

  /** @internal True once destroyed (or the machine disposed). */
  gone(): boolean {
    return this.dead;
  }

  private throwDead(): never {
    this.machine.checkLive();
    if (!this.dead) throw new VmmError('EBUSY', 'this process waits for its vfork child: it runs again when the child calls exec() or destroy()');
    throw new VmmError('EINVAL', 'address space has been destroyed');
  }
}

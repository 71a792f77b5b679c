/**
 * A process's address space: the MMU level (MmuSpace: CR3, PCID, page-level API, accesses)
 * with the VMM on top — regions, the mmap family with Linux's semantics, the fault policy
 * (demand paging, COW, stack growth), fork and statistics.
 */
import { MmuSpace } from '../machine/mmu-space.js';
import type { Mmu } from '../machine/mmu.js';
import { VirtualMemory } from './virtual-memory.js';
import * as sys from './syscalls.js';
import type { MmapOptions, RegionOptions } from './syscalls.js';
import type { Region, RegionRecord } from './region.js';
import { formatProt } from './prot.js';
import { positionLabel, type ProcessLayout } from './maps-format.js';
import type { SpaceStats } from './vm-stats.js';
import type { VmmContext } from './vmm-context.js';
import type { ReclaimCounters } from '../reclaim/reclaim-stats.js';
import { toLinear } from '../address.js';
import { madvise, type MadviseAdvice } from './madvise.js';
import { MLOCK_ONFAULT, mlockall, mlockRange, munlockall } from './mlock.js';
import { mremap, type MremapOptions } from './mremap.js';
import { mincore } from './mincore.js';
import type { Rlimit, RlimitName } from './rlimits.js';
import { VM_LOCKED, VM_LOCKONFAULT } from './vm-flags.js';
import { describe } from '../address.js';
import { VmmError } from '../errors.js';
import { strictOptions } from '../strict-options.js';
import { INITIAL_STACK_SIZE } from './layout.js';
import { msync, type MsyncFlags } from './msync.js';
import { RegularFile } from './file/regular-file.js';
import { checkOomScoreAdj, oomScore, type OomKiller } from './oom-killer.js';
import { userTablePages } from '../machine/table-pages.js';
import { VM_HUGEPAGE, VM_NORESERVE } from './vm-flags.js';
import * as proc from './proc/index.js';
import type { PagemapEntry, PagemapOptions, ProcFormatOptions, ProcStatm, ProcStatus, SmapsEntry, SmapsRollup } from './proc/index.js';

/** What a process needs from its machine (the composition root): a fork child, a vfork child, tables of its own after a vfork child's exec, a new image's layout. @internal */
export interface ProcessHooks {
  /** A fresh space of the same machine for a fork child (no stack region; the regions come from the parent). */
  fork(parent: AddressSpace): AddressSpace;
  /** A vfork child: an unregistered space on the parent's tables and VMM state. */
  borrow(parent: AddressSpace): AddressSpace;
  /** Gives a vfork child that execs tables, a PCID, VMM state and a resident set of its own, and registers it. */
  reroot(child: AddressSpace, lender: AddressSpace): void;
  /** A new process image's layout (randomized when the machine has ASLR), for RLIMIT_STACK `stackLimit`. */
  layout(stackLimit: number): { stackTop: number; mmapBase: number; heapStart: number };
}

/** Options of exec. */
export interface ExecOptions {
  /** Create the new image's [stack] region (default true). */
  stack?: boolean;
}

/** An isolated address space whose kernel half is shared with every other, managed by the VMM. */
export class AddressSpace extends MmuSpace {
  /** The VMM state: regions, break, stack, statistics. @internal */
  vm: VirtualMemory;
  /** @internal The machine's OOM killer (set by the machine). */
  oomKiller: OomKiller | undefined;
  private adj = 0;
  /** The parent whose address space this vfork child borrows (until it execs or exits). */
  private lender: AddressSpace | undefined;
  /** The vfork child borrowing this process's address space (this process waits meanwhile). */
  private borrower: AddressSpace | undefined;

  /** @internal What the machine does for this process's fork, vfork and exec. */
  readonly hooks: ProcessHooks;

  /** @internal Use machine.createAddressSpace(). */
  constructor(machine: Mmu, rootFrame: number, ctx: VmmContext, layout: { heapStart: number; stackTop: number; stackLimit: number; mmapBase: number }, hooks: ProcessHooks, share?: AddressSpace) {
    super(machine, rootFrame, share);
    this.hooks = hooks;
    this.vm = new VirtualMemory(this.pages, ctx, layout);
    this.faultHandler = this.vm;
  }

  /** The process id: its main thread's id (Linux's tgid), unique for the machine's life. */
  get pid(): number {
    return this.tid;
  }

  /** mmap(2): creates a mapping and returns its address. See MmapOptions. */
  mmap(options: MmapOptions): number {
    const o = snapshot(options); // getters run once, before the liveness check
    return this.call('mmap', () => sys.mmap(this.vm, o));
  }
  /** munmap(2): removes mappings in [addr, addr+length); holes are fine. */
  munmap(addr: number | bigint, length: number): void {
    this.call('munmap', () => sys.munmap(this.vm, addr, length));
  }
  /** mprotect(2): changes the protection of [addr, addr+length); over a hole it changes what lies before the hole, then fails with ENOMEM. */
  mprotect(addr: number | bigint, length: number, prot: string): void {
    this.call('mprotect', () => sys.mprotect(this.vm, addr, length, prot));
  }
  /** brk(2): sets the program break (returns it); without an argument, returns the current break. */
  brk(addr?: number | bigint): number {
    return this.call('brk', () => sys.brk(this.vm, addr));
  }
  /** sbrk(3): moves the break by `increment` bytes; returns the previous break. */
  sbrk(increment: number): number {
    return this.call('sbrk', () => sys.sbrk(this.vm, increment));
  }
  /** fork(2): a child address space; private pages become copy-on-write in both, shared ones stay shared. */
  fork(): AddressSpace {
    return this.call('fork', () => this.forkChild());
  }
  /** fork's work: the child space, its regions and tables (destroyed again when copying fails). */
  private forkChild(): AddressSpace {
    const child = this.hooks.fork(this);
    child.adj = this.adj; // copy_signal: a fork child inherits oom_score_adj
    try {
      this.vm.forkInto(child.vm);
    } catch (e) {
      child.destroy();
      throw e;
    }
    return child;
  }
  /**
   * vfork(2): a child that borrows this process's address space — the same regions, tables and
   * memory, so its writes are this process's — until it calls exec() (it gets an address space of
   * its own) or destroy() (it exits). Meanwhile this process waits: every call on it throws
   * VmmError EBUSY, as the parent of vfork does not run until the child execs or exits. The child
   * is not a separate address space until its exec (machine.addressSpaces() does not list it; its
   * faults count in the shared memory's statistics).
   */
  vfork(): AddressSpace {
    return this.call('vfork', () => this.borrowedChild());
  }
  /** vfork's work: the child on this process's tables and VMM state. */
  private borrowedChild(): AddressSpace {
    const child = this.hooks.borrow(this);
    child.vm = this.vm;
    child.faultHandler = this.vm;
    child.adj = this.adj;
    child.oomKiller = this.oomKiller;
    child.lender = this;
    this.borrower = child;
    // The child runs where the parent ran (the same mm: no CR3 reload); the parent sleeps.
    if (this.cpu) this.machine.schedule(this.cpu, child);
    this.setWaiting(true);
    return child;
  }

  /**
   * execve(2)'s memory side: the address space is replaced by a new image's — no region, an empty
   * heap at a new start, a fresh [stack] (options.stack, default true), a new mmap base (all
   * randomized when the machine has ASLR) — while the process keeps what Linux keeps across exec:
   * its identity (this object, its place among the machine's spaces and in its fork family),
   * fault counters, resource limits, oom_score_adj, resident limit and reclaim counters. Locks
   * and mlockall(MCL_FUTURE) end. A vfork child gets its own address space here and its parent
   * runs again. ENOMEM (nothing changed) when the new stack cannot be charged.
   */
  exec(options?: ExecOptions): void {
    const o = snapshot(options);
    strictOptions(o, 'options', ['stack']);
    const stack = o?.stack ?? true;
    if (typeof stack !== 'boolean') throw new VmmError('EINVAL', `options.stack must be a boolean, got ${describe(stack)}`);
    this.call('exec', () => this.newImage(stack));
  }
  /** exec's work (see exec). */
  private newImage(stack: boolean): void {
    const lender = this.lender;
    const layout = this.hooks.layout(this.vm.stackLimit);
    // The new image's stack is charged first (bprm_mm_init), before the point of no return: a refused exec changes nothing.
    const oc = this.vm.ctx.overcommit;
    if (stack) oc.charge(INITIAL_STACK_SIZE / 4096, undefined, 'exec');
    if (lender !== undefined) {
      // A vfork child leaves the borrowed memory for tables of its own; its parent runs again.
      try {
        this.hooks.reroot(this, lender);
      } catch (e) {
        if (stack) oc.uncharge(INITIAL_STACK_SIZE / 4096);
        throw e;
      }
      this.lender = undefined;
      lender.borrower = undefined;
      lender.setWaiting(false);
    }
    // de_thread: the process's other threads end.
    for (const t of [...this.threads]) t.exit();
    this.vm.exec(layout, stack, true);
  }

  /** Frees this process's address space; a vfork child that still borrows its parent's just exits (the parent runs again). */
  override destroy(): void {
    const lender = this.lender;
    if (lender !== undefined) {
      this.live();
      this.lender = undefined;
      lender.borrower = undefined;
      lender.setWaiting(false);
      this.markExited();
      return;
    }
    const borrower = this.borrower;
    if (borrower !== undefined) {
      // Destroyed while a vfork child borrows its memory (an OOM kill): the child goes with it.
      this.borrower = undefined;
      borrower.lender = undefined;
      borrower.markExited();
      this.setWaiting(false);
    }
    super.destroy();
  }

  /** The regions in address order. */
  regions(): Region[] {
    this.live();
    const layout = this.vm.layout;
    return [...this.vm.regions].map((r) => publicRegion(this.vm, r, layout));
  }
  /** The regions as Linux prints /proc/PID/maps. */
  maps(): string {
    this.live();
    return this.vm.maps();
  }
  /** The region containing `addr`, or undefined. */
  findRegion(addr: number | bigint): Region | undefined {
    this.live();
    const r = this.vm.regions.find(sys.userAddress(addr, 'addr'));
    return r && publicRegion(this.vm, r, this.vm.layout);
  }
  /** Creates a region at an exact place (the seed kernel's region API); EEXIST over existing regions. */
  createRegion(options: RegionOptions): Region {
    const o = snapshot(options);
    return this.call('createRegion', () => publicRegion(this.vm, sys.createRegion(this.vm, o), this.vm.layout));
  }
  /** Destroys the whole region containing `addr`. */
  destroyRegion(addr: number | bigint): void {
    this.call('destroyRegion', () => sys.destroyRegion(this.vm, addr));
  }
  /** Allocates `size` bytes of anonymous private memory anywhere; returns its address. */
  allocVirtual(size: number, prot: string = 'rw'): number {
    return this.call('allocVirtual', () => sys.allocVirtual(this.vm, size, prot));
  }
  /** Frees exactly what allocVirtual returned at `addr`. */
  freeVirtual(addr: number | bigint): void {
    this.call('freeVirtual', () => sys.freeVirtual(this.vm, addr));
  }
  /** Statistics of this space: faults, resident and shared pages, virtual size. */
  stats(): SpaceStats {
    this.live();
    return this.vm.stats();
  }

  /**
   * Memory pressure as /proc/PID/status shows it: VmRSS and VmSwap (4 KiB pages), the resident
   * limit, and this process's reclaim counters (undefined without a resident limit).
   */
  reclaimStats(): { VmRSS: number; VmSwap: number; residentLimit: number | undefined; counters: ReclaimCounters | undefined } {
    this.live();
    const rs = this.vm.resident;
    return { VmRSS: this.vm.residentPages, VmSwap: rs?.swappedPages ?? 0, residentLimit: rs?.config.limit, counters: rs && { ...rs.counters, pgfault: this.vm.faults.minor + this.vm.faults.major, pgmajfault: this.vm.faults.major } };
  }

  /** /proc/PID/oom_score_adj: -1000 (never OOM-killed) to 1000 (killed first); 0 by default, inherited by a fork child. */
  get oomScoreAdj(): number {
    return this.adj;
  }
  /** Sets oom_score_adj: a whole number from -1000 to 1000, else EINVAL. */
  set oomScoreAdj(value: number) {
    this.live();
    this.adj = checkOomScoreAdj(value, 'oomScoreAdj');
  }

  /** /proc/PID/oom_score: oom_badness (rss + swap + page-table pages, oomScoreAdj applied) scaled into 0..2000 against RAM + swap; 0 at oomScoreAdj -1000. */
  oomScore(): number {
    this.live();
    const ctx = this.vm.ctx;
    // The resident set's badness when there is one (the OOM killer's own figure); without one, no page can be in swap.
    const points = this.vm.resident?.badness() ?? this.pages.rss + userTablePages(ctx.frames, this.rootFrame);
    return oomScore(points, this.adj, ctx.totalPages);
  }

  /** madvise(2) over [addr, addr+length) with any advice Linux implements for memory (see MadviseAdvice), with Linux's errors. */
  madvise(addr: number | bigint, length: number | bigint, advice: MadviseAdvice): void {
    this.call('madvise', () => madvise(this.vm, addr, length, advice));
  }
  /** mlock(2): locks [addr, addr+length) (rounded to pages; its regions split at the edges, VM_LOCKED) and faults it in; locked pages are never evicted. */
  mlock(addr: number | bigint, length: number | bigint): void {
    this.call('mlock', () => mlockRange(this.vm, addr, length, VM_LOCKED, 'mlock'));
  }
  /** mlock2(2): mlock, or with flags MLOCK_ONFAULT (1) lock the pages as they are faulted in (nothing is faulted in now). */
  mlock2(addr: number | bigint, length: number | bigint, flags = 0): void {
    this.call('mlock2', () => {
      if (typeof flags !== 'number' || !Number.isInteger(flags) || (flags & ~MLOCK_ONFAULT) !== 0) throw new VmmError('EINVAL', `mlock2: flags must be 0 or MLOCK_ONFAULT (1), got ${describe(flags)}`);
      mlockRange(this.vm, addr, length, VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0), 'mlock2');
    });
  }
  /** munlock(2): the pages of [addr, addr+length) become evictable again. */
  munlock(addr: number | bigint, length: number | bigint): void {
    this.call('munlock', () => mlockRange(this.vm, addr, length, 0, 'munlock'));
  }
  /** mlockall(2): MCL_CURRENT (1) locks every region now, MCL_FUTURE (2) every later one, MCL_ONFAULT (4) locks pages as they are faulted in. */
  mlockall(flags: number): void {
    this.call('mlockall', () => mlockall(this.vm, flags));
  }
  /** munlockall(2): unlocks every region, and later ones are no longer locked. */
  munlockall(): void {
    this.call('munlockall', () => munlockall(this.vm));
  }
  /** mremap(2): grows, shrinks or moves the mapping at addr (see MremapOptions); returns its address. Moves page-table entries, never bytes. */
  mremap(addr: number | bigint, oldLength: number | bigint, newLength: number | bigint, options?: MremapOptions): number {
    const o = snapshot(options);
    return this.call('mremap', () => mremap(this.vm, addr, oldLength, newLength, o));
  }
  /** mincore(2): one byte per page of [addr, addr+length), 1 when the page is resident (mapped, or in the memory backing it). */
  mincore(addr: number | bigint, length: number | bigint): Uint8Array {
    return this.call('mincore', () => mincore(this.vm, addr, length));
  }
  /** getrlimit(2) of RLIMIT_AS, RLIMIT_DATA, RLIMIT_STACK or RLIMIT_MEMLOCK: { soft, hard } in bytes, Infinity for none. */
  getrlimit(resource: RlimitName): Rlimit {
    this.live();
    return this.vm.rlimits.get(resource);
  }
  /** setrlimit(2): EINVAL for an unknown resource or soft above hard, EPERM to raise the hard limit. */
  setrlimit(resource: RlimitName, soft: number | bigint, hard: number | bigint): void {
    this.call('setrlimit', () => this.vm.rlimits.set(resource, soft, hard));
  }

  /** msync(2): MS_SYNC writes back the dirty file pages MAP_SHARED mappings of [addr, addr+length) map and waits for them; Linux's errors (EINVAL, ENOMEM for unmapped parts, EBUSY). */
  msync(addr: number | bigint, length: number, flags: MsyncFlags): void {
    this.call('msync', () => {
      this.vm.ctx.flusher.catchUp();
      msync(this.vm, addr, length, flags);
    });
  }

  /** /proc/PID/smaps: one entry per region with the kernel's fields (kB) in its order; `{ format: 'text' }` gives the file's exact text. */
  smaps(): SmapsEntry[];
  smaps(options: { format: 'text' }): string;
  smaps(options?: ProcFormatOptions): SmapsEntry[] | string;
  smaps(options?: ProcFormatOptions): SmapsEntry[] | string {
    const text = proc.procFormat(options, 'smaps');
    this.live();
    return text ? proc.smapsText(this.vm) : proc.smaps(this.vm);
  }
  /** /proc/PID/smaps_rollup: every region's figures added up (with Pss split into anonymous, file and shmem); `{ format: 'text' }` gives the file's text. */
  smapsRollup(): SmapsRollup;
  smapsRollup(options: { format: 'text' }): string;
  smapsRollup(options?: ProcFormatOptions): SmapsRollup | string;
  smapsRollup(options?: ProcFormatOptions): SmapsRollup | string {
    const text = proc.procFormat(options, 'smapsRollup');
    this.live();
    const r = proc.smapsRollup(this.vm);
    return text ? proc.formatSmapsRollup(r) : r;
  }
  /**
   * /proc/PID/pagemap for `pages` pages from the page of `addr`: the file's 64-bit entries (bit
   * 63 present, 62 swapped, 61 file/shared, 56 exclusive, 55 soft-dirty, bits 0-54 the frame or
   * swap type and offset); `{ format: 'entries' }` decodes them, `{ pfn: false }` hides frames.
   */
  pagemap(addr: number | bigint, pages: number, options?: PagemapOptions & { format?: undefined }): BigUint64Array;
  pagemap(addr: number | bigint, pages: number, options: PagemapOptions & { format: 'entries' }): PagemapEntry[];
  pagemap(addr: number | bigint, pages: number, options?: PagemapOptions): BigUint64Array | PagemapEntry[];
  pagemap(addr: number | bigint, pages: number, options?: PagemapOptions): BigUint64Array | PagemapEntry[] {
    const o = proc.pagemapRange(sys.userAddress(addr, 'addr'), pages, options);
    this.live();
    const words = proc.pagemap(this.vm, o.first, o.pages, o.pfn);
    return o.entries ? Array.from(words, proc.decodePagemapEntry) : words;
  }
  /**
   * Writes /proc/PID/clear_refs: 1 clears every page's Accessed bit, 2 those of anonymous
   * regions, 3 those of regions mapping shared memory; 4 clears soft-dirty (pagemap bit 55)
   * and write-protects, so the next write to a page marks it again; 5 resets VmHWM to VmRSS.
   */
  clearRefs(value: 1 | 2 | 3 | 4 | 5): void {
    this.syscall();
    proc.clearRefs(this.vm, value);
  }
  /** /proc/PID/status's memory lines (VmPeak .. VmSwap, HugetlbPages; kB); `{ format: 'text' }` gives them as the file prints them. */
  status(): ProcStatus;
  status(options: { format: 'text' }): string;
  status(options?: ProcFormatOptions): ProcStatus | string;
  status(options?: ProcFormatOptions): ProcStatus | string {
    const text = proc.procFormat(options, 'status');
    this.live();
    const s = proc.procStatus(this.vm);
    return text ? proc.formatStatus(s) : s;
  }
  /** /proc/PID/statm (pages: size resident shared text lib data dt); `{ format: 'text' }` gives the file's line. */
  statm(): ProcStatm;
  statm(options: { format: 'text' }): string;
  statm(options?: ProcFormatOptions): ProcStatm | string;
  statm(options?: ProcFormatOptions): ProcStatm | string {
    const text = proc.procFormat(options, 'statm');
    this.live();
    const s = proc.procStatm(this.vm);
    return text ? proc.formatStatm(s) : s;
  }

  /** Reports a reference to `va` that hit (no fault) to an every-reference policy (lru, lfu, 2q, arc, opt); drivers that see every reference call it. */
  reference(va: number | bigint, write = false): void {
    this.call('reference', () => this.vm.resident?.reference(Math.floor(toLinear(va) / 4096), write));
  }

  /**
   * The entry of a system call: the space is live, and the kernel runs on the CPU of its main
   * thread (else of its lowest-numbered running thread, else CPU 0): the CPU that initiates the
   * call's TLB flushes.
   */
  private syscall(): void {
    this.live();
    this.machine.kernelFor(this);
  }

  /**
   * Drops the regions (and their shared-object attachments) before the tables are freed. From
   * inside a plug-in's callback it is refused (EBUSY) before anything changes; otherwise it
   * always completes (the policy is told nothing: it goes with the process).
   */
  protected override beforeDestroy(): void {
    this.vm.ctx.refuseReentry('destroy');
    this.vm.teardown();
  }

  /** Gives back what outlives the tables (the huge zero page, freed with its last holder). */
  protected override afterDestroy(): void {
    this.vm.released();
  }

  /**
   * A VMM call: refused from inside a plug-in policy's callback (EBUSY, nothing changed); when
   * it is done, the plug-in is told what changed and its first error is thrown — the call's
   * changes stand (a call that failed itself reports its own error; the plug-in is still told).
   */
  private call<T>(op: string, f: () => T): T {
    this.live();
    this.vm.ctx.refuseReentry(op);
    this.machine.kernelFor(this);
    let out: T;
    try {
      out = f();
    } catch (e) {
      try {
        this.vm.resident?.settle(op);
      } catch {
        // The call's own error is the one to report; the plug-in was told all the same.
      }
      throw e;
    }
    this.vm.resident?.settle(op);
    return out;
  }
}

/** An options object's own properties read once (getters run now), so nothing user code does later can change them. */
function snapshot<T>(options: T): T {
  return options !== null && typeof options === 'object' ? { ...options } : options;
}

const ANONYMOUS = Object.freeze({ type: 'anonymous' as const });

/** A region's backing as users see it: anonymous, a regular file by path, or a shared memory object by id. */
function backingOf(vm: VirtualMemory, r: RegionRecord): Region['backing'] {
  const b = r.backing;
  if (b.type === 'anonymous') return ANONYMOUS;
  const inode = vm.ctx.object(b.objectId);
  return inode instanceof RegularFile ? { type: 'file', path: inode.path, offset: b.offset } : { type: 'object', objectId: b.objectId, offset: b.offset };
}

function publicRegion(vm: VirtualMemory, r: RegionRecord, layout: ProcessLayout): Region {
  // Linux tells the heap and the stack by position (anonymous memory merges across kinds): the kind and name say where it is.
  const label = positionLabel(r, layout);
  const kind = label === '[heap]' ? 'heap' : label === '[stack]' ? 'stack' : r.kind === 'heap' ? 'mmap' : r.kind;
  const out: { -readonly [K in keyof Region]: Region[K] } = { start: r.start, end: r.end, prot: formatProt(r.prot), kind, shared: r.shared, backing: backingOf(vm, r) };
  if (label !== undefined) out.name = label;
  else if (r.name !== undefined) out.name = r.name;
  if ((r.flags & VM_HUGEPAGE) !== 0) out.hugePages = true;
  if ((r.flags & VM_NORESERVE) !== 0) out.noReserve = true;
  return out;
}


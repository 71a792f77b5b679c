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
import type { SpaceStats } from './vm-stats.js';
import type { VmmContext } from './vmm-context.js';
import type { ReclaimCounters } from '../reclaim/reclaim-stats.js';
import { toLinear } from '../address.js';
import { madvise, mlock, type MadviseAdvice } from './madvise.js';
import { checkOomScoreAdj, oomScore, type OomKiller } from './oom-killer.js';
import { userTablePages } from '../machine/table-pages.js';
import * as proc from './proc/index.js';
import type { PagemapEntry, PagemapOptions, ProcFormatOptions, ProcStatm, ProcStatus, SmapsEntry, SmapsRollup } from './proc/index.js';

/** How a space makes its fork child: a fresh space of the same machine (no stack region; the regions come from the parent). */
export type SpawnChild = (parent: AddressSpace) => AddressSpace;

/** An isolated address space whose kernel half is shared with every other, managed by the VMM. */
export class AddressSpace extends MmuSpace {
  /** The VMM state: regions, break, stack, statistics. @internal */
  readonly vm: VirtualMemory;
  /** @internal The machine's OOM killer (set by the machine). */
  oomKiller: OomKiller | undefined;
  private adj = 0;

  /** @internal Use machine.createAddressSpace(). */
  constructor(machine: Mmu, rootFrame: number, ctx: VmmContext, layout: { heapStart: number; stackTop: number; stackLimit: number }, /** @internal */ readonly spawn: SpawnChild) {
    super(machine, rootFrame);
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
    const child = this.spawn(this);
    child.adj = this.adj; // copy_signal: a fork child inherits oom_score_adj
    try {
      this.vm.forkInto(child.vm);
    } catch (e) {
      child.destroy();
      throw e;
    }
    return child;
  }
  /** The regions in address order. */
  regions(): Region[] {
    this.live();
    return [...this.vm.regions].map(publicRegion);
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
    return r && publicRegion(r);
  }
  /** Creates a region at an exact place (the seed kernel's region API); EEXIST over existing regions. */
  createRegion(options: RegionOptions): Region {
    const o = snapshot(options);
    return this.call('createRegion', () => publicRegion(sys.createRegion(this.vm, o)));
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
    const points = this.vm.resident?.badness() ?? this.pages.residentPages + userTablePages(ctx.frames, this.rootFrame);
    return oomScore(points, this.adj, ctx.totalPages);
  }

  /** madvise(2): MADV_DONTNEED, MADV_FREE, MADV_COLD or MADV_PAGEOUT over [addr, addr+length), with Linux's errors. */
  madvise(addr: number | bigint, length: number, advice: MadviseAdvice): void {
    this.call('madvise', () => madvise(this.vm, addr, length, advice));
  }
  /** mlock(2): locks [addr, addr+length) (rounded to pages) and faults it in; locked pages are never evicted. */
  mlock(addr: number | bigint, length: number): void {
    this.call('mlock', () => mlock(this.vm, addr, length, true));
  }
  /** munlock(2): the pages of [addr, addr+length) become evictable again. */
  munlock(addr: number | bigint, length: number): void {
    this.call('munlock', () => mlock(this.vm, addr, length, false));
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

function publicRegion(r: RegionRecord): Region {
  const out: { -readonly [K in keyof Region]: Region[K] } = { start: r.start, end: r.end, prot: formatProt(r.prot), kind: r.kind, shared: r.shared, backing: r.backing };
  if (r.name !== undefined) out.name = r.name;
  if (r.hugePages) out.hugePages = true;
  if (r.noReserve) out.noReserve = true;
  return out;
}


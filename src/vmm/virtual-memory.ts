/**
 * The virtual memory manager of one address space: its regions (VMAs) and the calls that
 * change them — mmap, munmap, mprotect, brk — with Linux's semantics, and the fault handler
 * that gives regions their pages (demand zero, the zero page, shared objects, COW, stack growth).
 * It reaches the page tables only through the MMU level's typed page operations (PageTable),
 * one operation per region range, never one per page. A fault's outcome is a value.
 */
import { AGAIN, KILLED, OOM } from './fault-outcomes.js';
import { PAGE_SIZE, PTE, PFEC } from '../core/constants.js';
import { hex } from '../hex.js';
import { RETRY, UNHANDLED, type FaultHandler, type FaultInfo, type FaultOutcome } from '../machine/fault.js';
import type { PageAttrs, PageTable } from '../machine/page-table.js';
import { VmmError } from '../errors.js';
import { RegionMap } from './region-map.js';
import type { RegionRecord as Region } from './region.js';
import { FORK_PRIVATE, FORK_SHARED, PROT_WRITE, SOFT_DIRTY, protIndex, type PageProt } from './pte-attrs.js';
import { newFaultCounters, type FaultCounters, type SpaceStats } from './vm-stats.js';
import { SharedMemoryObject } from './shared-memory.js';
import type { VmmContext } from './vmm-context.js';
import type { Inode } from './file/inode.js';
import type { File } from './file/file.js';
import type { RegularFile } from './file/regular-file.js';
import { fileFault, isCachePage, sharedWriteFault } from './file/file-fault.js';
import { formatMaps } from './maps-format.js';
import { STACK_GUARD_GAP } from './layout.js';
import type { ResidentSet } from './resident-set.js';
import { memcgOutOfMemory } from './oom-killer.js';
import { ProcState } from './proc/proc-state.js';
import { recordHiwater } from './proc/rss-counts.js';

const TWO47 = 2 ** 47;
const HUGE_PAGE = 2 ** 21;

/** A new region: a record without its backing, plus the inode (and byte offset) that backs it, if any, and the open file it is mapped through. */
export type RegionSpec = Omit<Region, 'backing'> & { object?: Inode; offset?: number; file?: File };

/**
 * A VMM fault hook for an address outside every region (after stack growth declined): it may
 * create a region there (through addRegion) and return it; undefined leaves the fault SEGV_MAPERR.
 */
export type MissingRegionHook = (vm: VirtualMemory, la: number) => Region | undefined;

/** The VMM state of one address space. */
export class VirtualMemory implements FaultHandler {
  /** @internal */ regions: RegionMap;
  /** Start of the heap (start_brk) and the current break. */
  heapStart: number;
  brkEnd: number;
  /** Lowest address the stack may grow down to, and the stack's top. */
  stackTop: number;
  stackLimit: number;
  readonly faults: FaultCounters = newFaultCounters();
  sharedPages = 0;
  /** @internal Ranges allocVirtual returned: start → end (freeVirtual frees exactly these). */
  allocations = new Map<number, number>();
  /** @internal Called for a fault outside every region (replay's anonymous mode creates one there). */
  onMissingRegion: MissingRegionHook | undefined;
  /** @internal The resident limit, policy and swap state, when the space has a resident limit. */
  resident: ResidentSet | undefined;
  /** @internal The space was torn down (a fault that ran reclaim must not go on in it). */
  dead = false;
  /** @internal What /proc needs beyond regions and tables: high-water marks, soft-dirty state. */
  proc = new ProcState();

  constructor(
    readonly pages: PageTable,
    readonly ctx: VmmContext,
    init: { heapStart: number; stackTop: number; stackLimit: number },
  ) {
    this.regions = new RegionMap();
    this.heapStart = init.heapStart;
    this.brkEnd = init.heapStart;
    this.stackTop = init.stackTop;
    this.stackLimit = init.stackLimit;
  }

  /** 4 KiB pages mapped in this space's user half (Linux's RSS). */
  get residentPages(): number {
    return this.pages.residentPages;
  }

  /** @internal The page attributes of a region (its vm_page_prot), computed once per machine. */
  pageProt(r: { prot: number; shared: boolean }): PageProt {
    return this.ctx.protectionMap[protIndex(r.prot, r.shared)]!;
  }

  /** @internal pageProt for mapping `la` on a fault that does not write: write-protecting where soft-dirty tracking is on (clear_refs 4 cleared VM_SOFTDIRTY there). */
  readProt(r: { prot: number; shared: boolean }, la: number): PageProt {
    const pp = this.ctx.protectionMap[protIndex(r.prot, r.shared)]!;
    const sd = this.proc.softDirty;
    return sd !== undefined && sd.isClean(la / PAGE_SIZE) ? pp.softDirtyWp : pp;
  }

  // ------------------------------------------------------------ regions and pages

  /** Adds a region over free space (merging like vma_merge); maps nothing yet. */
  addRegion(spec: RegionSpec): Region {
    const backing = spec.object ? { type: 'object' as const, objectId: spec.object.id, offset: spec.offset ?? 0, ...(spec.file ? { file: spec.file } : {}) } : { type: 'anonymous' as const };
    const r = this.regions.insert({ start: spec.start, end: spec.end, prot: spec.prot, kind: spec.kind, name: spec.name, shared: spec.shared, backing, ...(spec.hugePages ? { hugePages: true } : {}), ...(spec.noReserve ? { noReserve: true } : {}) });
    // The file's reverse map (i_mmap) learns the mapping.
    spec.object?.mapRange(this, spec.start, spec.end, (spec.offset ?? 0) / PAGE_SIZE, spec.shared);
    // A new or grown mapping has VM_SOFTDIRTY (all its pages read as soft-dirty), as __mmap_region and do_brk_flags set it.
    this.proc.softDirty?.markDirty(r.start, r.end);
    return r;
  }

  /** Removes [start, end) from the regions and the page tables (holes are fine). */
  removeRange(start: number, end: number): void {
    this.splitEdges(start, end, 'munmap');
    recordHiwater(this); // update_hiwater_vm/update_hiwater_rss before the figures drop
    const pieces = this.regions.remove(start, end);
    // An allocation wholly unmapped is gone: a later mapping at its address is not freeVirtual's to free.
    for (const [s, e] of this.allocations) if (s >= start && e <= end) this.allocations.delete(s);
    if (pieces.length === 0) return;
    // Private mappings' anonymous pages (a file mapping's copies too) and their swap entries.
    for (const p of pieces) if (this.resident && !p.shared) this.resident.forget(p.start, p.end);
    for (const p of pieces) {
      const n = this.pages.unmap(p.start, (p.end - p.start) / PAGE_SIZE);
      if (p.shared) this.sharedPages -= n;
    }
    this.pages.invalidate(pieces[0]!.start, (pieces[pieces.length - 1]!.end - pieces[0]!.start) / PAGE_SIZE);
    // The files' reverse maps forget the pieces (a file with nothing else holding it goes).
    for (const p of pieces) if (p.backing.type === 'object') this.ctx.object(p.backing.objectId)?.unmapRange(this, p.start, p.end);
  }

  /** MADV_DONTNEED of [start, end) inside one region: its pages and swap entries go; the next access faults them in anew. */
  zapRange(start: number, end: number, shared: boolean): void {
    recordHiwater(this);
    if (!shared) this.resident?.forget(start, end, true);
    const n = this.pages.unmap(start, (end - start) / PAGE_SIZE);
    if (shared) this.sharedPages -= n;
    this.pages.invalidate(start, (end - start) / PAGE_SIZE);
  }

  /** Changes the protection of [start, end) (all of it mapped, else ENOMEM, nothing changed). */
  protectRange(start: number, end: number, prot: number): void {
    this.splitEdges(start, end, 'mprotect');
    const pieces = this.regions.protect(start, end, prot);
    const sd = this.proc.softDirty;
    for (const p of pieces) {
      // Write-protected where soft-dirty tracking asks, and in a MAP_SHARED regular file (its pages stay
      // read-only until their first write, for dirty tracking): mprotect grants no write there.
      const base = this.pageProt(p);
      const pp = (sd !== undefined && sd.overlapsClean(p.start, p.end)) || (p.shared && this.isRegularFile(p)) ? base.softDirtyWp : base;
      if (!this.pages.protect(p.start, (p.end - p.start) / PAGE_SIZE, pp.change)) throw new VmmError('ENOMEM', `mprotect: out of physical memory splitting a large page in [${hex(p.start)}, ${hex(p.end)})`);
    }
    this.pages.invalidate(start, (end - start) / PAGE_SIZE);
  }

  /**
   * Splits the large pages that [start, end) covers only in part, before any region changes
   * (as __split_vma splits a THP first): the one step of munmap and mprotect that needs memory,
   * so that its ENOMEM leaves regions and page tables as they were. A split changes no
   * translation, only how the tables express it.
   */
  private splitEdges(start: number, end: number, op: string): void {
    // No large leaf was ever mapped here: nothing to split, and no translate per edge (two core
    // calls and two objects were ~10% of an mprotect or munmap).
    if (!this.pages.largeLeaves) return;
    this.splitEdge(start, op);
    this.splitEdge(end, op);
  }

  private splitEdge(edge: number, op: string): void {
    const leaf = edge < TWO47 ? this.pages.leaf(edge) : undefined;
    if (leaf !== undefined && leaf.pageSize > PAGE_SIZE && edge % leaf.pageSize !== 0 && !this.pages.splitLeaf(edge)) {
      throw new VmmError('ENOMEM', `${op}: out of physical memory splitting the large page at ${hex(edge - (edge % leaf.pageSize))}; nothing changed`);
    }
  }

  /**
   * Maps the pages of [start, end) now (MAP_POPULATE) for a private writable or shared region.
   * Best effort, as mm_populate() ignores errors: when memory (or /dev/shm) runs out, the pages
   * that fit are mapped in address order, the rest are left to faults, and nothing is thrown.
   */
  populate(start: number, end: number): void {
    const r = this.regions.find(start);
    if (!r || r.prot === 0) return;
    const pages = (end - start) / PAGE_SIZE;
    const pp = this.readProt(r, start);
    if (r.backing.type === 'anonymous' && !r.shared) {
      // Linux populates a private read-only mapping with the zero page: reads need no frame, so vmsim leaves it to faults.
      if ((r.prot & PROT_WRITE) === 0) return;
      // Populating is not a fault: no fault counter moves.
      const attrs = pp.writableDirty;
      if (!this.pages.mapZeroed(start, pages, attrs)) fillPrefix(start, pages, (la, n) => this.pages.mapZeroed(la, n, attrs));
      return;
    }
    if (r.backing.type === 'object' && this.isRegularFile(r)) {
      // A regular file's pages fault in as populate_vma_page_range asks: read faults, write faults (copies) for a private writable mapping.
      this.faultIn(start, end, !r.shared && (r.prot & PROT_WRITE) !== 0);
      return;
    }
    if (!r.shared || r.backing.type !== 'object') return; // private object mappings fault in (COW) on access
    const obj = this.ctx.shmObject(r.backing.objectId);
    if (!obj) return;
    // Object frames are not contiguous: one bulk allocation of the missing ones, one mapping of the list.
    // Pages past the end of the object stay unmapped (an access there is SIGBUS, populating them fails).
    const first = (r.backing.offset + (start - r.start)) / PAGE_SIZE;
    const inside = Math.max(0, Math.min(pages, obj.size / PAGE_SIZE - first));
    const mapRun = (la: number, n: number): boolean => {
      let frames: Float64Array;
      try {
        frames = obj.framesOf(first + (la - start) / PAGE_SIZE, n);
      } catch (e) {
        if (e instanceof VmmError && (e.code === 'ENOMEM' || e.code === 'ENOSPC')) return false;
        throw e;
      }
      if (!this.pages.mapFrameList(la, frames, pp.writable)) return false;
      this.sharedPages += n;
      return true;
    };
    if (inside > 0 && !mapRun(start, inside)) fillPrefix(start, inside, mapRun);
  }

  /** True when region `r` maps a regular file (not anonymous memory or a tmpfs file). */
  private isRegularFile(r: Region): boolean {
    return r.backing.type === 'object' && this.ctx.object(r.backing.objectId)?.kind === 'file';
  }

  /** Faults in the pages of [start, end) one by one (populate: the first that fails stops it, nothing is thrown). */
  private faultIn(start: number, end: number, write: boolean): void {
    for (let la = start; la < end; la += PAGE_SIZE) {
      const leaf = this.pages.leaf(la);
      if (leaf && (!write || (leaf.lo & PTE.RW) !== 0)) continue;
      const out = this.handleFault({ la, address: la, errorCode: PFEC.U | (write ? PFEC.W : 0) | (leaf ? PFEC.P : 0), kind: write ? 1 : 0, access: write ? 'write' : 'read', user: true });
      if (out !== RETRY) return;
    }
  }

  // ------------------------------------------------------------ faults

  /**
   * Resolves a page fault of this space, or says which signal it is (Linux's do_user_addr_fault).
   * When the OOM killer ran on the way (another process died and onOomKill ran user code),
   * the fault is looked at anew; a plug-in policy is told what changed once the fault is done.
   * A fault of a space destroyed meanwhile (by a callback) is EINVAL "destroyed"; a fault from
   * inside a plug-in's own callback is EBUSY.
   */
  handleFault(f: FaultInfo): FaultOutcome {
    if (this.ctx.pluginGate.depth > 0) this.ctx.refuseReentry(`a ${f.access} fault at ${hex(f.address)}`);
    for (let round = 0; ; round++) {
      if (this.dead) throw new VmmError('EINVAL', 'address space has been destroyed');
      // Looked at anew: a page that is there now (a callback touched it) needs nothing more (the access runs again).
      const out = round > 0 && (f.errorCode & PFEC.P) === 0 && f.la < TWO47 && this.pages.leaf(f.la) !== undefined ? RETRY : this.resolveFault(f);
      if (out === AGAIN) {
        if (round < MAX_ROUNDS) continue;
        return { type: 'oom', detail: `the OOM killer ran ${MAX_ROUNDS} times for this one fault (an onOomKill callback that takes back what each kill frees?)` };
      }
      this.resident?.settle();
      return out;
    }
  }

  /** One look at a fault: its outcome, or AGAIN when the OOM killer ran first. */
  private resolveFault(f: FaultInfo): FaultOutcome {
    if (f.la >= TWO47) {
      // Kernel half: a user access is SIGSEGV (as do_kern_addr_fault → bad_area_nosemaphore); a kernel one is an oops.
      return f.user ? this.segv('SEGV_MAPERR', 'kernel address') : UNHANDLED;
    }
    let r = this.regions.find(f.la);
    if (!r) {
      r = this.tryGrowStack(f.la) ?? this.onMissingRegion?.(this, f.la);
      if (!r) return this.segv('SEGV_MAPERR');
    }
    const write = f.kind === 1;
    if (!write) this.proc.zeroMaybe = true; // a read may map the zero page: the resident count may now exceed RSS
    else if (this.proc.softDirty !== undefined) this.proc.softDirty.written(Math.floor(f.la / PAGE_SIZE));
    const present = (f.errorCode & PFEC.P) !== 0;
    // Linux's access_error() for x86.
    if (write) {
      if ((r.prot & PROT_WRITE) === 0) return this.segv('SEGV_ACCERR', `region is ${protName(r.prot)}`);
    } else if (present) {
      return this.segv('SEGV_ACCERR', `region is ${protName(r.prot)}`);
    } else if (r.prot === 0) {
      return this.segv('SEGV_ACCERR', 'region is ---');
    }
    if ((f.errorCode & PFEC.RSVD) !== 0) return UNHANDLED;
    const la = f.la - (f.la % PAGE_SIZE);
    if (present) {
      // A COW break allocates: reclaim may run first (the page may go meanwhile: the fault then retries).
      const room = this.allocationPoint();
      if (room) return room;
      return this.writeProtectFault(r, la);
    }
    if (this.resident && r.backing.type === 'anonymous' && !r.shared) {
      // THP under reclaim: a 2 MiB page when its 512 pages fit, else 4 KiB pages like any others.
      const huge = r.hugePages ? this.residentHugeFault(r, la, write) : undefined;
      return huge ?? this.residentFault(la, write, write ? this.pageProt(r) : this.readProt(r, la));
    }
    // A private file or shared memory mapping's copy that reclaim swapped: read back like any anonymous page.
    if (this.resident && r.backing.type === 'object' && !r.shared && this.resident.swapped.get(la / PAGE_SIZE) !== undefined) return this.residentFault(la, write, write ? this.pageProt(r) : this.readProt(r, la));
    if (r.backing.type === 'object' || r.shared) return this.objectFault(r, la, write);
    const room = this.allocationPoint();
    if (room) return room;
    const outcome = this.mapAnonymousPage(r, la, write);
    if (outcome === RETRY) this.countMinor();
    return outcome;
  }

  /**
   * An allocation point outside the resident set's own (which has one in its fault): reclaim
   * may run first — the page cache's pages, and with swap anonymous ones. AGAIN when the OOM
   * killer ran meanwhile, KILLED when it took this process; undefined: go on.
   */
  private allocationPoint(): FaultOutcome | undefined {
    const rc = this.ctx.reclaimer;
    if (!rc) return undefined;
    const r = rc.beforeAllocate(this.resident);
    return r === 'ok' ? undefined : r === 'killed' ? KILLED : AGAIN;
  }

  /** A not-present fault under a resident limit: the resident set makes room, then maps the page (from swap: a major fault). */
  private residentFault(la: number, write: boolean, pp: PageProt): FaultOutcome {
    const kind = this.resident!.fault(la, write, pp);
    if (kind === 'oom') return OOM;
    if (kind === 'killed') return KILLED;
    if (kind === 'again') return AGAIN;
    if (kind === 'memcg') return memcgOutOfMemory(this.resident!);
    this.faults[kind]++;
    this.ctx.faults[kind]++;
    return RETRY;
  }

  /**
   * A THP fault in a process with a resident set: the 2 MiB page is mapped (a fresh one for a
   * write, the huge zero page for a read) when the block lies in the region, none of its pages
   * is resident or swapped, and its 512 pages fit under the limit; its pages are then charged
   * and tracked one by one (reclaim splits the page when it evicts it). Undefined: fall back.
   */
  private residentHugeFault(r: Region, la: number, write: boolean): FaultOutcome | undefined {
    const block = la - (la % HUGE_PAGE);
    if (block < r.start || block + HUGE_PAGE > r.end) return undefined;
    const rs = this.resident!;
    const room = rs.beforeHuge(block / PAGE_SIZE);
    if (room === 'killed') return KILLED;
    if (room === 'again') return AGAIN;
    if (room === 'no-room' || !this.mapHugePage(r, la, write)) return undefined;
    rs.trackHuge(block / PAGE_SIZE, write);
    this.countMinor();
    return RETRY;
  }

  /** A write to a present, read-only page of a writable region: copy-on-write (or a stale entry). */
  private writeProtectFault(r: Region, la: number): FaultOutcome {
    const pt = this.pages;
    let leaf = pt.leaf(la);
    if (leaf === undefined) return RETRY; // unmapped meanwhile: the retry faults it in
    const pp = this.pageProt(r);
    if (leaf.pageSize !== PAGE_SIZE && this.ctx.isZeroFrame(leaf.pfn)) return this.writeHugeZero(r, la, pp);
    if ((leaf.lo & PTE.SW_COW) === 0 && r.shared && leaf.pageSize === PAGE_SIZE) {
      // A MAP_SHARED regular file's page written for the first time since it was clean: page_mkwrite.
      const out = sharedWriteFault(this, r, la, leaf.pfn);
      if (out) {
        this.countMinor();
        return out;
      }
    }
    if ((leaf.lo & PTE.SW_COW) === 0) {
      // Not COW and the region allows writing: write-protected by clear_refs 4 (soft-dirty), or a
      // stale entry. Reused in place, whole (a 2 MiB page is not split), as wp_page_reuse and
      // do_huge_pmd_wp_page do: writable, Accessed, Dirty, soft-dirty. A fault like any other.
      const first = la - (la % leaf.pageSize);
      const n = leaf.pageSize / PAGE_SIZE;
      pt.protect(first, n, pp.wpReuse);
      pt.invalidate(first, n);
      this.countMinor();
      return RETRY;
    }
    if (leaf.pageSize !== PAGE_SIZE) {
      // A huge leaf: split it into 4 KiB entries first, as Linux splits a THP on a COW fault (since 5.8).
      if (!pt.splitLeaf(la)) return OOM;
      leaf = pt.leaf(la);
      if (leaf === undefined) return RETRY;
    }
    if ((leaf.lo & PTE.SW_COW) === 0) {
      // The part of a split COW leaf that is not COW (cannot happen: a split keeps the bits); as above.
      pt.protect(la, 1, pp.wpReuse);
      pt.invalidate(la, 1);
      this.countMinor();
      return RETRY;
    }
    const pfn = leaf.pfn;
    const attrs: PageAttrs = (leaf.lo & PTE.G) === 0 ? pp.writableDirty : { lo: pp.writableDirty.lo | PTE.G, hi: pp.writableDirty.hi };
    const zero = this.ctx.isZeroFrame(pfn);
    if (zero) {
      // Write to the zero page: a fresh zeroed frame, no copy (do_anonymous_page's write path).
      if (!pt.breakCow(la, attrs, true)) return OOM;
    } else if (pt.refCount(pfn) === 1 && (r.backing.type === 'anonymous' || !isCachePage(this, r, la, pfn))) {
      // Only owner left: reuse the frame in place, as wp_can_reuse_anon_folio() allows.
      pt.protect(la, 1, REUSE_IN_PLACE);
      this.faults.cowReused++;
      this.ctx.faults.cowReused++;
    } else {
      // A private file or shared memory mapping's copy is an anonymous page: charged and tracked.
      const rs = r.backing.type === 'object' && !r.shared ? this.resident : undefined;
      if (rs && !rs.beforeCopy(la / PAGE_SIZE)) return memcgOutOfMemory(rs);
      if (rs && pt.leaf(la)?.pfn !== pfn) return RETRY; // reclaim changed the page meanwhile: look again
      if (!pt.breakCow(la, attrs, false)) return OOM;
      rs?.trackCopy(la / PAGE_SIZE, true);
      this.faults.cowCopied++;
      this.ctx.faults.cowCopied++;
    }
    if (!zero) {
      this.faults.cow++;
      this.ctx.faults.cow++;
    }
    this.faults.minor++;
    this.ctx.faults.minor++;
    pt.invalidate(la, 1);
    return RETRY;
  }

  /**
   * A write to the huge zero page, as Linux 6.x does it (do_huge_zero_wp_pmd; checked against
   * this machine's kernel in test/vmm/linux-kernel.test.ts): the block gets a fresh zeroed
   * 2 MiB page. When no aligned run of frames is free, the fallback splits the mapping into
   * 4 KiB entries of the zero page (not young, as __split_huge_zero_page_pmd leaves them) and
   * only the written page gets a fresh frame.
   */
  private writeHugeZero(r: Region, la: number, pp: PageProt): FaultOutcome {
    const pt = this.pages;
    const block = la - (la % HUGE_PAGE);
    const writable = pp.writableDirty;
    pt.unmap(block, HUGE_PAGE / PAGE_SIZE);
    pt.invalidate(block, 1);
    if (!pt.mapZeroed(block, 1, writable, HUGE_PAGE)) {
      const zeros = new Float64Array(HUGE_PAGE / PAGE_SIZE).fill(this.ctx.zeroFrame);
      if (!pt.mapFrameList(block, zeros, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi })) return OOM;
      if (!pt.breakCow(la, writable, true)) return OOM;
    }
    this.countMinor();
    return RETRY;
  }

  private countMinor(): void {
    this.faults.minor++;
    this.ctx.faults.minor++;
  }



  private mapAnonymousPage(r: Region, la: number, write: boolean): FaultOutcome {
    if (r.hugePages && this.mapHugePage(r, la, write)) return RETRY;
    const pp = this.pageProt(r);
    // A read fault on private anonymous memory maps the shared zero page read-only (COW).
    const ok = write ? this.pages.mapZeroed(la, 1, pp.writable) : this.pages.mapFrames(la, this.ctx.zeroFrame, 1, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi });
    return ok ? RETRY : OOM;
  }

  /**
   * THP fault: when the aligned 2 MiB block around `la` lies inside the region and nothing in
   * it is mapped yet, a write maps a fresh 2 MiB page and a read maps the huge zero page
   * read-only (COW), as do_huge_pmd_anonymous_page does; false (fall back to 4 KiB, as Linux
   * does) when not, or when no aligned run of frames is free.
   */
  private mapHugePage(r: Region, la: number, write: boolean): boolean {
    const block = la - (la % HUGE_PAGE);
    if (block < r.start || block + HUGE_PAGE > r.end) return false;
    const pp = this.pageProt(r);
    try {
      if (write) return this.pages.mapZeroed(block, 1, pp.writable, HUGE_PAGE);
      const hz = this.ctx.hugeZeroFrame(this);
      return hz >= 0 && this.pages.mapFrames(block, hz, 1, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi }, HUGE_PAGE);
    } catch (e) {
      // EEXIST: part of the block is mapped by 4 KiB pages already.
      if (e instanceof VmmError && e.code === 'EEXIST') return false;
      throw e;
    }
  }

  /** A not-present fault in a shared (or file-backed) region: major when the page had to be read (from the disk, or back from swap). */
  private objectFault(r: Region, la: number, write: boolean): FaultOutcome {
    const { outcome, major } = fileFault(this, r, la, write);
    if (outcome !== RETRY) return outcome; // AGAIN included
    if (major) {
      this.faults.major++;
      this.ctx.faults.major++;
    } else this.countMinor();
    return outcome;
  }

  /** Linux's expand_stack: a fault below the stack within its limit and clear of the guard gap grows it. */
  private tryGrowStack(la: number): Region | undefined {
    const stack = this.regions.find(this.stackTop - 1);
    if (!stack || stack.kind !== 'stack' || la >= stack.start) return undefined;
    const newStart = la - (la % PAGE_SIZE);
    if (newStart < this.stackTop - this.stackLimit) return undefined;
    const prev = this.regions.below(newStart);
    if (prev && prev.end + STACK_GUARD_GAP > newStart) return undefined;
    // Only free space between the region below and the stack: anything else is SEGV_MAPERR (never EEXIST).
    if (!this.regions.isFree(newStart, stack.start)) return undefined;
    this.regions.insert({ start: newStart, end: stack.start, prot: stack.prot, kind: 'stack', name: stack.name, shared: false, backing: { type: 'anonymous' } });
    return this.regions.find(la);
  }

  private segv(cause: 'SEGV_MAPERR' | 'SEGV_ACCERR', detail?: string): FaultOutcome {
    this.faults.segv++;
    this.ctx.faults.segv++;
    return { type: 'segv', cause, detail };
  }

  // ------------------------------------------------------------ fork, stats, teardown

  /** Copies this space's regions and page tables into `child` (COW for private pages, shared stays shared). */
  forkInto(child: VirtualMemory): void {
    child.regions = this.regions.clone();
    child.heapStart = this.heapStart;
    child.brkEnd = this.brkEnd;
    child.stackTop = this.stackTop;
    child.stackLimit = this.stackLimit;
    child.allocations = new Map(this.allocations);
    child.proc = this.proc.forkChild();
    for (const id of this.objectIds()) this.ctx.object(id)?.copyMappings(this, child);
    // One page-table call per run of touching regions of one sharing, not per region.
    this.regions.forEachRun((start, end, shared) => {
      const n = this.pages.forkInto(child.pages, start, (end - start) / PAGE_SIZE, shared ? FORK_SHARED : FORK_PRIVATE);
      if (shared) child.sharedPages += n;
    });
    if (this.resident && child.resident) this.resident.forkInto(child.resident);
    this.ctx.forkHugeZero(this, child);
    // dup_mmap() ends with flush_tlb_mm(oldmm): the parent's writable entries are now stale.
    this.pages.flush();
  }

  /** Drops every region (frames are freed by the caller's destroyRoot). */
  teardown(): void {
    this.dead = true;
    this.resident?.release();
    const ids = this.objectIds();
    this.regions = new RegionMap();
    for (const id of ids) this.ctx.object(id)?.unmapSpace(this);
  }

  /** After the tables are gone: this space's hold on the huge zero page goes (the last one frees it). */
  released(): void {
    this.ctx.putHugeZero(this);
  }

  /** Statistics of this space. */
  stats(): SpaceStats {
    return { faults: { ...this.faults }, residentPages: this.pages.residentPages, sharedPages: this.sharedPages, virtualSize: this.regions.bytes, regions: this.regions.size };
  }

  /** /proc/PID/maps text. */
  maps(): string {
    return formatMaps(this.regions, (id) => {
      const o = this.ctx.object(id);
      if (!o) return undefined;
      return o instanceof SharedMemoryObject ? { name: o.name, linked: o.isLinked } : { path: (o as RegularFile).path, linked: o.isLinked };
    });
  }

  /** @internal The region at linear address `la` (the reverse map asks for VM_EXEC). */
  regionAt(la: number): Region | undefined {
    return this.regions.find(la);
  }

  private objectIds(): number[] {
    return this.regions.objectIds();
  }
}

/** Looks at one fault anew at most this often (each time the OOM killer killed a process). */
const MAX_ROUNDS = 64;
/** The COW fault of a page whose frame has one owner left: writable in place, COW bit gone. */
const REUSE_IN_PLACE = { setLo: PTE.RW | PTE.A | PTE.D | SOFT_DIRTY, setHi: 0, clearLo: PTE.SW_COW, clearHi: 0 };

function protName(p: number): string {
  return (p & 1 ? 'r' : '-') + (p & 2 ? 'w' : '-') + (p & 4 ? 'x' : '-');
}

/** Runs `op` over ever smaller runs from `start` until one fails at a single page: the longest prefix of `pages` that fits. */
function fillPrefix(start: number, pages: number, op: (la: number, n: number) => boolean): number {
  let at = 0;
  let step = 512;
  while (at < pages) {
    const n = Math.min(step, pages - at);
    if (op(start + at * PAGE_SIZE, n)) at += n;
    else if (n === 1) break;
    else step = Math.max(1, n >> 1);
  }
  return at;
}

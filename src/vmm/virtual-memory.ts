/**
 * The virtual memory manager of one address space: its regions (VMAs) and the calls that
 * change them — mmap, munmap, mprotect, brk — with Linux's semantics, and the fault handler
 * that gives regions their pages (demand zero, the zero page, shared objects, COW, stack growth).
 * It reaches the page tables only through the MMU level's typed page operations (PageTable),
 * one operation per region range, never one per page. A fault's outcome is a value.
 */
import { AGAIN, KILLED, OOM } from './fault-outcomes.js';
import { PAGE_SIZE, PageBit, PTE, PFEC } from '../core/constants.js';
import { hex } from '../hex.js';
import { RETRY, UNHANDLED, type FaultHandler, type FaultInfo, type FaultOutcome } from '../machine/fault.js';
import type { PageAttrs, PageTable } from '../machine/page-table.js';
import { TlbGather } from '../machine/tlb-gather.js';
import { VmmError } from '../errors.js';
import { RegionMap } from './region-map.js';
import { pgoff, slice, type RegionRecord as Region } from './region.js';
import { FORK_PRIVATE, PROT_WRITE, SOFT_DIRTY, protIndex, type PageProt } from './pte-attrs.js';
import { newFaultCounters, type FaultCounters, type SpaceStats } from './vm-stats.js';
import { SharedMemoryObject } from './shared-memory.js';
import type { VmmContext } from './vmm-context.js';
import type { Inode } from './file/inode.js';
import type { File } from './file/file.js';
import type { RegularFile } from './file/regular-file.js';
import { fileFault, isCachePage, sharedWriteFault } from './file/file-fault.js';
import { formatMaps, type ProcessLayout } from './maps-format.js';
import { INITIAL_STACK_SIZE, MMAP_MIN_ADDR, STACK_GUARD_GAP } from './layout.js';
import type { ResidentSet } from './resident-set.js';
import { memcgOutOfMemory } from './oom-killer.js';
import { VM_ACCOUNT, VM_DONTCOPY, VM_GROWSDOWN, VM_HUGEPAGE, VM_LOCKED, VM_LOCKED_MASK, VM_NOHUGEPAGE, VM_WIPEONFORK } from './vm-flags.js';
import { Rlimits } from './rlimits.js';
import { ProcState } from './proc/proc-state.js';
import { recordHiwater } from './proc/rss-counts.js';

const TWO47 = 2 ** 47;
const HUGE_PAGE = 2 ** 21;

/** A new region: a record without its backing, plus the inode (and byte offset) that backs it, if any, and the open file it is mapped through. */
export type RegionSpec = Omit<Region, 'backing' | 'anon'> & { object?: Inode; offset?: number; file?: File };

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
  /** The stack's top (the initial stack region ends there; start_stack is in its last page). */
  stackTop: number;
  /** Where top-down placement starts (mmap_base), fixed when the process image is made (creation, exec). */
  mmapBase: number;
  /** RLIMIT_AS, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_MEMLOCK (kept by a fork child and by exec). */
  rlimits: Rlimits;
  /** CAP_IPC_LOCK: lock beyond RLIMIT_MEMLOCK (off: a vmsim process is an ordinary user's). */
  capIpcLock = false;
  /** Flags every new mapping gets (mm->def_flags: VM_LOCKED | VM_LOCKONFAULT after mlockall(MCL_FUTURE)). */
  defFlags = 0;
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
    init: { heapStart: number; stackTop: number; stackLimit: number; mmapBase: number },
  ) {
    this.regions = new RegionMap();
    this.heapStart = init.heapStart;
    this.brkEnd = init.heapStart;
    this.stackTop = init.stackTop;
    this.rlimits = new Rlimits(init.stackLimit);
    this.mmapBase = init.mmapBase;
  }

  /** Pages of locked regions (mm->locked_vm, VmLck), mapped or not. */
  get lockedVm(): number {
    return this.regions.lockedBytes / PAGE_SIZE + this.lockedLeak;
  }
  /** Pages Linux's locked_vm keeps counting after their region stopped being locked (MREMAP_DONTUNMAP's old range). */
  lockedLeak = 0;

  /** RLIMIT_STACK's soft limit: how far the stack may grow below its top. */
  get stackLimit(): number {
    return this.rlimits.soft('RLIMIT_STACK');
  }

  /** Linux's RSS: 4 KiB pages mapped in this space's user half, zero-page mappings left out. */
  get residentPages(): number {
    return this.pages.rss;
  }

  /** True when the page at `la` lies in a locked region (its pages are never evicted). */
  isLockedAt(la: number): boolean {
    const r = this.regions.find(la);
    return r !== undefined && (r.flags & VM_LOCKED) !== 0;
  }

  /** The pages of [start, end) that map the zero page or the huge zero page (one bulk count each). */
  zeroPagesIn(start: number, end: number): number {
    if (this.pages.zeroPages === 0) return 0;
    const n = (end - start) / PAGE_SIZE;
    const hz = this.ctx.hugeZeroStart;
    return this.pages.countFrames(start, n, this.ctx.zeroFrame, 1) + (hz >= 0 ? this.pages.countFrames(start, n, hz, 512) : 0);
  }

  /** Unmaps [start, end) of one kind of region, keeping the shared and zero-page counts; returns pages unmapped. */
  private unmapPages(start: number, end: number, shared: boolean, gather?: TlbGather): number {
    if (!shared) this.pages.zeroPages -= this.zeroPagesIn(start, end);
    const n = this.pages.unmap(start, (end - start) / PAGE_SIZE, gather);
    if (shared) this.sharedPages -= n;
    return n;
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

  /**
   * The initial stack a new process image gets (setup_arg_pages: 128 KiB below the stack's top,
   * growing down, charged to Committed_AS as VM_STACK_FLAGS include VM_ACCOUNT).
   */
  addStack(): void {
    const start = this.stackTop - INITIAL_STACK_SIZE;
    this.ctx.overcommit.charge(INITIAL_STACK_SIZE / PAGE_SIZE, undefined, 'stack');
    this.addRegion({ start, end: this.stackTop, prot: 3, kind: 'stack', shared: false, flags: VM_GROWSDOWN | VM_ACCOUNT });
  }

  /** Adds a region over free space (merging like vma_merge); maps nothing yet. */
  addRegion(spec: RegionSpec): Region {
    const backing = spec.object ? { type: 'object' as const, objectId: spec.object.id, offset: spec.offset ?? 0, ...(spec.file ? { file: spec.file } : {}) } : { type: 'anonymous' as const };
    const r = this.regions.insert({ start: spec.start, end: spec.end, prot: spec.prot, kind: spec.kind, name: spec.name, shared: spec.shared, backing, flags: spec.flags, anon: 0 });
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
    // unmap_region: one mmu_gather over the pieces, flushed once after the range is unmapped and
    // before its frames can be reused (tlb_finish_mmu), with freed_tables when tables went.
    const g = new TlbGather();
    let accounted = 0;
    for (const p of pieces) {
      this.unmapPages(p.start, p.end, p.shared, g);
      if ((p.flags & VM_ACCOUNT) !== 0) accounted += (p.end - p.start) / PAGE_SIZE;
    }
    this.ctx.overcommit.uncharge(accounted);
    this.pages.finish(g);
    // The files' reverse maps forget the pieces (a file with nothing else holding it goes).
    for (const p of pieces) if (p.backing.type === 'object') this.ctx.object(p.backing.objectId)?.unmapRange(this, p.start, p.end);
  }

  /**
   * MADV_DONTNEED of [start, end) inside one region: its pages and swap entries go; the next
   * access faults them in anew. A huge page covered in part is split first (zap_pmd_range), the
   * zap is one mmu_gather (zap_page_range_single), flushed once.
   */
  zapRange(start: number, end: number, shared: boolean): void {
    recordHiwater(this); // update_hiwater_rss before the figure drops
    this.splitEdges(start, end, 'madvise');
    if (!shared) this.resident?.forget(start, end);
    const g = new TlbGather();
    this.unmapPages(start, end, shared, g);
    this.pages.finish(g);
  }

  /**
   * MADV_REMOVE's unmap_mapping_range: this space's mappings of pages [first, first + count) of
   * object `objectId` go — all of them in shared regions, only the pages still mapping the
   * object's frames (not copied on write) in private ones.
   */
  unmapObjectPages(objectId: number, first: number, count: number, onlyMine = false): number[] {
    if (!onlyMine) recordHiwater(this); // MADV_REMOVE zaps (update_hiwater_rss); reclaim (onlyMine) does not record
    const obj = this.ctx.object(objectId);
    const clean: number[] = [];
    let unmapped = false;
    for (const r of [...this.regions.regionsOf(objectId)]) {
      if (r.backing.type !== 'object') continue;
      const off = r.backing.offset / PAGE_SIZE;
      const a = Math.max(first, off);
      const b = Math.min(first + count, off + (r.end - r.start) / PAGE_SIZE);
      if (b <= a) continue;
      const s = r.start + (a - off) * PAGE_SIZE;
      const e = r.start + (b - off) * PAGE_SIZE;
      if (r.shared && !onlyMine) {
        this.zapRange(s, e, true);
        continue;
      }
      const n = b - a;
      const las = Float64Array.from({ length: n }, (_, i) => s + i * PAGE_SIZE);
      const bits = new Uint8Array(n);
      const frames = new Float64Array(n);
      this.pages.pageBits(las, n, bits, frames);
      // onlyMine: the pages no other mapping holds (the object's reference and this entry's).
      const mine = (i: number) => (bits[i]! & PageBit.PRESENT) !== 0 && frames[i] === obj?.presentFrame(a + i) && (!onlyMine || (bits[i]! & PageBit.SHARED) === 0 || this.pages.refCount(frames[i]!) <= 2);
      const gone = las.filter((_, i) => mine(i));
      for (let i = 0; i < n; i++) if (mine(i) && (bits[i]! & PageBit.DIRTY) === 0) clean.push(a + i);
      if (gone.length === 0) continue;
      this.pages.swapOutList(gone, gone.length, new Uint32Array(gone.length), new Uint32Array(gone.length));
      if (r.shared) this.sharedPages -= gone.length;
      this.pages.invalidateList(gone, gone.length);
      unmapped = true;
    }
    // The flushes invalidateList deferred into the batch go out before the object's frames can be freed.
    if (unmapped) this.pages.flushUnmapBatch();
    return clean;
  }

  /** Changes the protection of [start, end) (all of it mapped, else ENOMEM, nothing changed); `flags` gives each piece's new flags (mprotect adds VM_ACCOUNT where it charged). */
  protectRange(start: number, end: number, prot: number, flags: (piece: Region) => number = (p) => p.flags): void {
    this.splitEdges(start, end, 'mprotect');
    const pieces = this.regions.modify(start, end, prot, flags);
    const sd = this.proc.softDirty;
    // change_protection in one mmu_gather: flushed once, only over the entries whose change needs it.
    const g = new TlbGather();
    for (const p of pieces) {
      // Write-protected where soft-dirty tracking asks, and in a MAP_SHARED regular file (its pages stay
      // read-only until their first write, for dirty tracking): mprotect grants no write there.
      const base = this.pageProt(p);
      const pp = (sd !== undefined && sd.overlapsClean(p.start, p.end)) || (p.shared && this.isRegularFile(p)) ? base.softDirtyWp : base;
      if (!this.pages.protect(p.start, (p.end - p.start) / PAGE_SIZE, pp.change, g)) throw new VmmError('ENOMEM', `mprotect: out of physical memory splitting a large page in [${hex(p.start)}, ${hex(p.end)})`);
    }
    this.pages.finish(g);
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

  /** @internal True when region `r` maps a regular file (not anonymous memory or a tmpfs file). */
  isRegularFile(r: Region): boolean {
    return r.backing.type === 'object' && this.ctx.object(r.backing.objectId)?.kind === 'file';
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
    if (write && this.proc.softDirty !== undefined) this.proc.softDirty.written(Math.floor(f.la / PAGE_SIZE));
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
    // A write to private memory makes (or copies) an anonymous page: the region needs its anon_vma.
    if (write && !r.shared && r.anon === 0) r = this.anonPrepare(r);
    if (present) {
      // A COW break allocates: reclaim may run first (the page may go meanwhile: the fault then retries).
      const room = this.allocationPoint();
      if (room) return room;
      return this.writeProtectFault(r, la);
    }
    if (this.resident && r.backing.type === 'anonymous' && !r.shared) {
      // THP under reclaim: a 2 MiB page when its 512 pages fit, else 4 KiB pages like any others.
      const huge = (r.flags & VM_HUGEPAGE) !== 0 ? this.residentHugeFault(r, la, write) : undefined;
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

  /**
   * anon_vma_prepare: the region gets an anon_vma when its first anonymous page is made — a
   * neighbour's when they could share one (find_mergeable_anon_vma: the next region first, then
   * the previous, each adjacent, of the same backing and flags, with an anon_vma of its own, not a
   * fork child's), else a new one. The record is replaced, not merged (as Linux leaves it).
   */
  anonPrepare(r: Region): Region {
    if (r.anon !== 0) return r;
    const cur = this.regions.find(r.start);
    if (cur !== undefined && cur.anon !== 0) return cur; // the caller's record was older
    if (cur !== undefined) r = cur;
    const next = this.regions.findFirstOverlapping(r.end, r.end + 1);
    const prev = this.regions.below(r.start);
    let id = 0;
    if (next !== undefined && next.start === r.end && anonCompatible(r, next)) id = next.anon;
    else if (prev !== undefined && prev.end === r.start && anonCompatible(prev, r)) id = prev.anon;
    if (id === 0) id = this.ctx.newAnonId();
    const rec = slice(r, r.start, r.end, r.prot, r.flags, id);
    this.regions.setRecord(rec);
    return rec;
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
    r = this.anonPrepare(r); // do_huge_pmd_anonymous_page prepares it for the huge zero page too
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
    // A copy (of a COW page, or of the zero page) allocates: reclaim may run first, as for any
    // allocation (__alloc_pages' slow path), and the entry is read after it (it may have been
    // evicted meanwhile; the OOM killer may have run: then the fault is looked at anew).
    if (this.resident && this.ctx.reclaimer) {
      const rc = this.ctx.reclaimer.beforeAllocate(this.resident);
      if (rc !== 'ok') return rc === 'killed' ? KILLED : AGAIN;
    }
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
      // Not COW and the region allows writing: write-protected by clear_refs 4 (soft-dirty), or a stale
      // entry: made writable, dirty and soft-dirty in place (wp_page_reuse). Like its
      // ptep_set_access_flags, no flush: the fault dropped this CPU's entry, and another CPU's is at
      // most less permissive (its own fault fixes it).
      pt.protect(la, 1, pp.wpReuse);
      this.countMinor();
      return RETRY;
    }
    const pfn = leaf.pfn;
    const attrs: PageAttrs = (leaf.lo & PTE.G) === 0 ? pp.writableDirty : { lo: pp.writableDirty.lo | PTE.G, hi: pp.writableDirty.hi };
    const zero = this.ctx.isZeroFrame(pfn);
    let reused = false;
    if (zero) {
      // Write to the zero page: a fresh zeroed frame, no copy (do_anonymous_page's write path).
      if (!pt.breakCow(la, attrs, true)) return OOM;
      pt.zeroPages--;
    } else if (pt.refCount(pfn) === 1 && (r.backing.type === 'anonymous' || !isCachePage(this, r, la, pfn))) {
      // Only owner left: reuse the frame in place, as wp_can_reuse_anon_folio() allows.
      reused = true;
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
    // wp_page_copy replaces the entry with ptep_clear_flush (flush_tlb_page); wp_page_reuse only
    // relaxes it (ptep_set_access_flags: no flush, as for the stale entry above).
    if (!reused) pt.flushPage(la);
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
    pt.zeroPages -= HUGE_PAGE / PAGE_SIZE;
    // pmdp_huge_clear_flush: flush_tlb_range of the 2 MiB (512 pages at 4 KiB: a full flush, freed_tables).
    pt.flushRange(block, block + HUGE_PAGE, 12, true);
    if (!pt.mapZeroed(block, 1, writable, HUGE_PAGE)) {
      const zeros = new Float64Array(HUGE_PAGE / PAGE_SIZE).fill(this.ctx.zeroFrame);
      if (!pt.mapFrameList(block, zeros, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi })) return OOM;
      pt.zeroPages += HUGE_PAGE / PAGE_SIZE;
      if (!pt.breakCow(la, writable, true)) return OOM;
      pt.zeroPages--;
    }
    this.countMinor();
    return RETRY;
  }

  private countMinor(): void {
    this.faults.minor++;
    this.ctx.faults.minor++;
  }



  private mapAnonymousPage(r: Region, la: number, write: boolean): FaultOutcome {
    if ((r.flags & VM_HUGEPAGE) !== 0 && this.mapHugePage(r, la, write)) return RETRY;
    const pp = this.pageProt(r);
    // A read fault on private anonymous memory maps the shared zero page read-only (COW).
    if (write) return this.pages.mapZeroed(la, 1, pp.writable) ? RETRY : OOM;
    if (!this.pages.mapFrames(la, this.ctx.zeroFrame, 1, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi })) return OOM;
    this.pages.zeroPages++;
    return RETRY;
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
    r = this.anonPrepare(r); // do_huge_pmd_anonymous_page prepares it for the huge zero page too
    const pp = this.pageProt(r);
    try {
      if (write) return this.pages.mapZeroed(block, 1, pp.writable, HUGE_PAGE);
      const hz = this.ctx.hugeZeroFrame(this);
      if (hz < 0 || !this.pages.mapFrames(block, hz, 1, { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi }, HUGE_PAGE)) return false;
      this.pages.zeroPages += HUGE_PAGE / PAGE_SIZE;
      return true;
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

  /**
   * Linux's expand_downwards: a fault below a VM_GROWSDOWN region (the stack, a MAP_GROWSDOWN
   * mapping) that is the first region above the address grows it down to the faulting page,
   * unless that is below mmap_min_addr, within stack_guard_gap of an accessible region below
   * that does not grow down itself, makes the region larger than RLIMIT_STACK, takes the address
   * space past RLIMIT_AS or locked memory past RLIMIT_MEMLOCK, or the commit is refused. The new
   * pages are charged (VM_ACCOUNT) and, in a locked region, locked.
   */
  private tryGrowStack(la: number): Region | undefined {
    const r = this.regions.findFirstOverlapping(la, 2 ** 47);
    if (!r || (r.flags & VM_GROWSDOWN) === 0 || la >= r.start) return undefined;
    const newStart = la - (la % PAGE_SIZE);
    if (newStart < MMAP_MIN_ADDR) return undefined;
    const prev = this.regions.below(newStart + 1);
    if (prev && prev !== r && (prev.flags & VM_GROWSDOWN) === 0 && prev.prot !== 0 && newStart - prev.end < STACK_GUARD_GAP) return undefined;
    if (prev && prev.end > newStart) return undefined;
    const grow = (r.start - newStart) / PAGE_SIZE;
    if (r.end - newStart > this.stackLimit) return undefined;
    if (this.regions.bytes / PAGE_SIZE + grow > this.rlimits.soft('RLIMIT_AS') / PAGE_SIZE) return undefined;
    if ((r.flags & VM_LOCKED) !== 0 && !this.capIpcLock && this.lockedVm + grow > this.rlimits.soft('RLIMIT_MEMLOCK') / PAGE_SIZE) return undefined;
    if ((r.flags & VM_ACCOUNT) !== 0) {
      try {
        this.ctx.overcommit.charge(grow, this.regions.bytes / PAGE_SIZE, 'stack growth');
      } catch (e) {
        if (e instanceof VmmError) return undefined;
        throw e;
      }
    }
    // expand_downwards prepares the region's anon_vma first, then the region takes the new pages (its offset lowered with its start).
    const grown = this.anonPrepare(r);
    this.regions.growDown(grown.start, slice(grown, newStart, grown.end));
    return this.regions.find(la);
  }

  private segv(cause: 'SEGV_MAPERR' | 'SEGV_ACCERR', detail?: string): FaultOutcome {
    this.faults.segv++;
    this.ctx.faults.segv++;
    return { type: 'segv', cause, detail };
  }

  // ------------------------------------------------------------ fork, stats, teardown

  /**
   * fork's dup_mmap: the child gets the regions, less VM_DONTCOPY ones (MADV_DONTFORK), with
   * locks cleared (mlock is not inherited; the copies are not merged, as Linux leaves them); the
   * copies of VM_ACCOUNT regions are charged (ENOMEM under vm.overcommit_memory 2). Page-table
   * entries are copied only where a fault could not fill them again: private regions' pages
   * become COW in both, VM_WIPEONFORK regions start empty, and shared regions are not copied
   * at all (vma_needs_copy: the child faults them in). The parent's TLB is flushed.
   */
  forkInto(child: VirtualMemory): void {
    child.regions = this.regions.clone();
    child.heapStart = this.heapStart;
    child.brkEnd = this.brkEnd;
    child.stackTop = this.stackTop;
    child.mmapBase = this.mmapBase;
    child.rlimits = this.rlimits.clone();
    child.capIpcLock = this.capIpcLock;
    child.defFlags = this.defFlags & VM_NOHUGEPAGE; // mm_init keeps only VM_INIT_DEF_MASK
    child.allocations = new Map(this.allocations);
    child.proc = this.proc.forkChild();
    // The child's copies: DONTCOPY ones gone, no locks, a new anon_vma each (anon_vma_fork: the
    // child's chain holds the parent's too), none where the child starts empty (WIPEONFORK).
    for (const r of [...this.regions]) {
      if ((r.flags & VM_DONTCOPY) !== 0) {
        child.regions.remove(r.start, r.end);
        continue;
      }
      const flags = r.flags & ~VM_LOCKED_MASK;
      const anon = r.anon === 0 || (r.flags & VM_WIPEONFORK) !== 0 ? 0 : -this.ctx.newAnonId();
      if (flags !== r.flags || anon !== r.anon) child.regions.setRecord(slice(r, r.start, r.end, r.prot, flags, anon));
    }
    const charge = child.regions.accountedBytes / PAGE_SIZE;
    try {
      this.ctx.overcommit.charge(charge, this.regions.bytes / PAGE_SIZE, 'fork');
    } catch (e) {
      child.regions = new RegionMap(); // nothing was charged: the caller's teardown of the child uncharges nothing
      throw e;
    }
    // The files' reverse maps (i_mmap) learn the child's mappings.
    for (const r of child.regions) if (r.backing.type === 'object') this.ctx.object(r.backing.objectId)?.mapRange(child, r.start, r.end, r.backing.offset / PAGE_SIZE, r.shared);
    // vma_needs_copy: only regions with an anon_vma have entries a fault could not make again;
    // one page-table call per run of them.
    let runStart = -1;
    let runEnd = -1;
    const copy = (start: number, end: number): void => {
      this.pages.forkInto(child.pages, start, (end - start) / PAGE_SIZE, FORK_PRIVATE);
      // The child's copies map the zero page where the parent's entries do.
      child.pages.zeroPages += this.zeroPagesIn(start, end);
    };
    for (const r of this.regions) {
      const copied = !r.shared && r.anon !== 0 && (r.flags & (VM_DONTCOPY | VM_WIPEONFORK)) === 0;
      if (copied && r.start === runEnd) runEnd = r.end;
      else {
        if (runStart >= 0) copy(runStart, runEnd);
        runStart = copied ? r.start : -1;
        runEnd = copied ? r.end : -1;
      }
    }
    if (runStart >= 0) copy(runStart, runEnd);
    if (this.resident && child.resident) this.resident.forkInto(child.resident, (vpn) => copiedPage(this, vpn));
    this.ctx.forkHugeZero(this, child);
    // dup_mmap() ends with flush_tlb_mm(oldmm): the parent's writable entries are now stale.
    this.pages.flush();
  }

  /**
   * exec's new image (exec_mmap): every region and page goes — uncharged, objects detached, swap
   * slots freed, the TLB flushed — and the process starts over with `layout`'s stack, mmap base
   * and heap, and (withStack) the initial stack, charged before anything goes (a refused charge
   * changes nothing). What the process keeps: its fault counters, resource limits, CAP_IPC_LOCK,
   * resident-set configuration and counters; mlockall's MCL_FUTURE is dropped (def_flags), and
   * /proc's per-mm state (VmPeak, VmHWM, soft-dirty) starts over.
   */
  exec(layout: { stackTop: number; mmapBase: number; heapStart: number }, withStack: boolean, stackCharged = false): void {
    if (withStack && !stackCharged) this.ctx.overcommit.charge(INITIAL_STACK_SIZE / PAGE_SIZE, undefined, 'exec');
    this.resident?.reset();
    this.ctx.overcommit.uncharge(this.regions.accountedBytes / PAGE_SIZE);
    const ids = this.objectIds();
    this.pages.unmap(0, 2 ** 47 / PAGE_SIZE);
    this.pages.zeroPages = 0;
    this.pages.flush();
    this.ctx.putHugeZero(this); // the old mm's hold on the huge zero page goes with it
    this.regions = new RegionMap();
    for (const id of ids) this.ctx.object(id)?.unmapSpace(this);
    this.sharedPages = 0;
    this.allocations = new Map();
    this.heapStart = layout.heapStart;
    this.brkEnd = layout.heapStart;
    this.stackTop = layout.stackTop;
    this.mmapBase = layout.mmapBase;
    this.defFlags &= VM_NOHUGEPAGE;
    this.lockedLeak = 0;
    this.proc = new ProcState(); // a new mm: high-water marks and soft-dirty state start over
    if (withStack) this.addRegion({ start: this.stackTop - INITIAL_STACK_SIZE, end: this.stackTop, prot: 3, kind: 'stack', shared: false, flags: VM_GROWSDOWN | VM_ACCOUNT });
  }

  /** Drops every region (frames are freed by the caller's destroyRoot) and uncharges what they had charged. */
  teardown(): void {
    this.dead = true;
    this.resident?.release();
    const ids = this.objectIds();
    this.ctx.overcommit.uncharge(this.regions.accountedBytes / PAGE_SIZE);
    this.regions = new RegionMap();
    for (const id of ids) this.ctx.object(id)?.unmapSpace(this);
  }

  /** After the tables are gone: this space's hold on the huge zero page goes (the last one frees it). */
  released(): void {
    this.ctx.putHugeZero(this);
  }

  /** Statistics of this space. */
  stats(): SpaceStats {
    return { faults: { ...this.faults }, residentPages: this.pages.rss, sharedPages: this.sharedPages, virtualSize: this.regions.bytes, regions: this.regions.size, lockedPages: this.lockedVm };
  }

  /** /proc/PID/maps text. */
  maps(): string {
    return formatMaps(
      this.regions,
      (id) => {
        const o = this.ctx.object(id);
        if (!o) return undefined;
        return o instanceof SharedMemoryObject ? { name: o.name, linked: o.isLinked } : { path: (o as RegularFile).path, linked: o.isLinked };
      },
      this.layout,
    );
  }

  /** mm->start_brk, brk and start_stack (the initial stack pointer lies in the stack's top page). */
  get layout(): ProcessLayout {
    return { startBrk: this.heapStart, brk: this.brkEnd, startStack: this.stackTop - PAGE_SIZE };
  }

  /** @internal The region at linear address `la` (the reverse map asks for VM_EXEC). */
  regionAt(la: number): Region | undefined {
    return this.regions.find(la);
  }

  private objectIds(): number[] {
    return this.regions.objectIds();
  }
}

/** anon_vma_compatible + reusable_anon_vma: b follows a, same backing (contiguous offsets), same flags but access bits, and the neighbour's anon_vma is its own. */
function anonCompatible(a: Region, b: Region): boolean {
  const other = a.anon !== 0 ? a.anon : b.anon;
  if (other <= 0 || a.shared !== b.shared || a.flags !== b.flags || a.backing.type !== b.backing.type) return false;
  if (a.backing.type === 'object' && b.backing.type === 'object' && a.backing.objectId !== b.backing.objectId) return false;
  return pgoff(b) === pgoff(a) + (a.end - a.start);
}

/** True when a fork child got page `vpn`'s entry: it lies in a private region of the parent with an anon_vma, neither DONTCOPY nor WIPEONFORK. */
function copiedPage(parent: VirtualMemory, vpn: number): boolean {
  const r = parent.regions.find(vpn * PAGE_SIZE);
  return r !== undefined && !r.shared && r.anon !== 0 && (r.flags & (VM_DONTCOPY | VM_WIPEONFORK)) === 0;
}

/** Looks at one fault anew at most this often (each time the OOM killer killed a process). */
const MAX_ROUNDS = 64;
/** The COW fault of a page whose frame has one owner left: writable in place, COW bit gone. */
const REUSE_IN_PLACE = { setLo: PTE.RW | PTE.A | PTE.D | SOFT_DIRTY, setHi: 0, clearLo: PTE.SW_COW, clearHi: 0 };

function protName(p: number): string {
  return (p & 1 ? 'r' : '-') + (p & 2 ? 'w' : '-') + (p & 4 ? 'x' : '-');
}

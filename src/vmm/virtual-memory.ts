/**
 * The virtual memory manager of one address space: its regions (VMAs) and the calls that
 * change them — mmap, munmap, mprotect, brk — with Linux's semantics, and the fault handler
 * that gives regions their pages (demand zero, the zero page, shared objects, COW, stack growth).
 * Page-table work is always one core call per region range, never one per page.
 */
import { ForkMode, PAGE_SIZE, ProtectFlag, PTE, Result, Status, Feature, PFEC } from '../core/constants.js';
import { SegmentationFault, PageFault, VmmError } from '../errors.js';
import { hex } from '../hex.js';
import type { AddressSpace } from '../machine/address-space.js';
import type { FaultHandler, FaultInfo } from '../machine/fault.js';
import { RegionMap } from './region-map.js';
import type { RegionRecord as Region } from './region.js';
import { PROT_WRITE, protectMasks, userPageAttrs } from './pte-attrs.js';
import { newFaultCounters, type FaultCounters, type SpaceStats } from './vm-stats.js';
import type { SharedMemoryObject } from './shared-memory.js';
import type { VmmContext } from './vmm-context.js';
import { formatMaps } from './maps-format.js';
import { STACK_GUARD_GAP } from './layout.js';

const TWO47 = 2 ** 47;
const HUGE_PAGE = 2 ** 21;

/** A new region: a record without its backing, plus the object (and byte offset) that backs it, if any. */
export type RegionSpec = Omit<Region, 'backing'> & { object?: SharedMemoryObject; offset?: number };

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
  residentPages = 0;
  sharedPages = 0;

  constructor(
    readonly space: AddressSpace,
    readonly ctx: VmmContext,
    init: { heapStart: number; stackTop: number; stackLimit: number; regions?: RegionMap },
  ) {
    this.regions = init.regions ?? new RegionMap();
    this.heapStart = init.heapStart;
    this.brkEnd = init.heapStart;
    this.stackTop = init.stackTop;
    this.stackLimit = init.stackLimit;
  }

  private get nxe(): boolean {
    return (this.space.machine.config.features & Feature.NXE) !== 0;
  }

  // ------------------------------------------------------------ regions and pages

  /** Adds a region over free space (merging like vma_merge); maps nothing yet. */
  addRegion(spec: RegionSpec): Region {
    const backing = spec.object ? { type: 'object' as const, objectId: spec.object.id, offset: spec.offset ?? 0 } : { type: 'anonymous' as const };
    const attach = spec.object !== undefined && !this.references(spec.object.id);
    const r = this.regions.insert({ start: spec.start, end: spec.end, prot: spec.prot, kind: spec.kind, name: spec.name, shared: spec.shared, backing, ...(spec.hugePages ? { hugePages: true } : {}) });
    if (attach) spec.object!.attach();
    return r;
  }

  /** Removes [start, end) from the regions and the page tables (holes are fine). */
  removeRange(start: number, end: number): void {
    const pieces = this.regions.remove(start, end);
    if (pieces.length === 0) return;
    const core = this.space.machine.core;
    for (const p of pieces) {
      const n = core.unmap(this.space.rootFrame, p.start, (p.end - p.start) / PAGE_SIZE);
      if (n < 0) throw this.space.machine.statusError(n, 'munmap', `[${hex(p.start)}, ${hex(p.end)})`);
      this.residentPages -= n;
      if (p.shared) this.sharedPages -= n;
    }
    this.space.machine.invalidateRange(this.space, pieces[0]!.start, (pieces[pieces.length - 1]!.end - pieces[0]!.start) / PAGE_SIZE);
    // One attachment per space and object: detach each object once, when no region of this space maps it any more.
    const ids = new Set<number>();
    for (const p of pieces) if (p.backing.type === 'object') ids.add(p.backing.objectId);
    for (const id of ids) if (!this.references(id)) this.ctx.object(id)?.detach();
  }

  /** Changes the protection of [start, end) (all of it mapped, else ENOMEM, nothing changed). */
  protectRange(start: number, end: number, prot: number): void {
    const pieces = this.regions.protect(start, end, prot);
    const core = this.space.machine.core;
    for (const p of pieces) {
      const m = protectMasks(prot, p.shared, this.nxe);
      const st = core.protect(this.space.rootFrame, p.start, (p.end - p.start) / PAGE_SIZE, m.setLo, m.setHi, m.clrLo, m.clrHi, p.shared ? 0 : ProtectFlag.KEEP_COW_READONLY);
      if (st < 0) throw this.space.machine.statusError(st, 'mprotect', `[${hex(p.start)}, ${hex(p.end)})`);
    }
    this.space.machine.invalidateRange(this.space, start, (end - start) / PAGE_SIZE);
  }

  /** Maps every page of [start, end) now (MAP_POPULATE) for a private writable or shared region. */
  populate(start: number, end: number): void {
    const r = this.regions.find(start);
    if (!r || r.prot === 0) return;
    const core = this.space.machine.core;
    const pages = (end - start) / PAGE_SIZE;
    if (r.backing.type === 'anonymous' && !r.shared) {
      // Linux populates a private read-only mapping with the zero page: reads need no frame, so vmsim leaves it to faults.
      if ((r.prot & PROT_WRITE) === 0) return;
      const [lo, hi] = userPageAttrs(r.prot, false, true, this.nxe);
      const st = core.map(this.space.rootFrame, start, pages, 12, lo | PTE.A | PTE.D, hi, -1);
      if (st < 0) throw this.space.machine.statusError(st, 'mmap', `populate [${hex(start)}, ${hex(end)})`);
      this.residentPages += pages; // populating is not a fault: no fault counter moves
      return;
    }
    if (!r.shared || r.backing.type !== 'object') return; // private object mappings fault in (COW) on access
    const obj = this.ctx.object(r.backing.objectId);
    if (!obj) return;
    // Object frames are not contiguous: one bulk allocation of the missing ones, one mapList.
    const first = (r.backing.offset + (start - r.start)) / PAGE_SIZE;
    const frames = obj.framesOf(first, pages);
    const [lo, hi] = userPageAttrs(r.prot, true, true, this.nxe);
    const st = core.mapList(this.space.rootFrame, start, frames, lo, hi);
    if (st < 0) throw this.space.machine.statusError(st, 'mmap', `populate [${hex(start)}, ${hex(end)})`);
    this.residentPages += pages;
    this.sharedPages += pages;
  }

  // ------------------------------------------------------------ faults

  /** Resolves a page fault of this space, or says which signal it is. */
  handleFault(f: FaultInfo): true | PageFault | SegmentationFault {
    if (f.la >= TWO47) {
      // Kernel half: a user access is SIGSEGV (as do_kern_addr_fault → bad_area_nosemaphore); a kernel one is an oops.
      if (f.user) return this.segv(f, 'SEGV_MAPERR', 'kernel address');
      return new PageFault(f.address, f.errorCode, f.access);
    }
    let r = this.regions.find(f.la);
    if (!r) {
      r = this.tryGrowStack(f.la);
      if (!r) return this.segv(f, 'SEGV_MAPERR');
    }
    const write = f.kind === 1;
    const present = (f.errorCode & PFEC.P) !== 0;
    // Linux's access_error() for x86.
    if (write) {
      if ((r.prot & PROT_WRITE) === 0) return this.segv(f, 'SEGV_ACCERR', `region is ${this.protName(r.prot)}`);
    } else if (present) {
      return this.segv(f, 'SEGV_ACCERR', `region is ${this.protName(r.prot)}`);
    } else if (r.prot === 0) {
      return this.segv(f, 'SEGV_ACCERR', 'region is ---');
    }
    if ((f.errorCode & PFEC.RSVD) !== 0) return new PageFault(f.address, f.errorCode, f.access);
    const la = f.la - (f.la % PAGE_SIZE);
    if (!present) {
      if (r.backing.type === 'object') this.mapObjectPage(r, la, write);
      else if (r.shared) this.mapObjectPage(r, la, write);
      else this.mapAnonymousPage(r, la, write);
      this.faults.minor++;
      this.ctx.faults.minor++;
      return true;
    }
    return this.writeProtectFault(f, r, la);
  }

  /** A write to a present, read-only page of a writable region: copy-on-write (or a stale entry). */
  private writeProtectFault(f: FaultInfo, r: Region, la: number): true | SegmentationFault {
    const m = this.space.machine;
    const core = m.core;
    let st = core.translate(this.space.rootFrame, la);
    if (st < 0) return true; // unmapped meanwhile: retry faults it in
    if (m.result[Result.D]! !== 12) {
      // A huge leaf: split it into 4 KiB entries first (a protect that changes nothing splits a partly covered leaf), as Linux splits a THP on COW.
      if (core.protect(this.space.rootFrame, la, 1, 0, 0, 0, 0, 0) < 0) return this.oom(f);
      st = core.translate(this.space.rootFrame, la);
      if (st < 0) return true;
    }
    const lo = m.result[Result.B]!;
    if ((lo & PTE.SW_COW) === 0) {
      // Not COW and the region allows writing: the entry is stale (e.g. PROT_NONE encoding); rewrite it.
      const mk = protectMasks(r.prot, r.shared, this.nxe);
      core.protect(this.space.rootFrame, la, 1, mk.setLo, mk.setHi, mk.clrLo, mk.clrHi, 0);
      m.invalidateRange(this.space, la, 1);
      return true;
    }
    const pfn = Math.floor(m.result[Result.A]! / PAGE_SIZE);
    const [alo, ahi] = userPageAttrs(r.prot, r.shared, true, this.nxe);
    const attrLo = alo | PTE.A | PTE.D | (lo & PTE.G);
    if (pfn === this.ctx.zeroFrame) {
      // Write to the zero page: a fresh zeroed frame, no copy (do_anonymous_page's write path).
      if (core.cowBreak(this.space.rootFrame, la, 1, attrLo, ahi) < 0) return this.oom(f);
    } else if (core.refCount(pfn) === 1 && r.backing.type === 'anonymous') {
      // Only owner left: reuse the frame in place, as wp_can_reuse_anon_folio() allows.
      core.protect(this.space.rootFrame, la, 1, PTE.RW | PTE.A | PTE.D, 0, PTE.SW_COW, 0, 0);
      this.faults.cowReused++;
      this.ctx.faults.cowReused++;
    } else {
      if (core.cowBreak(this.space.rootFrame, la, 0, attrLo, ahi) < 0) return this.oom(f);
      this.faults.cowCopied++;
      this.ctx.faults.cowCopied++;
    }
    if (pfn !== this.ctx.zeroFrame) {
      this.faults.cow++;
      this.ctx.faults.cow++;
    }
    this.faults.minor++;
    this.ctx.faults.minor++;
    m.invalidateRange(this.space, la, 1);
    return true;
  }

  private mapAnonymousPage(r: Region, la: number, write: boolean): void {
    const core = this.space.machine.core;
    if (r.hugePages && this.mapHugePage(r, la)) return;
    if (write) {
      const [lo, hi] = userPageAttrs(r.prot, false, true, this.nxe);
      this.mapOrThrow(core.map(this.space.rootFrame, la, 1, 12, lo, hi, -1), la);
    } else {
      // Read fault on private anonymous memory maps the shared zero page read-only (COW).
      const [lo, hi] = userPageAttrs(r.prot, false, false, this.nxe);
      this.mapOrThrow(core.map(this.space.rootFrame, la, 1, 12, lo | PTE.SW_COW, hi, this.ctx.zeroFrame), la);
    }
    this.residentPages++;
  }

  /**
   * THP fault: a fresh 2 MiB page for the aligned block around `la` when the block lies inside
   * the region and nothing in it is mapped yet; false (fall back to 4 KiB, as Linux does) when
   * not, or when no aligned run of frames is free. Read faults get a private huge page too
   * (vmsim has no huge zero page).
   */
  private mapHugePage(r: Region, la: number): boolean {
    const block = la - (la % HUGE_PAGE);
    if (block < r.start || block + HUGE_PAGE > r.end) return false;
    const [lo, hi] = userPageAttrs(r.prot, false, true, this.nxe);
    if (this.space.machine.core.map(this.space.rootFrame, block, 1, 21, lo, hi, -1) < 0) return false;
    this.residentPages += HUGE_PAGE / PAGE_SIZE;
    return true;
  }

  private mapObjectPage(r: Region, la: number, write: boolean): void {
    const core = this.space.machine.core;
    const obj = r.backing.type === 'object' ? this.ctx.object(r.backing.objectId) : undefined;
    if (!obj) throw new VmmError('EFAULT', `region at ${hex(r.start)} lost its shared memory object`);
    const offset = r.backing.type === 'object' ? r.backing.offset : 0;
    const index = (offset + (la - r.start)) / PAGE_SIZE;
    if (index >= obj.size / PAGE_SIZE) throw new VmmError('EFAULT', `access at ${hex(la)} is beyond the end of shared memory ${JSON.stringify(obj.name)} (SIGBUS on Linux)`);
    const pfn = obj.frameOf(index);
    if (r.shared) {
      const [lo, hi] = userPageAttrs(r.prot, true, true, this.nxe);
      this.mapOrThrow(core.map(this.space.rootFrame, la, 1, 12, lo, hi, pfn), la);
      this.sharedPages++;
    } else if (write) {
      const nf = core.allocFrame();
      if (nf < 0) throw new VmmError('ENOMEM', `no free frame to copy page ${hex(la)}`);
      core.copyFrame(nf, pfn);
      const [lo, hi] = userPageAttrs(r.prot, false, true, this.nxe);
      const st = core.map(this.space.rootFrame, la, 1, 12, lo, hi, nf);
      core.unrefFrame(nf);
      this.mapOrThrow(st, la);
    } else {
      const [lo, hi] = userPageAttrs(r.prot, false, false, this.nxe);
      this.mapOrThrow(core.map(this.space.rootFrame, la, 1, 12, lo | PTE.SW_COW, hi, pfn), la);
    }
    this.residentPages++;
  }

  private mapOrThrow(st: number, la: number): void {
    if (st === Status.ENOMEM) throw new VmmError('ENOMEM', `out of physical memory while faulting in ${hex(la)}`);
    if (st < 0) throw this.space.machine.statusError(st, 'fault', `va ${hex(la)}`);
  }

  /** Linux's expand_stack: a fault below the stack within its limit and clear of the guard gap grows it. */
  private tryGrowStack(la: number): Region | undefined {
    const stack = this.regions.find(this.stackTop - 1);
    if (!stack || stack.kind !== 'stack' || la >= stack.start) return undefined;
    const newStart = la - (la % PAGE_SIZE);
    if (newStart < this.stackTop - this.stackLimit) return undefined;
    const prev = this.regions.below(newStart);
    if (prev && prev.end + STACK_GUARD_GAP > newStart) return undefined;
    this.regions.insert({ start: newStart, end: stack.start, prot: stack.prot, kind: 'stack', name: stack.name, shared: false, backing: { type: 'anonymous' } });
    return this.regions.find(la);
  }

  private segv(f: FaultInfo, cause: 'SEGV_MAPERR' | 'SEGV_ACCERR', detail?: string): SegmentationFault {
    this.faults.segv++;
    this.ctx.faults.segv++;
    return new SegmentationFault(f.address, f.access, cause, f.errorCode, detail);
  }

  private oom(f: FaultInfo): never {
    throw new VmmError('ENOMEM', `out of physical memory resolving a ${f.access} fault at ${hex(f.address)}`);
  }

  private protName(p: number): string {
    return (p & 1 ? 'r' : '-') + (p & 2 ? 'w' : '-') + (p & 4 ? 'x' : '-');
  }

  // ------------------------------------------------------------ fork, stats, teardown

  /** Copies this space's regions and page tables into `child` (COW for private pages, shared stays shared). */
  forkInto(child: VirtualMemory): void {
    const core = this.space.machine.core;
    child.regions = this.regions.clone();
    child.heapStart = this.heapStart;
    child.brkEnd = this.brkEnd;
    child.stackTop = this.stackTop;
    child.stackLimit = this.stackLimit;
    for (const id of this.objectIds()) this.ctx.object(id)?.attach();
    // One core call per run of touching regions of one sharing, not per region.
    this.regions.forEachRun((start, end, shared) => {
      const n = core.fork(this.space.rootFrame, child.space.rootFrame, start, (end - start) / PAGE_SIZE, shared ? ForkMode.SHARE : ForkMode.COW);
      if (n < 0) throw this.space.machine.statusError(n, 'fork', `copying [${hex(start)}, ${hex(end)})`);
      child.residentPages += n;
      if (shared) child.sharedPages += n;
    });
    // dup_mmap() ends with flush_tlb_mm(oldmm): the parent's writable entries are now stale.
    this.space.machine.flushSpace(this.space);
  }

  /** Drops every region (frames are freed by the caller's destroyRoot). */
  teardown(): void {
    const ids = this.objectIds();
    this.regions = new RegionMap();
    for (const id of ids) this.ctx.object(id)?.detach();
  }

  /** Statistics of this space. */
  stats(): SpaceStats {
    return { faults: { ...this.faults }, residentPages: this.residentPages, sharedPages: this.sharedPages, virtualSize: this.regions.bytes, regions: this.regions.size };
  }

  /** /proc/PID/maps text. */
  maps(): string {
    return formatMaps(this.regions, (id) => {
      const o = this.ctx.object(id);
      return o && { name: o.name, linked: o.isLinked };
    });
  }

  /** O(1): the region map counts the regions of each object. */
  private references(objectId: number): boolean {
    return this.regions.references(objectId);
  }

  private objectIds(): number[] {
    return this.regions.objectIds();
  }
}


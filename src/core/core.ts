/**
 * The core: the contract between the TypeScript machine and a backend (the C++ addon or the
 * pure-TS reference). It is deliberately low level: frame numbers, 48-bit linear addresses
 * as non-negative numbers (0 .. 2^48-1, kernel half included), 64-bit entries as two 32-bit
 * words, and status codes instead of exceptions. Arguments are validated by the TypeScript
 * layer; the core re-checks ranges and answers EINVAL rather than misbehaving.
 *
 * Every operation either succeeds or returns a negative Status with nothing changed (except
 * where noted). Both backends must give identical results for identical call sequences:
 * same frames chosen, same entries written, same TLB contents and counters.
 * docs/core-spec.md states the semantics in full.
 */
import type { TlbState } from './tlb-state.js';
import type { CoreCapture, CoreRestore } from './core-state.js';

/** Options for creating a core. */
export interface CoreConfig {
  /** Bytes of simulated RAM: a multiple of 4096, at least 2 MiB. */
  readonly memoryBytes: number;
  /** Feature bitmask (see Feature). */
  readonly features: number;
  /** TLB arrays, allocated by the caller (createTlbState); the core updates them in place. */
  readonly tlb: TlbState;
  /** Shared counters (Counter indices), length Counter.LENGTH. */
  readonly counters: Float64Array;
  /** Multi-value results (Result indices), length Result.LENGTH. */
  readonly result: Float64Array;
  /** Commit host memory for all of RAM now instead of on first touch (default false). */
  readonly eagerHostMemory?: boolean;
  /** CPUs 1..n-1 (CPU 0 is `tlb` and `counters`): each its own TLB arrays and counters; at most 255. */
  readonly otherCpus?: ReadonlyArray<{ readonly tlb: TlbState; readonly counters: Float64Array }>;
  /** A snapshot's state to start from instead of a fresh boot (no kernel tables allocated; CR3s as captured; docs/snapshots.md). */
  readonly from?: CoreRestore;
}

/** A backend: physical memory, frames, page tables, the TLB and the access path. */
export interface Core {
  readonly backend: 'native' | 'js';
  readonly totalFrames: number;
  /** Number of CPUs (1 + otherCpus.length). */
  readonly cpuCount: number;

  // ---- physical memory ----
  /** RAM bytes [i * 2^30, min(memoryBytes, (i+1) * 2^30)) as a view; stable for the core's life. */
  ramChunk(i: number): Uint8Array;
  /**
   * RAM bytes [i * 2^21, min(memoryBytes, (i+1) * 2^21)) as a new view (the caller keeps it).
   * For frame bytes from TS (swap reads and writes): V8 counts a view's whole length as
   * external memory, and the first 1 GiB ramChunk of a machine makes it run a full GC.
   */
  ramWindow(i: number): Uint8Array;

  // ---- frames ----
  /** Number of free frames. */
  freeFrames(): number;
  /** Allocates the lowest free frame, zeroed, refcount 1: its number, or ENOMEM. */
  allocFrame(): number;
  /** Allocates the lowest run of `count` free frames starting at a multiple of `align`, zeroed, each refcount 1: first frame, or ENOMEM/EINVAL. */
  allocFrames(count: number, align: number): number;
  /** Allocates `count` single frames (each the lowest free, zeroed, refcount 1) into out[0..count): OK, or ENOMEM with nothing allocated, or EINVAL. */
  allocFrameList(out: Float64Array, count: number): number;
  /** Adds a reference to an allocated frame: the new count, or EINVAL (free, frame 0 or out of range). */
  refFrame(pfn: number): number;
  /** Drops a reference: the new count (0 = the frame is free again), or EINVAL (free, frame 0 or out of range). */
  unrefFrame(pfn: number): number;
  /** Drops one reference from each of frames[0..count) (a frame may be listed as often as it has references; reclaim's frees of a batch): the frames freed, or EINVAL with nothing changed (a frame free, 0 or out of range, listed too often, or a count beyond the array). */
  unrefFrameList(frames: Float64Array, count: number): number;
  /** Reference count of a frame (0 when free); frame 0 reports 1. EINVAL when out of range. */
  refCount(pfn: number): number;
  /** Reference counts of frames[0..count) into out[0..count) (reclaim's check of a batch): OK, or EINVAL (nothing written) for a frame out of range or arrays too short. */
  refCountList(frames: Float64Array, count: number, out: Float64Array): number;
  /** Tells the core that JS wrote raw bytes into frames [pfn, pfn+count) (so they are zeroed when next allocated). */
  noteWritten(pfn: number, count: number): void;
  /** Copies a whole frame's bytes onto another frame: OK or EINVAL. */
  copyFrame(dstPfn: number, srcPfn: number): number;

  // ---- page tables ----
  /** Allocates a top-level table whose entries 256-511 point to the shared kernel tables: its frame, or ENOMEM. */
  createRoot(): number;
  /** Unmaps the user half (dropping leaf references, freeing tables) and frees the root frame. OK or EINVAL. */
  destroyRoot(root: number): number;
  /**
   * Maps `count` pages of 2^shift bytes (shift 12, 21 or 30) from `la`. Leaf low word is
   * (attrLo & 0xF7E) | P | PS (for 2M/1G) | address, high word (attrHi & NX) | address.
   * pfn >= 0 maps the consecutive frames from pfn (each must be allocated; each gains a
   * reference); pfn = -1 allocates fresh zeroed frames (aligned runs for large pages).
   * EEXIST if any slot is occupied, ENOMEM if frames run out, EINVAL on bad arguments.
   */
  map(root: number, la: number, count: number, shift: number, attrLo: number, attrHi: number, pfn: number): number;
  /**
   * Maps frames.length 4 KiB pages from `la`, page k to frame frames[k] (each must be
   * allocated; each gains a reference), with the attributes of `map`. EEXIST / EINVAL /
   * ENOMEM as `map`, all or nothing.
   */
  mapList(root: number, la: number, frames: Float64Array, attrLo: number, attrHi: number): number;
  /**
   * Unmaps every present leaf in [la, la + count*4096), splitting large leaves that are only
   * partly covered. Drops one reference per frame; frees tables left empty. Returns the number
   * of 4 KiB pages unmapped (result[D] = frames freed, result[E] = tables freed, [F, G) the span
   * a flush must cover and H its levels: Result), or ENOMEM (a split failed; nothing unmapped).
   */
  unmap(root: number, la: number, count: number): number;
  /**
   * For every present leaf in the range (splitting partly covered large leaves):
   * entry = (entry & ~clr) | set on the attribute bits RW US PWT PCD A D G and bits 9-11
   * (low word) and NX (high word); then, where the new low word has any bit of `ifLo`, its
   * `thenClrLo` bits are cleared too (e.g. a COW page keeps RW clear: ifLo SW_COW, thenClrLo
   * RW). Returns the number of 4 KiB pages covered (result[E] = leaves whose change needs a TLB
   * flush, [F, G) their span, H their levels: Result), or ENOMEM/EINVAL.
   */
  protect(root: number, la: number, count: number, setLo: number, setHi: number, clrLo: number, clrHi: number, ifLo: number, thenClrLo: number): number;
  /**
   * Pure walk (no TLB, no A/D). OK with result[A] = physical address of `la`, result[B]/[C] =
   * leaf entry low/high words, result[D] = page shift; ENOENT when not mapped.
   */
  translate(root: number, la: number): number;
  /**
   * Counts the present leaves meeting [la, la + count*4096) whose Accessed bit is set, and
   * clears those bits when `clear` (the TLB is not touched: invalidate as needed). Returns the
   * number of such leaves with result[A] = the 4 KiB pages they cover, or EINVAL.
   */
  scanAccessed(root: number, la: number, count: number, clear: boolean): number;
  /**
   * Copies the present leaves of [la, la + count*4096) from `src` into `dst` for fork: the
   * parent's leaf becomes (leaf & ~parentClrLo) | parentSetLo and the child's entry is that
   * with `childClrLo` cleared (low-word bits 0xF7E only). Each frame gains a reference.
   * Returns pages copied, or ENOMEM/EEXIST.
   */
  fork(src: number, dst: number, la: number, count: number, parentClrLo: number, parentSetLo: number, childClrLo: number): number;

  /**
   * The 4 KiB pages of [la, la + count*4096) that present leaves map to frames in [pfn, pfn +
   * frames) (a large leaf partly inside the range counts its parts inside): the VMM's count of
   * zero-page mappings, which Linux's RSS leaves out. Bad entries met are cleared and counted,
   * as scanAccessed does. EINVAL for a bad range or root.
   */
  countFrames(root: number, la: number, count: number, pfn: number, frames: number): number;

  /**
   * mremap's move of page-table entries: the entries of the user-half range [src, src +
   * count*4096) move to [dst, dst + count*4096) unchanged (present leaves with their A/D and
   * software bits, and non-present ones: swap entries), and no frame's reference count changes.
   * Where both sides are aligned alike on a 1 GiB or 2 MiB boundary and dst's slot is empty, the
   * table (or large leaf) moves whole, as move_page_tables moves a PMD; a large leaf that cannot
   * move whole is split first (also at the range's edges, as for unmap). EINVAL for overlapping
   * ranges or a range outside the user half; EEXIST (nothing changed) when anything is mapped in
   * dst; ENOMEM when a table cannot be allocated, with every entry moved back (splits stay).
   * Tables left empty in src are freed. The TLB is not touched. Returns OK.
   */
  moveRange(root: number, src: number, dst: number, count: number): number;

  /**
   * The copy-on-write break in one call: points the present 4 KiB leaf at `la` to a freshly
   * allocated frame — a copy of the old frame (mode 0) or zeros (mode 1, a write to the zero
   * page) — carrying (attrLo, attrHi) as a leaf of `map` (attrLo & 0xF7E | P, attrHi & NX); the old frame loses a reference and the
   * new one has exactly the leaf's. Returns the new frame, or ENOENT (no leaf), EINVAL (a large
   * leaf or bad arguments), ENOMEM (no free frame; nothing changed). The TLB is not touched.
   */
  cowBreak(root: number, la: number, mode: number, attrLo: number, attrHi: number): number;

  // ---- CPUs: the CPU-level calls below act on the selected CPU ----
  /**
   * Selects the CPU that setCr3, invalidate, invalidateList, flushPcid, flushAll, access,
   * accessBatch, traceBatch, copyVirt and the hierarchy calls act on (CPU 0 at first); bad
   * entries met by page-table operations count in its counters. RangeError for no such CPU.
   */
  selectCpu(cpu: number): void;
  /**
   * TLB maintenance on any CPUs in one call (a shootdown's INVLPGs, flushes and CR3 loads on
   * every target): `count` operations of TlbOp.FIELDS numbers (constants.ts TlbOp), checked
   * whole first (EINVAL, nothing run, for a bad one), then run in order, each on its CPU's TLB
   * and hierarchy exactly as invalidate (at the given stride), flushPcid, flushAll and setCr3
   * on that CPU, counting in its counters. The selected CPU does not change. OK or EINVAL.
   */
  tlbOps(ops: Float64Array, count: number): number;

  // ---- CPU: CR3, TLB maintenance, accesses ----
  /** MOV to CR3: loads root and PCID; flushes per the SDM unless noFlush (PCIDE only). */
  setCr3(root: number, pcid: number, noFlush: boolean): void;
  /** INVLPG-like: invalidates entries of `pcid` (and global ones) covering each page of [la, la + count*4096). */
  invalidate(pcid: number, la: number, count: number): void;
  /** Invalidates every non-global entry tagged with `pcid`. */
  flushPcid(pcid: number): void;
  /** Invalidates every entry (includeGlobal) or every non-global entry. */
  flushAll(includeGlobal: boolean): void;
  /**
   * One access through the TLB (the hierarchy, when one is attached) and walker with the
   * current CR3. flags: bit0 user mode, bit1 EFLAGS.AC, bit 3 (HIER_RETRY) the access retries
   * one that faulted (the hierarchy counts its lookups once). Returns the physical address, or
   * -(1 + error code) on a page fault with result[A] = la, result[B] = error code, result[C] = kind.
   */
  access(la: number, kind: number, flags: number): number;
  /**
   * Runs accesses [start, end) of the arrays; stops at the first fault. Returns the index of
   * the faulting access (fault details as for access) or `end`. flags as for access, plus
   * bit 2: the caller already checked this batch (skip the check on a resume).
   */
  accessBatch(las: Float64Array, kinds: Uint8Array, start: number, end: number, flags: number): number;
  /**
   * Replays packed trace records (src/trace/trace-record.ts: two words a record, 48-bit
   * linear address, kind load/store/fetch/modify, size 1..4096) [start >> 1, end) through the
   * access path. A record is one access per page it touches (two when it crosses a page
   * boundary; a modify is one write-intent access). Positions count page touches:
   * record * 2 + part (0 first page, 1 second page). Starts at position `start`; returns the
   * position of the touch that faulted (details as for access) or end * 2. For each record
   * completed, out[TraceOut.LOADS + kind] += 1 and out[TraceOut.SPLITS] += 1 if it crossed.
   * flags as for accessBatch (bit 2: already checked). EINVAL when a record has bits 30-31 of
   * its high word set (nothing run) or the arguments are out of range. With a hierarchy
   * attached, this is hierTraceBatch.
   */
  traceBatch(words: Uint32Array, start: number, end: number, flags: number, out: Float64Array): number;
  /**
   * Copies bytes between `buf[offset, offset+length)` and virtual memory at `la` through the
   * access path (one access per page touched). Returns bytes done; fewer than `length` means
   * a fault, described as for access.
   */
  copyVirt(la: number, buf: Uint8Array, offset: number, length: number, write: boolean, flags: number): number;

  // ---- the per-CPU TLB hierarchy (src/tlb/; docs/tlb-hierarchy.md) ----
  /**
   * Attaches a TLB hierarchy (L1 I/D arrays, second level, paging-structure caches) built from
   * `config` (src/tlb/layout.ts encoding), counting into `stats` (HierStat.LENGTH values, the
   * caller's array); replaces any earlier one, all entries invalid. `config` null detaches it.
   * While attached, the selected CPU's accesses (access, accessBatch, traceBatch, copyVirt) go
   * through it instead of the single TLB, and invalidate/flushPcid/flushAll/setCr3 also act on
   * it as INVLPG, INVPCID and CR3 loads do (SDM §4.10.4.1). OK or EINVAL.
   */
  hierarchy(config: Float64Array | null, stats: Float64Array | null): number;
  /**
   * traceBatch through the hierarchy instead of the machine's TLB (user mode only: flags bit 0
   * must be set). Flags bit 3 (HIER_RETRY): the touch at `start` retries the one that faulted.
   * Same positions, `out` counts and EINVAL cases as traceBatch; EINVAL with no hierarchy.
   */
  hierTraceBatch(words: Uint32Array, start: number, end: number, flags: number, out: Float64Array): number;
  /** INVLPG or an INVPCID type (HierOp) on the hierarchy only: OK, or EINVAL (no hierarchy, bad arguments). */
  hierInvalidate(op: number, pcid: number, la: number): number;
  /** One array's state (TlbArray.dump layout) into `out`: the values written, ENOENT for an absent slot, EINVAL. */
  hierDump(slot: number, out: Float64Array): number;

  // ---- reclaim (native/reclaim.cc, src/core/ref/reclaim.ts): lists of 4 KiB user pages ----
  /**
   * For each page las[i] (4 KiB aligned, user half) of [0, count): out[i] = PageBit flags of
   * the entry at its 4 KiB level (ACCESSED | DIRTY | PRESENT | WRITABLE (RW), and SHARED when the frame has more
   * than one reference; SWAP for a non-present non-zero entry; 0 when empty), frames[i] = its
   * frame or -1. Within a 2M/1G leaf: LARGE | PRESENT with that leaf's ACCESSED/DIRTY, and the
   * frame of the 4 KiB part of it at las[i] (SHARED by that frame's count); a bad large entry is
   * LARGE alone with frame -1.
   * OK, or EINVAL (nothing written) for a bad list.
   */
  pageBits(root: number, las: Float64Array, count: number, out: Uint8Array, frames: Float64Array): number;
  /** Clears the Accessed bit of the present leaves at las[0..count), a 2M/1G leaf's included (the TLB is not touched): how many had it, or EINVAL. */
  clearAccessedList(root: number, las: Float64Array, count: number): number;
  /**
   * Replaces the present 4 KiB leaves at las[0..count) by the non-present entries
   * (lo[i], hi[i]) (bit P clear, else EINVAL); each frame loses a reference. All or nothing:
   * ENOENT when one is not a present 4 KiB leaf. Returns the frames freed. The TLB is not touched.
   */
  swapOutList(root: number, las: Float64Array, count: number, lo: Uint32Array, hi: Uint32Array): number;
  /** The raw entry at the 4 KiB level for `la` (present or not): OK with result[B]/[C] = low/high word; ENOENT when no table holds it; EINVAL when a large leaf maps it. */
  readEntry(root: number, la: number): number;
  /**
   * Writes the non-present entries (lo[i], hi[i]) at las[0..count) (0 clears), creating tables
   * for non-zero ones: the swap entries a fork copies, or clearing them before unmap. EEXIST
   * (nothing written) when a page is present or inside a large leaf; EINVAL when an entry has
   * P set. Returns entries written, or ENOMEM (a table could not be allocated; the ones before stay).
   */
  writeEntries(root: number, las: Float64Array, count: number, lo: Uint32Array, hi: Uint32Array): number;
  /**
   * Maps the 4 KiB page `la` over a non-present (or empty) entry with (attrLo, attrHi): to
   * frame `pfn` (which gains a reference), or for pfn = -1 to a fresh frame holding
   * bytes[offset, offset + 4096) (zeros when bytes is null), refcount 1. Returns the frame, or
   * EEXIST (present there), ENOMEM (nothing changed), EINVAL.
   */
  swapIn(root: number, la: number, pfn: number, attrLo: number, attrHi: number, bytes: Uint8Array | null, offset: number): number;
  /** Invalidates the TLB entries of `pcid` (and global ones) for each page las[0..count), as one INVLPG each. */
  invalidateList(pcid: number, las: Float64Array, count: number): void;
  /**
   * Swap-out's copy of frames to the swap device's storage, with no view per page: for i in
   * [start, start + count), frame frames[i] (allocated) is copied to dst[dstOffset + (i - start)
   * * 4096, +4096) and zero[i] = 0 — unless it reads as all zeros, then zero[i] = 1 and nothing
   * is copied. OK, or EINVAL (nothing written) for a frame not allocated or arrays too short.
   */
  copyFramesOut(frames: Float64Array, start: number, count: number, dst: Uint8Array, dstOffset: number, zero: Uint8Array): number;

  // ---- snapshots (docs/snapshots.md) ----
  /**
   * The core's state for a snapshot: reference counts, CR3s, the selected CPU, and RAM frozen as
   * an image (copy-on-write on the native core: RAM goes on over a private mapping of it; the js
   * core copies its chunks). Hierarchy arrays are read with hierDump. ENOMEM (thrown) when the host refuses.
   */
  capture(): CoreCapture;
  /** Puts a snapshot's hierarchy state on the selected CPU: hierDump's layout per slot (null for absent ones) and the pending faulted touch. OK or EINVAL. */
  hierRestore(dumps: ReadonlyArray<Float64Array | null>, pending: number): number;

  /** Releases host resources. The core is unusable afterwards. */
  dispose(): void;
}

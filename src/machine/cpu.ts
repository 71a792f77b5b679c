/**
 * The hardware level of a machine: one CPU's memory system — physical memory, the core that
 * runs page walks and the TLB, CR3 with PCIDs, and the OS's TLB-invalidation policy. It knows
 * address spaces only as (root, PCID) pairs; nothing here knows regions or the VMM.
 */
import type { Core } from '../core/core.js';
import { Counter, Feature, Result, Status, TlbFlag } from '../core/constants.js';
import { createTlbState, type TlbState } from '../core/tlb-state.js';
import { createCore } from '../core/create-core.js';
import { undetachable } from '../core/undetachable.js';
import { VmmError } from '../errors.js';
import { resolveOptions, type MachineOptions, type ResolvedOptions } from './options.js';
import { PhysicalMemory } from './physical-memory.js';
import { SINGLE_PAGE_FLUSH_CEILING } from './tlb-policy.js';
import { toLinear } from '../address.js';
import { strictOptions } from '../strict-options.js';
import { Frames } from './frames.js';

const TWO47 = 2 ** 47;
const PAGE_BYTES = 4096;
const USER_PAGES = TWO47 / PAGE_BYTES;
const SIZE_OF_CLASS = [4096, 2 ** 21, 2 ** 30];
const MAX_PCID = 4095;

/** The core of a disposed machine: every use is refused with the same VmmError on both backends. */
const DISPOSED_CORE = new Proxy({} as Core, {
  get() {
    throw new VmmError('EINVAL', 'the machine has been disposed');
  },
});

/** What the CPU knows of an address space: its top-level table and its TLB tag. */
export interface CpuSpace {
  readonly rootFrame: number;
  readonly pcid: number;
  /** The machine was disposed: the space is dead. */
  markDestroyed(): void;
}

/** TLB statistics of the machine. */
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

/** One CPU's memory system: physical memory, CR3/PCID, the TLB and its maintenance. */
export class Cpu {
  /** Raw physical memory and frames. */
  readonly physical: PhysicalMemory;
  /** Which backend runs the core. */
  readonly backend: 'native' | 'js';
  /** The validated options. */
  readonly config: Readonly<ResolvedOptions>;
  /** @internal The backend (replaced by a refusing stub at dispose). */ core: Core;
  /** @internal The typed frame operations (what the VMM and reclaim use for frames). */
  readonly frames: Frames = new Frames(this);
  /** @internal */ readonly tlbState: TlbState;
  /** @internal */ readonly counters: Float64Array;
  /** @internal */ readonly result: Float64Array;
  /** @internal TLB tag of the current CR3: its PCID with PCIDE, else 0. */
  tag = 0;
  /** @internal Accesses re-executed after a resolved fault (the core counted each as one more lookup and miss). */
  retries = 0;
  /** @internal */ protected readonly spaceSet = new Set<CpuSpace>();
  private readonly pcidInUse = new Uint8Array(MAX_PCID + 1);
  /** @internal */ protected currentSpace: CpuSpace | undefined;
  /** @internal Frame of the idle top-level table (init_mm's), loaded when no space runs. */
  readonly idleRoot: number;
  private disposed = false;

  /** Builds the hardware; see MachineOptions for the defaults. */
  constructor(options: MachineOptions = {}) {
    this.config = resolveOptions(options);
    this.tlbState = createTlbState(this.config.tlbSets, this.config.tlbWays);
    this.counters = undetachable(Float64Array, Counter.LENGTH);
    this.result = undetachable(Float64Array, Result.LENGTH);
    try {
      this.core = createCore(this.config.backend, {
        memoryBytes: this.config.memoryBytes,
        features: this.config.features,
        tlb: this.tlbState,
        counters: this.counters,
        result: this.result,
        eagerHostMemory: this.config.hostMemory === 'eager',
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
    this.core.setCr3(idle, 0, false);
  }

  /** True when PCIDs tag TLB entries. */
  get pcidEnabled(): boolean {
    return (this.config.features & Feature.PCIDE) !== 0;
  }

  /** True when EFER.NXE makes bit 63 of entries execute-disable. */
  get nxEnabled(): boolean {
    return (this.config.features & Feature.NXE) !== 0;
  }

  /** TLB statistics, exact at the moment of the call. */
  tlbStats(): TlbStats {
    const c = this.counters;
    const hits = c[Counter.HITS]!;
    const misses = c[Counter.MISSES]! - this.retries;
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

  /** Resets the TLB and access counters to zero (the TLB contents stay). */
  resetStats(): void {
    this.counters.fill(0);
    this.retries = 0;
  }

  /** TLB maintenance as the OS would issue it. */
  readonly tlb = {
    /** INVLPG in the current address space: drops the entries that translate `va`. */
    invlpg: (va: number | bigint): void => {
      this.checkLive();
      this.core.invalidate(this.tag, toLinear(va), 1);
    },
    /** Flushes every non-global entry (what a CR3 reload without PCIDs does), or every entry with `global`. */
    flush: (options: { global?: boolean } = {}): void => {
      this.checkLive();
      strictOptions(options, 'options', ['global']);
      if (options.global !== undefined && typeof options.global !== 'boolean') throw new VmmError('EINVAL', `options.global must be a boolean, got ${typeof options.global}`);
      this.core.flushAll(options.global === true);
    },
    /** Number of valid entries now in the TLB. */
    validEntries: (): number => {
      let n = 0;
      for (const f of this.tlbState.flags) if (f & TlbFlag.VALID) n++;
      return n;
    },
  };

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

  /** @internal A new top-level table (or the given one) and a PCID for a space: [root frame, pcid]; ENOMEM when no frame is left. */
  newRoot(what: string, given?: number): [number, number] {
    if (given !== undefined) return [given, this.allocPcid()];
    const root = this.core.createRoot();
    if (root < 0) throw new VmmError('ENOMEM', `${what}: no free frame for the top-level table`);
    return [root, this.allocPcid()];
  }

  /** @internal Adds a live space (its root and PCID came from newRoot or a guest). */
  register(space: CpuSpace): void {
    this.spaceSet.add(space);
  }

  /** @internal Loads `space` into CR3 (a context switch); the caller checked the space. */
  load(space: CpuSpace): void {
    if (this.currentSpace === space) return;
    // Another task on the same tables (a vfork child borrows its parent's): CR3 keeps its value, nothing to load.
    const cur = this.currentSpace;
    if (cur !== undefined && cur.rootFrame === space.rootFrame && cur.pcid === space.pcid) {
      this.currentSpace = space;
      return;
    }
    // PCID 0 is shared by the spaces beyond 4095 and by the idle tables: it must always flush.
    const noFlush = this.pcidEnabled && space.pcid !== 0;
    this.core.setCr3(space.rootFrame, this.pcidEnabled ? space.pcid : 0, noFlush);
    this.tag = this.pcidEnabled ? space.pcid : 0;
    this.currentSpace = space;
  }

  /** @internal Makes `space` current if it is not (an access runs in the space's context). */
  activate(space: CpuSpace): void {
    if (this.currentSpace !== space) this.load(space);
  }

  /**
   * @internal Invalidates stale TLB entries after `pages` pages from `la` changed in `space`:
   * single-page invalidations up to Linux's ceiling, a flush above it. Kernel-half changes
   * reach every PCID.
   */
  invalidateRange(space: CpuSpace, la: number, pages: number): void {
    if (pages <= 0) return;
    const pcide = this.pcidEnabled;
    if (la >= TWO47) {
      if (pages > SINGLE_PAGE_FLUSH_CEILING) {
        this.core.flushAll(true);
        return;
      }
      for (const tag of this.liveTags()) this.core.invalidate(tag, la, pages);
      return;
    }
    // A PCID flush keeps global entries: global user pages (which Linux never makes, but
    // mapPage can) of the range are invalidated one by one, as an OS must INVLPG them.
    if (pages > SINGLE_PAGE_FLUSH_CEILING) this.dropGlobals(la, pages);
    // Without PCIDs another space's entries were flushed when it was switched out.
    if (!pcide && !this.isLoaded(space)) return;
    const tag = pcide ? space.pcid : 0;
    if (pages > SINGLE_PAGE_FLUSH_CEILING) this.core.flushPcid(tag);
    else this.core.invalidate(tag, la, pages);
  }

  /** Invalidates every global TLB entry that overlaps [la, la + pages*4096): a scan of the TLB arrays, a call per entry found. */
  private dropGlobals(la: number, pages: number): void {
    const t = this.tlbState;
    if (t.meta[0]! === 0) return;
    const end = la + pages * PAGE_BYTES;
    for (let e = 0; e < t.key.length; e++) {
      if ((t.flags[e]! & TlbFlag.GLOBAL) === 0 || (t.flags[e]! & TlbFlag.VALID) === 0) continue;
      const q = Math.floor(t.key[e]! / 8192);
      const size = SIZE_OF_CLASS[q % 4]!;
      const start = Math.floor(q / 4) * size;
      if (start < end && start + size > la) this.core.invalidate(this.tag, start, 1);
    }
  }

  /** @internal Invalidates each page of las[0..count) of `space` (reclaim's unmapped pages): one core call. */
  invalidateList(space: CpuSpace, las: Float64Array, count: number): void {
    if (!this.pcidEnabled && !this.isLoaded(space)) return;
    this.core.invalidateList(this.pcidEnabled ? space.pcid : 0, las, count);
  }

  /** @internal Flushes every entry of a space (after fork write-protects it, or at destroy). */
  flushSpace(space: CpuSpace): void {
    if (!this.pcidEnabled && !this.isLoaded(space)) return;
    this.core.flushPcid(this.pcidEnabled ? space.pcid : 0);
  }

  /** True when CR3 holds `space`'s tables now (its own task, or a vfork child's on the same tables). */
  private isLoaded(space: CpuSpace): boolean {
    const cur = this.currentSpace;
    return cur === space || (cur !== undefined && cur.rootFrame === space.rootFrame);
  }

  /** @internal Forgets a destroyed space; loads the idle tables if it was current. */
  release(space: CpuSpace): void {
    this.flushSpace(space);
    // The space's frames are about to be freed: no global entry may keep translating to them.
    this.dropGlobals(0, USER_PAGES);
    if (this.currentSpace === space) {
      this.core.setCr3(this.idleRoot, 0, false);
      this.tag = 0;
      this.currentSpace = undefined;
    }
    if (space.pcid !== 0) this.pcidInUse[space.pcid] = 0;
    this.spaceSet.delete(space);
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

  private allocPcid(): number {
    if (!this.pcidEnabled) return 0;
    for (let p = 1; p <= MAX_PCID; p++) {
      if (this.pcidInUse[p] === 0) {
        this.pcidInUse[p] = 1;
        return p;
      }
    }
    return 0; // beyond 4095 spaces: untagged, flushed at every switch
  }

  private liveTags(): number[] {
    if (!this.pcidEnabled) return [0];
    const tags = [0];
    for (const s of this.spaceSet) if (s.pcid !== 0) tags.push(s.pcid);
    return tags;
  }
}

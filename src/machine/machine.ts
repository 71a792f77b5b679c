/**
 * The simulated machine: one CPU (CR3, TLB, paging features), physical memory, and the
 * address spaces that run on it. TypeScript decides (PCIDs, when to flush, what a fault
 * means); the core executes (walks, TLB, frames).
 */
import type { Core } from '../core/core.js';
import { Counter, Feature, Result, Status, TlbFlag } from '../core/constants.js';
import { createTlbState, type TlbState } from '../core/tlb-state.js';
import { createCore } from '../core/create-core.js';
import { undetachable } from '../core/undetachable.js';
import { VmmError } from '../errors.js';
import { resolveOptions, type MachineOptions, type ResolvedOptions } from './options.js';
import { PhysicalMemory } from './physical-memory.js';
import { AddressSpace } from './address-space.js';
import { SINGLE_PAGE_FLUSH_CEILING } from './tlb-policy.js';
import { describe, toLinear } from '../address.js';
import { VmmContext } from '../vmm/vmm-context.js';
import { VirtualMemory } from '../vmm/virtual-memory.js';
import type { SharedMemoryObject } from '../vmm/shared-memory.js';
import type { FaultCounters } from '../vmm/vm-stats.js';
import { DEFAULT_HEAP_START, INITIAL_STACK_SIZE, STACK_LIMIT, STACK_TOP } from '../vmm/layout.js';
import { RAW_FAULTS } from './fault.js';

/** Options of createAddressSpace. */
export interface AddressSpaceOptions {
  /**
   * 'vmm' (default): the VMM resolves faults (demand paging, COW, stack growth) and raises
   * SegmentationFault; 'raw': a bare MMU — every fault is thrown as a PageFault.
   */
  faults?: 'vmm' | 'raw';
  /** Create the [stack] region (default true in 'vmm' mode, false in 'raw' mode). */
  stack?: boolean;
  /** RLIMIT_STACK: how far the stack may grow below its top (default 8 MiB). */
  stackLimit?: number;
}

const TWO47 = 2 ** 47;
const MAX_PCID = 4095;

/** Machine-wide statistics. */
export interface MachineStats {
  tlb: { hits: number; misses: number; walks: number; flushes: number; invalidations: number; evictions: number; hitRate: number };
  frames: { total: number; free: number; used: number };
  accesses: { read: number; write: number; execute: number; total: number };
  /** Page faults raised by the access path (before any handler resolved them). */
  pageFaults: number;
  /** VMM fault outcomes summed over every address space (destroyed ones included). */
  faults: FaultCounters;
  addressSpaces: number;
  /** Bad page-table entries the core met and cleared (Linux prints "bad pgd/pmd" and clears them). */
  badEntries: number;
}

/** A simulated x86-64 machine. */
export class Machine {
  /** Raw physical memory and frames. */
  readonly physical: PhysicalMemory;
  /** Which backend runs the core. */
  readonly backend: 'native' | 'js';
  /** The validated options. */
  readonly config: Readonly<ResolvedOptions>;
  /** @internal */ readonly core: Core;
  /** @internal */ readonly tlbState: TlbState;
  /** @internal */ readonly counters: Float64Array;
  /** @internal */ readonly result: Float64Array;
  /** @internal TLB tag of the current CR3: its PCID with PCIDE, else 0. */
  tag = 0;
  private readonly spaces = new Set<AddressSpace>();
  private readonly pcidInUse = new Uint8Array(MAX_PCID + 1);
  private currentSpace: AddressSpace | undefined;
  private readonly idleRoot: number;
  private disposed = false;
  /** @internal Zero page, shared memory objects, summed VMM counters. */
  readonly vmm: VmmContext;

  /** Builds a machine; see MachineOptions for the defaults. */
  constructor(options: MachineOptions = {}) {
    this.config = resolveOptions(options);
    this.tlbState = createTlbState(this.config.tlbSets, this.config.tlbWays);
    this.counters = undetachable(Float64Array, Counter.LENGTH);
    this.result = undetachable(Float64Array, Result.LENGTH);
    this.core = createCore(this.config.backend, {
      memoryBytes: this.config.memoryBytes,
      features: this.config.features,
      tlb: this.tlbState,
      counters: this.counters,
      result: this.result,
      eagerHostMemory: this.config.hostMemory === 'eager',
    });
    this.backend = this.core.backend;
    this.physical = new PhysicalMemory(this.core, this.config.memoryBytes, () => this.checkLive());
    // Like Linux's init_mm: a kernel-only address space that is loaded when no process runs.
    const idle = this.core.createRoot();
    if (idle < 0) throw new VmmError('ENOMEM', 'options.memory is too small for the kernel page tables');
    this.idleRoot = idle;
    this.core.setCr3(idle, 0, false);
    this.vmm = new VmmContext(this.core);
  }

  /** True when PCIDs tag TLB entries. */
  get pcidEnabled(): boolean {
    return (this.config.features & Feature.PCIDE) !== 0;
  }

  /** The address space whose tables CR3 holds, or undefined when the kernel's idle tables are loaded. */
  get current(): AddressSpace | undefined {
    return this.currentSpace;
  }

  /** Live address spaces. */
  addressSpaces(): AddressSpace[] {
    return [...this.spaces];
  }

  /** Creates an empty address space sharing the kernel half. ENOMEM when no frame is left for its top-level table. */
  createAddressSpace(options: AddressSpaceOptions = {}): AddressSpace {
    this.checkLive();
    if (options === null || typeof options !== 'object') throw new VmmError('EINVAL', `options must be an object, got ${describe(options)}`);
    const mode = options.faults ?? 'vmm';
    if (mode !== 'vmm' && mode !== 'raw') throw new VmmError('EINVAL', `options.faults must be 'vmm' or 'raw', got ${describe(mode)}`);
    const withStack = options.stack ?? mode === 'vmm';
    if (typeof withStack !== 'boolean') throw new VmmError('EINVAL', `options.stack must be a boolean, got ${describe(withStack)}`);
    const stackLimit = options.stackLimit ?? STACK_LIMIT;
    if (!Number.isSafeInteger(stackLimit) || stackLimit < INITIAL_STACK_SIZE || stackLimit % 4096 !== 0 || stackLimit > 2 ** 40) {
      throw new VmmError('EINVAL', `options.stackLimit must be a multiple of 4096 in [${INITIAL_STACK_SIZE}, 2^40], got ${describe(stackLimit)}`);
    }
    const root = this.core.createRoot();
    if (root < 0) throw new VmmError('ENOMEM', 'createAddressSpace: no free frame for the top-level table');
    const space = new AddressSpace(this, root, this.allocPcid(), (s) => new VirtualMemory(s, this.vmm, { heapStart: DEFAULT_HEAP_START, stackTop: STACK_TOP, stackLimit }));
    if (mode === 'vmm') space.faultHandler = space.vm;
    if (withStack) space.vm.addRegion({ start: STACK_TOP - INITIAL_STACK_SIZE, end: STACK_TOP, prot: 3, kind: 'stack', name: '[stack]', shared: false });
    this.spaces.add(space);
    return space;
  }

  /** @internal fork(): a child with the parent's regions and COW page tables; ENOMEM leaves the parent usable and frees the child. */
  forkSpace(parent: AddressSpace): AddressSpace {
    const child = this.createAddressSpace({ faults: parent.faultHandler === RAW_FAULTS ? 'raw' : 'vmm', stack: false, stackLimit: parent.vm.stackLimit });
    try {
      parent.vm.forkInto(child.vm);
    } catch (e) {
      child.destroy();
      throw e;
    }
    return child;
  }

  /** Creates a named shared memory object (like shm_open + ftruncate) that any address space can mmap. */
  createSharedMemory(name: string, size: number): SharedMemoryObject {
    this.checkLive();
    if (typeof name !== 'string' || name === '' || name.includes('/') || name.length > 255) {
      throw new VmmError('EINVAL', `name must be a non-empty string without '/' of at most 255 characters, got ${describe(name)}`);
    }
    if (!Number.isSafeInteger(size) || size <= 0) throw new VmmError('EINVAL', `size must be a positive integer, got ${describe(size)}`);
    const bytes = Math.ceil(size / 4096) * 4096;
    if (bytes > this.config.memoryBytes * 64) throw new VmmError('ENOMEM', `size ${size} is beyond what this machine could back`);
    return this.vmm.createObject(name, bytes);
  }

  /** The shared memory object with this name, or undefined (like shm_open without O_CREAT). */
  openSharedMemory(name: string): SharedMemoryObject | undefined {
    return this.vmm.byName(name);
  }

  /** Loads `space` into CR3 (a context switch). With PCIDs its TLB entries survive switches. */
  switchTo(space: AddressSpace): void {
    this.checkLive();
    if (!(space instanceof AddressSpace) || space.machine !== this) {
      throw new VmmError('EINVAL', 'space must be an AddressSpace of this machine');
    }
    if (space.destroyed) throw new VmmError('EINVAL', 'space has been destroyed');
    if (this.currentSpace === space) return;
    // PCID 0 is shared by the spaces beyond 4095 and by the idle tables: it must always flush.
    const noFlush = this.pcidEnabled && space.pcid !== 0;
    this.core.setCr3(space.rootFrame, this.pcidEnabled ? space.pcid : 0, noFlush);
    this.tag = this.pcidEnabled ? space.pcid : 0;
    this.currentSpace = space;
  }

  /** Machine-wide statistics, exact at the moment of the call. */
  stats(): MachineStats {
    const c = this.counters;
    const hits = c[Counter.HITS]!;
    const misses = c[Counter.MISSES]!;
    const total = this.core.totalFrames;
    const free = this.core.freeFrames();
    return {
      tlb: {
        hits,
        misses,
        walks: c[Counter.WALKS]!,
        flushes: c[Counter.FLUSHES]!,
        invalidations: c[Counter.INVLPG]!,
        evictions: c[Counter.EVICTIONS]!,
        hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      },
      frames: { total, free, used: total - free },
      accesses: {
        read: c[Counter.READS]!,
        write: c[Counter.WRITES]!,
        execute: c[Counter.EXECUTES]!,
        total: c[Counter.READS]! + c[Counter.WRITES]! + c[Counter.EXECUTES]!,
      },
      pageFaults: c[Counter.FAULTS]!,
      faults: { ...this.vmm.faults },
      addressSpaces: this.spaces.size,
      badEntries: c[Counter.BAD_ENTRIES]!,
    };
  }

  /** Resets the TLB and access counters to zero (the TLB contents stay). */
  resetStats(): void {
    this.counters.fill(0);
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
    for (const s of this.spaces) s.markDestroyed();
    this.spaces.clear();
    this.core.dispose();
  }

  /** @internal Makes `space` current if it is not (an access runs in the space's context). */
  activate(space: AddressSpace): void {
    if (this.currentSpace !== space) this.switchTo(space);
  }

  /**
   * @internal Invalidates stale TLB entries after `pages` pages from `la` changed in `space`:
   * single-page invalidations up to Linux's ceiling, a flush above it. Kernel-half changes
   * reach every PCID.
   */
  invalidateRange(space: AddressSpace, la: number, pages: number): void {
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
    // Without PCIDs another space's entries were flushed when it was switched out.
    if (!pcide && space !== this.currentSpace) return;
    const tag = pcide ? space.pcid : 0;
    if (pages > SINGLE_PAGE_FLUSH_CEILING) this.core.flushPcid(tag);
    else this.core.invalidate(tag, la, pages);
  }

  /** @internal Flushes every entry of a space (after fork write-protects it, or at destroy). */
  flushSpace(space: AddressSpace): void {
    if (!this.pcidEnabled && space !== this.currentSpace) return;
    this.core.flushPcid(this.pcidEnabled ? space.pcid : 0);
  }

  /** @internal Forgets a destroyed space; loads the idle tables if it was current. */
  release(space: AddressSpace): void {
    this.flushSpace(space);
    if (this.currentSpace === space) {
      this.core.setCr3(this.idleRoot, 0, false);
      this.tag = 0;
      this.currentSpace = undefined;
    }
    if (space.pcid !== 0) this.pcidInUse[space.pcid] = 0;
    this.spaces.delete(space);
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
    for (const s of this.spaces) if (s.pcid !== 0) tags.push(s.pcid);
    return tags;
  }
}

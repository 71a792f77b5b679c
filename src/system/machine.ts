/**
 * The simulated machine: the hardware (Mmu: physical memory, CR3, TLB, paging features) with
 * the kernel's memory manager on it — the VMM context (zero page, shared memory objects) and
 * the address spaces that run. This file puts the two levels together; neither knows the other.
 */
import { Counter } from '../core/constants.js';
import type { SwapOptions } from '../reclaim/swap-options.js';
import { VmmError } from '../errors.js';
import { describe, toPhysical } from '../address.js';
import { strictOptions } from '../strict-options.js';
import { Mmu, type TlbStats } from '../machine/mmu.js';
import type { MachineShootdowns } from '../machine/shootdown-stats.js';
import { MmuSpace } from '../machine/mmu-space.js';
import { callbackHandler, type OnFault } from '../machine/fault.js';
import { parseSize, type MachineOptions } from '../machine/options.js';
import { VmmContext } from '../vmm/vmm-context.js';
import { AddressSpace, type ProcessHooks } from '../vmm/address-space.js';
import { VirtualMemory } from '../vmm/virtual-memory.js';
import { Aslr } from '../vmm/aslr.js';
import type { CommitInfo, OvercommitOptions } from '../vmm/overcommit.js';
import type { SharedMemoryObject } from '../vmm/shared-memory.js';
import type { FaultCounters } from '../vmm/vm-stats.js';
import { DEFAULT_HEAP_START, INITIAL_STACK_SIZE, STACK_LIMIT, STACK_TOP } from '../vmm/layout.js';
import { SwapArea } from '../reclaim/swap-area.js';
import { resolvePolicy } from '../reclaim/registry.js';
import type { PolicyName, PolicyOptions, ReclaimPolicy } from '../reclaim/policy.js';
import { ResidentSet, type ResidentConfig } from '../vmm/resident-set.js';
import { ShmReclaim } from '../vmm/reclaim/shmem.js';
import { Reclaimer, resolveWatermarks, type Watermarks } from '../vmm/reclaimer.js';
import { OomKiller, checkOomScoreAdj, type OomCandidate, type OomKill } from '../vmm/oom-killer.js';
import type { ReclaimCounters } from '../reclaim/reclaim-stats.js';
import type { ZswapStats } from '../reclaim/zswap.js';
import { SimClock } from '../vmm/sim-clock.js';
import { resolveVmTunables } from '../vmm/vm-tunables.js';
import { FileSystem } from '../vmm/file/file-system.js';
import { FileReclaim } from '../vmm/reclaim/file-reclaim.js';
import { meminfo, vmstat, type MemInfo, type VmStat, type StatSources } from '../vmm/mem-stats.js';
import { closeWhenCollected, disposed } from '../machine/release-on-collect.js';
import '../machine/symbol-dispose.js';
import { Snapshot, takeSnapshot } from '../snapshot/snapshot.js';
import { snapshotClass } from '../snapshot/class-registry.js';
import { loadSnapshotFile, saveSnapshotFile, type SaveInfo, type SaveOptions } from '../snapshot/snapshot-file.js';
import { nativeAvailable } from '../core/native-core.js';

/** Options of createAddressSpace. */
export interface AddressSpaceOptions {
  /**
   * 'vmm' (default): the VMM resolves faults (demand paging, COW, stack growth) and raises
   * SegmentationFault; 'raw': a bare MMU (an MmuSpace, no VMM calls) — every fault is thrown
   * as a PageFault unless `onFault` resolves it.
   */
  faults?: 'vmm' | 'raw';
  /** Create the [stack] region (default true; 'vmm' mode only). */
  stack?: boolean;
  /** RLIMIT_STACK: how far the stack may grow below its top (default 8 MiB; 'vmm' mode only). */
  stackLimit?: number;
  /** Raw mode: called with each page fault; it may map the page and return 'retry' to re-execute the access. */
  onFault?: OnFault;
  /**
   * Resident limit in 4 KiB pages, counting only this process's private anonymous pages (like
   * a cgroup's memory.max): at the limit a fault first evicts a page chosen by `policy`.
   * Evicted pages go to the machine's swap (`new Machine({ swap })`). Default: no limit.
   */
  residentLimit?: number;
  /** Replacement policy under the limit: a name ('clock' by default, 'mglru' on a machine with vm.lruGen) or your own ReclaimPolicy object. */
  policy?: PolicyName | ReclaimPolicy;
  /** Options of a built-in policy (seed, future for opt, ...); capacity defaults to residentLimit. */
  policyOptions?: PolicyOptions;
  /** Flush a page's TLB entry when reclaim clears its Accessed bit (default false, as x86 Linux: a page that stays in the TLB looks idle). */
  flushAccessed?: boolean;
  /** oom_score_adj, -1000 (never OOM-killed) to 1000 (default 0; 'vmm' mode only). See space.oomScoreAdj. */
  oomScoreAdj?: number;
}

/** Options of a raw MMU space. */
export type RawSpaceOptions = { faults: 'raw'; onFault?: OnFault };

/** Machine-wide statistics. */
export interface MachineStats {
  tlb: TlbStats;
  frames: { total: number; free: number; used: number };
  accesses: { read: number; write: number; execute: number; total: number };
  /** Page faults raised by the access path (before any handler resolved them). */
  pageFaults: number;
  /** VMM fault outcomes summed over every address space (destroyed ones included). */
  faults: FaultCounters;
  addressSpaces: number;
  /** Bad page-table entries the core met and cleared (Linux prints "bad pgd/pmd" and clears them). */
  badEntries: number;
  /** TLB shootdowns: every CPU's counters added up, Linux's vmstat counters, INVLPGB/TLBSYNC (docs/multiprocessor.md). */
  shootdowns: MachineShootdowns;
}

const SPACE_KEYS = ['faults', 'stack', 'stackLimit', 'onFault', 'residentLimit', 'policy', 'policyOptions', 'flushAccessed', 'oomScoreAdj'];

/** A simulated x86-64 machine. */
export class Machine extends Mmu {
  /** @internal Zero page, shared memory objects, summed VMM counters. */
  readonly vmm: VmmContext;
  /** The OOM killer: global kills (with swap) and memory cgroup kills (at a resident limit). */
  private readonly oom: OomKiller;
  /** The machine's files: a disk filesystem, and the tmpfs at /dev/shm whose files are the shared memory objects. */
  readonly fs: FileSystem;
  /** @internal Reclaim of page cache pages (the file LRU). */
  readonly fileReclaim: FileReclaim;
  /** Address-space layout randomization (options.aslr): off, or seeded. */
  private readonly aslr: Aslr;

  /** Builds a machine; see MachineOptions for the defaults. */
  constructor(options: MachineOptions = {}) {
    super(options);
    const clock = new SimClock(this.clockSource());
    let tunables;
    try {
      tunables = resolveVmTunables(options.vm);
    } catch (e) {
      super.dispose();
      throw e;
    }
    this.vmm = new VmmContext(this.frames, this.nxEnabled, { maxMapCount: this.config.maxMapCount, shmBytes: this.config.shmBytes }, clock, tunables);
    const hooks = this.hostHooks();
    this.oom = new OomKiller(hooks.totalPages, hooks.swapPages, hooks.kill, options.onOomKill);
    this.fs = new FileSystem(this.vmm, () => this.checkLive());
    this.fileReclaim = new FileReclaim(this.vmm);
    this.vmm.fileReclaim = this.fileReclaim;
    try {
      this.aslr = Aslr.from(options.aslr);
      this.vmm.overcommit.configure(options.overcommit, 'options.overcommit');
      // onOomKill works without swap too: a process at its residentLimit can still be killed by the memory cgroup OOM killer.
      if (options.onOomKill !== undefined && typeof options.onOomKill !== 'function') throw new VmmError('EINVAL', `options.onOomKill must be a function, got ${describe(options.onOomKill)}`);
      // Every machine reclaims its page cache; with swap, anonymous and shared memory pages too.
      const wm = resolveWatermarks(options.watermarks, this.frames.total);
      this.vmm.reclaimer = new Reclaimer(wm, hooks.freeFrames, this.oom, hooks.shrinkCache, hooks.inputs);
      this.vmm.reclaimer.sets.add(this.fileReclaim);
      if (options.swap !== undefined) {
        const swap = options.vm?.pageCluster === undefined ? options.swap : samePageCluster(options.swap, tunables.pageCluster);
        this.vmm.swap = new SwapArea(swap, this.config.memoryBytes, parseSize);
        closeWhenCollected(this, this.vmm.swap); // a machine nobody disposed gives its swap file back when collected
        // Shared memory pages are reclaimable too (shmem is swap-backed): one machine-wide domain (policy clock, or mglru with vm.lruGen).
        const shm = new ShmReclaim(this.vmm, resolvePolicy(this.defaultPolicy));
        this.vmm.shmPager = shm;
        this.vmm.reclaimer.sets.add(shm);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Simulated seconds since the machine was built: one nanosecond per memory access, plus sleeps and the time writers waited for writeback. */
  uptime(): number {
    this.checkLive();
    return this.vmm.clock.now() / 1e9;
  }

  /** Lets `ms` milliseconds of simulated time pass (a sleeping machine): the flusher writes back what is due meanwhile. */
  sleep(ms: number): void {
    this.checkLive();
    this.vmm.refuseReentry('sleep');
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new VmmError('EINVAL', `sleep: ms must be a non-negative finite number, got ${describe(ms)}`);
    this.vmm.clock.advance(Math.round(ms * 1e6));
    this.vmm.flusher.catchUp();
  }

  /** /proc/meminfo: the machine's memory, in kB, keyed by the kernel's field names (see docs/files.md). */
  meminfo(): MemInfo {
    this.checkLive();
    // The flusher catches up first, unless a plug-in's callback asks (the VMM is mid-operation: the counters as they are).
    if (this.vmm.pluginGate.depth === 0) this.vmm.flusher.catchUp();
    return meminfo(this.statSources());
  }

  /** /proc/vmstat: the machine's memory counters, in pages (pgpgin and pgpgout in KiB), keyed by the kernel's field names. */
  vmstat(): VmStat {
    this.checkLive();
    if (this.vmm.pluginGate.depth === 0) this.vmm.flusher.catchUp();
    return vmstat(this.statSources());
  }

  private statSources(): StatSources {
    const spaces = [...this.spaceSet] as MmuSpace[];
    const vmmSpaces = spaces.filter((s): s is AddressSpace => s instanceof AddressSpace);
    const residentSets: ResidentSet[] = [];
    for (const s of vmmSpaces) if (s.vm.resident) residentSets.push(s.vm.resident);
    return { ctx: this.vmm, frames: this.frames, roots: spaces.map((s) => s.rootFrame), vmmRoots: vmmSpaces.map((s) => s.rootFrame), residentSets, fileReclaim: this.fileReclaim };
  }

  /** Sets vm.overcommit_memory (`mode` 0, 1 or 2), vm.overcommit_ratio and vm.overcommit_kbytes (each checked: EINVAL, nothing changed). */
  setOvercommit(options: OvercommitOptions): void {
    this.checkLive();
    this.vmm.overcommit.configure(options);
  }

  /** The overcommit settings now: { mode, ratio, kbytes }. */
  get overcommit(): Required<OvercommitOptions> {
    const o = this.vmm.overcommit;
    return { mode: o.mode, ratio: o.ratio, kbytes: o.kbytes };
  }

  /** /proc/meminfo's CommitLimit and Committed_AS, in kB (named as meminfo names them). */
  commitInfo(): CommitInfo {
    this.checkLive();
    return this.vmm.overcommit.info();
  }

  /**
   * The machine's closures the OOM killer and the reclaimer call back (one place, so a restored
   * machine gives its own objects the same ones: rewire()).
   */
  private hostHooks() {
    const swapPages = () => this.vmm.swap?.slots.total ?? 0;
    return {
      totalPages: () => this.frames.total + swapPages(),
      swapPages,
      kill: (c: OomCandidate) => (c.owner as AddressSpace).destroy(),
      freeFrames: () => this.frames.freeCount(),
      shrinkCache: (n: number) => this.vmm.shrinkSwapCache(n),
      inputs: {
        swappiness: () => this.vmm.tunables.swappiness,
        canSwap: () => this.vmm.swap !== undefined && this.vmm.swap.slots.free > 0,
        costs: () => ({ anon: this.vmm.anonCost, file: this.vmm.fileCost }),
      },
    };
  }

  /** @internal Simulated time's source: one nanosecond per memory access the CPUs made (see src/vmm/sim-clock.ts); a restored machine's clock reads its own counters. */
  clockSource(): () => number {
    return () => {
      const c = this.counters;
      return c[Counter.READS]! + c[Counter.WRITES]! + c[Counter.EXECUTES]!;
    };
  }

  /** @internal A restored machine (src/snapshot): its closures point at it, its swap closes when it is collected. */
  rewire(): void {
    const h = this.hostHooks();
    Object.assign(this.oom as unknown as Record<string, unknown>, { totalPages: h.totalPages, swapPages: h.swapPages, kill: h.kill });
    if (this.vmm.reclaimer) Object.assign(this.vmm.reclaimer as unknown as Record<string, unknown>, { freeFrames: h.freeFrames, shrinkCache: h.shrinkCache, inputs: h.inputs });
    (this as unknown as { hooks: ProcessHooks }).hooks = this.processHooks();
    if (this.vmm.swap) closeWhenCollected(this, this.vmm.swap);
  }

  /** @internal What a restored process asks of its machine (src/snapshot). */
  get processHooksOf(): ProcessHooks {
    return this.hooks;
  }

  /**
   * Captures the whole machine now (docs/snapshots.md): physical memory copy-on-write (cheap:
   * nothing is copied until either side writes), frames, every process, thread, region, swap
   * slot, policy, TLB and statistic. `snapshot.restore()` (or `Machine.from(snapshot)`) makes a new
   * machine in exactly this state. EINVAL for what cannot be captured (a plug-in policy object, a
   * swap file), naming where it is.
   */
  snapshot(): Snapshot<Machine> {
    this.checkLive();
    return takeSnapshot(this);
  }

  /** A new machine in the snapshot's state (`snapshot.restore()`). */
  static from(snapshot: Snapshot<Machine>): Machine {
    if (!(snapshot instanceof Snapshot)) throw new VmmError('EINVAL', `snapshot must be a Snapshot (from machine.snapshot() or Machine.load), got ${describe(snapshot)}`);
    return snapshot.restore();
  }

  /**
   * Saves the whole machine to a snapshot file (docs/snapshots.md: a text header, then the state
   * and the pages, zero pages left out, duplicates stored once, compressed). With `parent` (a
   * snapshot file of this machine's past, or of the machine it was restored from) only the pages
   * that differ from the parent's are stored. Written beside `path` and renamed into place.
   */
  save(path: string, options: SaveOptions = {}): SaveInfo {
    this.checkLive();
    strictOptions(options, 'options', ['parent']);
    const snap = takeSnapshot(this);
    try {
      return saveSnapshotFile(snap, path, options);
    } finally {
      snap.release();
    }
  }

  /**
   * The machine a snapshot file holds (with its diffs' parents), checked whole before anything is
   * built: a file of another format or vmsim version, or a corrupted or truncated one, is refused
   * with a SnapshotError. `backend`: 'auto' (default) native when the addon loads, else js.
   */
  static load(path: string, options: { backend?: 'native' | 'js' | 'auto' } = {}): Machine {
    strictOptions(options, 'options', ['backend']);
    const b = options.backend ?? 'auto';
    if (b !== 'native' && b !== 'js' && b !== 'auto') throw new VmmError('EINVAL', `options.backend must be 'native', 'js' or 'auto', got ${describe(b)}`);
    const snap = loadSnapshotFile<Machine>(path);
    try {
      return snap.restoreOn(b === 'auto' ? (nativeAvailable() ? 'native' : 'js') : b);
    } finally {
      snap.release();
    }
  }

  /** The live processes (VMM address spaces) in creation order, each with its `pid`. */
  processes(): AddressSpace[] {
    this.checkLive();
    const out: AddressSpace[] = [];
    for (const s of this.spaceSet) if (s instanceof AddressSpace && !s.destroyed) out.push(s);
    return out;
  }

  /** The free-page watermarks (pages): below `low` kswapd reclaims, below `min` the allocating process does. */
  get watermarks(): Watermarks | undefined {
    return this.vmm.reclaimer?.watermarks;
  }

  /** The OOM kills so far, oldest first. */
  oomKills(): OomKill[] {
    return [...this.oom.kills];
  }

  /** Releases the machine's host memory and closes its swap device. */
  override dispose(): void {
    super.dispose();
    this.vmm.swap?.close();
    disposed(this);
  }

  /** `using m = new Machine()`: dispose() when the block ends. (A machine nobody disposed is freed when collected.) */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Reclaim and swap statistics of the whole machine, named as /proc/vmstat and /proc/swaps name them. */
  reclaimStats(): { counters: ReclaimCounters; swap: { total: number; used: number; free: number } | undefined; zswap: ZswapStats | undefined; shmem: { pages: number; swapped: number } } {
    this.checkLive();
    const sw = this.vmm.swap;
    const counters = { ...this.vmm.reclaim, pgfault: this.vmm.faults.minor + this.vmm.faults.major, pgmajfault: this.vmm.faults.major };
    if (sw) {
      counters.pswpin = sw.pswpin;
      counters.pswpout = sw.pswpout;
    }
    return { counters, swap: sw && { total: sw.slots.total, used: sw.slots.used, free: sw.slots.free }, zswap: sw?.zswapStats(), shmem: this.vmm.shmemPages() };
  }

  /**
   * The address space whose tables CPU 0's CR3 holds, or undefined when the kernel's idle tables
   * are loaded (an idle CPU keeps the last space loaded, lazily). Each CPU's task: `cpu(i).current`.
   */
  get current(): MmuSpace | undefined {
    const mm = this.cpu(0).loaded;
    return mm.dead ? undefined : (mm.owner as MmuSpace | undefined);
  }

  /** Live address spaces. */
  addressSpaces(): MmuSpace[] {
    return [...this.spaceSet] as MmuSpace[];
  }

  /** Creates an empty address space sharing the kernel half: VMM-managed (default), or a raw MMU space. ENOMEM when no frame is left for its top-level table. */
  createAddressSpace(options: RawSpaceOptions): MmuSpace;
  createAddressSpace(options?: AddressSpaceOptions & { faults?: 'vmm' }): AddressSpace;
  createAddressSpace(options: AddressSpaceOptions = {}): AddressSpace | MmuSpace {
    this.checkLive();
    strictOptions(options, 'options', SPACE_KEYS);
    const mode = options.faults ?? 'vmm';
    if (mode !== 'vmm' && mode !== 'raw') throw new VmmError('EINVAL', `options.faults must be 'vmm' or 'raw', got ${describe(mode)}`);
    if (mode === 'raw') {
      if (options.stack === true || options.stackLimit !== undefined) throw new VmmError('EINVAL', "options.stack and options.stackLimit need faults: 'vmm' (a raw MMU space has no regions)");
      if (options.oomScoreAdj !== undefined) throw new VmmError('EINVAL', "options.oomScoreAdj needs faults: 'vmm' (the OOM killer kills processes, a raw MMU space is none)");
      const onFault = options.onFault;
      if (onFault !== undefined && typeof onFault !== 'function') throw new VmmError('EINVAL', `options.onFault must be a function, got ${describe(onFault)}`);
      const space = new MmuSpace(this, this.newRoot('createAddressSpace'));
      if (onFault) space.faultHandler = callbackHandler(onFault);
      this.register(space);
      return space;
    }
    if (options.onFault !== undefined) throw new VmmError('EINVAL', "options.onFault needs faults: 'raw' (the VMM resolves faults itself)");
    const withStack = options.stack ?? true;
    if (typeof withStack !== 'boolean') throw new VmmError('EINVAL', `options.stack must be a boolean, got ${describe(withStack)}`);
    const stackLimit = options.stackLimit ?? STACK_LIMIT;
    if (!Number.isSafeInteger(stackLimit) || stackLimit < INITIAL_STACK_SIZE || stackLimit % 4096 !== 0 || stackLimit > 2 ** 40) {
      throw new VmmError('EINVAL', `options.stackLimit must be a multiple of 4096 in [${INITIAL_STACK_SIZE}, 2^40], got ${describe(stackLimit)}`);
    }
    const resident = this.residentConfig(options);
    const adj = options.oomScoreAdj === undefined ? 0 : checkOomScoreAdj(options.oomScoreAdj, 'options.oomScoreAdj');
    const space = this.newProcessSpace(stackLimit, resident);
    space.oomScoreAdj = adj;
    if (withStack) space.vm.addStack();
    return space;
  }

  /**
   * A raw MMU space over a page table that guest code built in simulated RAM: `cr3` is the
   * physical address of its top-level table (a frame the caller allocated, e.g. with
   * physical.allocFrame). The space takes over the caller's references: on the table frames
   * (destroy() frees them) and one per frame its user half maps (destroy() drops it), as the
   * entries of any space hold theirs. The entries are the guest's: adopt a table once.
   */
  adoptAddressSpace(cr3: number | bigint, options?: { onFault?: OnFault }): MmuSpace {
    this.checkLive();
    strictOptions(options, 'options', ['onFault']);
    const pa = toPhysical(cr3, this.physical.size, 'cr3');
    if (pa % 4096 !== 0) throw new VmmError('EINVAL', `cr3 ${pa} is not the address of a 4 KiB-aligned table`);
    const root = pa / 4096;
    if (this.core.refCount(root) <= 0 || root === 0) throw new VmmError('EINVAL', `cr3: frame ${root} is not allocated (allocate the top-level table with physical.allocFrame())`);
    for (const s of this.spaceSet) if (s.rootFrame === root) throw new VmmError('EBUSY', `cr3: the table at ${pa} is already the root of a live address space`);
    const onFault = options?.onFault;
    if (onFault !== undefined && typeof onFault !== 'function') throw new VmmError('EINVAL', `options.onFault must be a function, got ${describe(onFault)}`);
    const space = new MmuSpace(this, this.newRoot('adoptAddressSpace', root));
    if (onFault) space.faultHandler = callbackHandler(onFault);
    this.register(space);
    return space;
  }

  /** A VMM-managed space with no regions yet (a fork child gets its parent's resident configuration). */
  private newProcessSpace(stackLimit: number, resident?: ResidentConfig, layout = this.aslr.next(stackLimit)): AddressSpace {
    // The policy before the table: a refused one (a plug-in object serves one process) allocates nothing.
    const cfg = this.residentFor(resident);
    const policy = cfg?.makePolicy();
    const space = new AddressSpace(this, this.newRoot('createAddressSpace'), this.vmm, { ...layout, stackLimit }, this.hooks);
    space.oomKiller = this.oom;
    this.attachResident(space, cfg, policy);
    this.register(space);
    return space;
  }

  /** The replacement policy of processes and shared memory that name none: 'clock', or 'mglru' with vm.lruGen. */
  private get defaultPolicy(): 'clock' | 'mglru' {
    return this.vmm.tunables.lruGen ? 'mglru' : 'clock';
  }

  /** A process's resident configuration: the one given (a limit), else, with swap, an unlimited one (every process is reclaimable: its anonymous pages can go to swap). */
  private residentFor(resident: ResidentConfig | undefined): ResidentConfig | undefined {
    return resident ?? (this.vmm.swap ? { limit: Infinity, makePolicy: () => resolvePolicy(this.defaultPolicy), flushAccessed: false, policy: this.defaultPolicy } : undefined);
  }

  /** Gives a process its resident set (with the policy made for it). */
  private attachResident(space: AddressSpace, cfg: ResidentConfig | undefined, policy: ReclaimPolicy | undefined): void {
    if (!cfg) return;
    space.vm.resident = new ResidentSet(space.pages, this.vmm, cfg, policy);
    space.vm.resident.owner = space;
    space.vm.resident.lockedAt = (la) => space.vm.isLockedAt(la);
  }

  /** What processes ask of the machine (fork, vfork, a vfork child's exec, a new image's layout). */
  private readonly hooks: ProcessHooks = this.processHooks();

  /** @internal The hooks (a method: a restored machine makes its own, src/snapshot). */
  processHooks(): ProcessHooks {
    return {
    // A fork child's layout is its parent's (forkInto copies it): no randomization is drawn for it.
    fork: (parent) => this.newProcessSpace(parent.vm.stackLimit, parent.vm.resident?.config, { stackTop: STACK_TOP, mmapBase: 0, heapStart: DEFAULT_HEAP_START }),
    borrow: (parent) => new AddressSpace(this, parent.rootFrame, this.vmm, { stackTop: STACK_TOP, mmapBase: 0, heapStart: DEFAULT_HEAP_START, stackLimit: parent.vm.stackLimit }, this.hooks, parent),
    reroot: (child, lender) => {
      const cfg = this.residentFor(lender.vm.resident?.config);
      const policy = cfg?.makePolicy();
      child.rebind(this.newRoot('exec'));
      const vm = new VirtualMemory(child.pages, this.vmm, { stackTop: STACK_TOP, mmapBase: 0, heapStart: DEFAULT_HEAP_START, stackLimit: lender.vm.stackLimit });
      vm.rlimits = lender.vm.rlimits.clone();
      vm.capIpcLock = lender.vm.capIpcLock;
      vm.onMissingRegion = lender.vm.onMissingRegion;
      child.vm = vm;
      child.faultHandler = vm;
      this.attachResident(child, cfg, policy);
      this.register(child);
    },
    layout: (stackLimit) => this.aslr.next(stackLimit),
    };
  }

  /** Validates the resident-limit options (EINVAL naming the option); undefined without a limit. */
  private residentConfig(o: AddressSpaceOptions): ResidentConfig | undefined {
    const limit = o.residentLimit;
    if (limit === undefined) {
      for (const k of ['policy', 'policyOptions', 'flushAccessed'] as const) if (o[k] !== undefined) throw new VmmError('EINVAL', `options.${k} needs options.residentLimit (the number of pages the process may keep resident)`);
      return undefined;
    }
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) throw new VmmError('EINVAL', `options.residentLimit must be a positive whole number of pages, got ${describe(limit)}`);
    const flushAccessed = o.flushAccessed ?? false;
    if (typeof flushAccessed !== 'boolean') throw new VmmError('EINVAL', `options.flushAccessed must be a boolean, got ${describe(flushAccessed)}`);
    const spec = o.policy ?? this.defaultPolicy;
    const popts: PolicyOptions = { ...(o.policyOptions ?? {}) };
    if (typeof spec === 'string' && (spec === '2q' || spec === 'arc') && popts.capacity === undefined) popts.capacity = limit;
    // Validate now (a bad name or option is an error here, not at the first fault).
    resolvePolicy(spec, popts);
    if (typeof spec === 'object' && o.policyOptions !== undefined) throw new VmmError('EINVAL', 'options.policyOptions apply to built-in policies only');
    // One user object cannot serve two processes: a fork child of a space with a user policy is refused at fork.
    let given = typeof spec === 'object';
    const makePolicy = () => {
      if (typeof spec === 'string') return resolvePolicy(spec, popts);
      if (!given) throw new VmmError('EINVAL', `fork: the policy object '${spec.name}' serves its process already; a child needs its own (use a built-in policy name to fork)`);
      given = false;
      return resolvePolicy(spec);
    };
    return { limit, makePolicy, flushAccessed, policy: spec, policyOptions: popts };
  }

  /** Creates a named shared memory object (like shm_open + ftruncate) that any address space can mmap. */
  createSharedMemory(name: string, size: number): SharedMemoryObject {
    this.checkLive();
    if (typeof name !== 'string' || name === '' || name.includes('/') || name.length > 255) {
      throw new VmmError('EINVAL', `name must be a non-empty string without '/' of at most 255 characters, got ${describe(name)}`);
    }
    if (!Number.isSafeInteger(size) || size <= 0) throw new VmmError('EINVAL', `size must be a positive integer, got ${describe(size)}`);
    const bytes = Math.ceil(size / 4096) * 4096;
    // As ftruncate on tmpfs: any size is accepted, storage is sparse, and /dev/shm's size (options.shmSize) bounds the pages present.
    return this.vmm.createObject(name, bytes);
  }

  /** The shared memory object with this name, or undefined (like shm_open without O_CREAT). */
  openSharedMemory(name: string): SharedMemoryObject | undefined {
    return this.vmm.byName(name);
  }

  /** Runs `space` (its main thread) on CPU 0: a context switch, CR3 loaded with its tables (`cpu(0).run(space)`). With PCIDs its TLB entries survive switches. */
  switchTo(space: MmuSpace): void {
    this.checkLive();
    if (!(space instanceof MmuSpace) || space.machine !== this) {
      throw new VmmError('EINVAL', 'space must be an AddressSpace of this machine');
    }
    if (space.destroyed) throw new VmmError('EINVAL', 'space has been destroyed');
    this.cpu(0).run(space);
  }

  /** Machine-wide statistics (every CPU's added up), exact at the moment of the call. */
  stats(): MachineStats {
    this.checkLive();
    const c = this.countersSum();
    const total = this.core.totalFrames;
    const free = this.core.freeFrames();
    const reads = c[Counter.READS]!;
    const writes = c[Counter.WRITES]!;
    const executes = c[Counter.EXECUTES]!;
    return {
      tlb: this.tlbStats(),
      frames: { total, free, used: total - free },
      accesses: { read: reads, write: writes, execute: executes, total: reads + writes + executes },
      pageFaults: c[Counter.FAULTS]!,
      faults: { ...this.vmm.faults },
      addressSpaces: this.spaceSet.size,
      badEntries: c[Counter.BAD_ENTRIES]!,
      shootdowns: this.shootdownStats(),
    };
  }
}

/** options.swap with vm.pageCluster in it (EINVAL when both give different values). */
function samePageCluster(swap: SwapOptions, pageCluster: number): SwapOptions {
  if (swap !== null && typeof swap === 'object' && swap.pageCluster !== undefined && swap.pageCluster !== pageCluster) {
    throw new VmmError('EINVAL', `options.vm.pageCluster ${pageCluster} and options.swap.pageCluster ${String(swap.pageCluster)} disagree (give one)`);
  }
  return swap !== null && typeof swap === 'object' ? { ...swap, pageCluster } : swap;
}

// A restored machine's closures point at it (src/snapshot).
snapshotClass(Machine, { skip: ['hooks'], rebuild: (m) => m.rewire() });

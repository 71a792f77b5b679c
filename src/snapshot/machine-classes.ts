/**
 * The classes a machine's state is made of (all but the Machine itself, which registers in
 * src/system/machine.ts), each with what a snapshot must not copy: RAM views and scratch
 * buffers (caches, rebuilt empty) and closures (made again for the restored objects). A class
 * added to the machine's state must be added here; the capture of one that is not stops with
 * its path (test/snapshot/graph-coverage.test.ts builds a machine with every part).
 */
import { snapshotClass, snapshotConstant, snapshotPlainClosure } from './class-registry.js';
import { SnapshotError } from './snapshot-error.js';
import { MmContext } from '../machine/mm-context.js';
import { Thread } from '../machine/thread.js';
import { TlbGather } from '../machine/tlb-gather.js';
import { Cpu, cpuTlbControl } from '../machine/cpu.js';
import { PhysicalMemory } from '../machine/physical-memory.js';
import { PageTable } from '../machine/page-table.js';
import { MmuSpace } from '../machine/mmu-space.js';
import { LinuxAsids, StaticAsids } from '../machine/asids.js';
import { Frames } from '../machine/frames.js';
import { ArchTlb } from '../machine/arch-tlb.js';
import { RAW_FAULTS, RETRY, UNHANDLED } from '../machine/fault.js';
import { ResidentSet } from '../vmm/resident-set.js';
import { ShmReclaim } from '../vmm/reclaim/shmem.js';
import { Node } from '../vmm/region-tree.js';
import { SharedMemoryObject } from '../vmm/shared-memory.js';
import { ProcState } from '../vmm/proc/proc-state.js';
import { SoftDirty } from '../vmm/proc/soft-dirty.js';
import { Reclaimer } from '../vmm/reclaimer.js';
import { VmmContext, chargeShm, unchargeShm } from '../vmm/vmm-context.js';
import { SwapIn } from '../vmm/swap-in.js';
import { VirtualMemory } from '../vmm/virtual-memory.js';
import { PageSetView, PageSlotView, PageStates } from '../vmm/page-states.js';
import { RegionMap } from '../vmm/region-map.js';
import { OomKiller } from '../vmm/oom-killer.js';
import { Overcommit } from '../vmm/overcommit.js';
import { Aslr } from '../vmm/aslr.js';
import { Rlimits } from '../vmm/rlimits.js';
import { AddressSpace } from '../vmm/address-space.js';
import { KeyIndex } from '../reclaim/key-index.js';
import { PageList } from '../reclaim/page-list.js';
import { Zswap } from '../reclaim/zswap.js';
import { Scratch } from '../reclaim/scratch.js';
import { SwapReadahead } from '../reclaim/swap-readahead.js';
import { NruPolicy } from '../reclaim/policies/nru.js';
import { ClockPolicy } from '../reclaim/policies/clock.js';
import { FifoPolicy } from '../reclaim/policies/fifo.js';
import { LfuPolicy } from '../reclaim/policies/lfu.js';
import { AgingPolicy } from '../reclaim/policies/aging.js';
import { TwoQueuePolicy } from '../reclaim/policies/two-queue.js';
import { LinuxLruPolicy } from '../reclaim/policies/linux-lru.js';
import { LruPolicy } from '../reclaim/policies/lru.js';
import { OptFuture } from '../reclaim/policies/opt-future.js';
import { MglruPolicy } from '../reclaim/policies/mglru.js';
import { ArcPolicy } from '../reclaim/policies/arc.js';
import { RandomPolicy } from '../reclaim/policies/random.js';
import { WsClockPolicy } from '../reclaim/policies/wsclock.js';
import { OptPolicy } from '../reclaim/policies/opt.js';
import { SwapArea } from '../reclaim/swap-area.js';
import { SwapSlots } from '../reclaim/swap-slots.js';
import { SwapDevice } from '../reclaim/swap-device.js';
import { SwapCache } from '../vmm/reclaim/swap-cache.js';
import { GuardedPolicy } from '../reclaim/guarded-policy.js';
import { resolvePolicy } from '../reclaim/registry.js';
import { SimClock } from '../vmm/sim-clock.js';
import { FileSystem } from '../vmm/file/file-system.js';
import { File } from '../vmm/file/file.js';
import { RegularFile } from '../vmm/file/regular-file.js';
import { CachePage } from '../vmm/file/cache-page.js';
import { DiskBlocks } from '../vmm/file/disk.js';
import { PageCache } from '../vmm/file/page-cache.js';
import { Flusher } from '../vmm/file/flusher.js';
import { RaState } from '../vmm/file/readahead.js';
import { IntervalTree } from '../vmm/file/interval-tree.js';
import { ShadowEntries } from '../vmm/file/shadow-entries.js';
import { FileReclaim } from '../vmm/reclaim/file-reclaim.js';
import { FileLru } from '../vmm/reclaim/file-lru.js';
import { CachePageList } from '../vmm/reclaim/cache-page-list.js';
import { FileLruGen } from '../vmm/reclaim/file-lru-gen.js';
import { Workingset } from '../vmm/reclaim/workingset.js';
import type { ResidentConfig } from '../vmm/resident-context.js';

type Fields = Record<string, unknown>;
const fields = (o: object) => o as unknown as Fields;

// ---- the MMU level
snapshotClass(MmContext);
snapshotClass(Thread);
snapshotClass(TlbGather);
snapshotClass(Cpu, { skip: ['tlb'], rebuild: (c) => void (fields(c).tlb = cpuTlbControl(c)) });
// RAM views are the core's: fetched again from the restored core on first use.
snapshotClass(PhysicalMemory, {
  skip: ['chunks', 'views'],
  rebuild: (p) => Object.assign(fields(p), { chunks: [], views: [] }),
});
snapshotClass(Frames, { skip: ['views', 'viewsOf'], rebuild: (f) => Object.assign(fields(f), { views: [], viewsOf: undefined }) });
snapshotClass(PageTable);
// A raw space's onFault handler is the user's code: kept (shared) by an in-memory snapshot, refused by a file.
snapshotClass(MmuSpace, { keep: (_s, field, v) => field === 'faultHandler' && v !== RAW_FAULTS });
snapshotClass(LinuxAsids);
snapshotClass(StaticAsids);
snapshotClass(ArchTlb);
snapshotConstant('fault.RAW_FAULTS', RAW_FAULTS);
snapshotConstant('fault.RETRY', RETRY);
snapshotConstant('fault.UNHANDLED', UNHANDLED);

// ---- the VMM
snapshotPlainClosure('makePolicy');
snapshotPlainClosure('regionAt');
snapshotClass(ResidentSet, {
  skip: ['lockedAt'],
  check: (rs, path) => {
    const cfg = fields(rs).config as ResidentConfig;
    if (typeof cfg.policy !== 'string') throw new SnapshotError('EINVAL', `cannot capture ${path}: its replacement policy is a plug-in object; its state is its own code's (use a built-in policy to snapshot)`);
  },
  rebuild: (rs) => {
    const f = fields(rs);
    // Its reverse-map face: a resident set alone knows no regions (a VirtualMemory is its own).
    fields(f.rmapSpace as object).regionAt = () => undefined;
    const owner = f.owner as { vm: { isLockedAt(la: number): boolean } } | undefined;
    if (owner) f.lockedAt = (la: number) => owner.vm.isLockedAt(la);
    const cfg = f.config as ResidentConfig & { makePolicy?: unknown };
    // A fork family shares its config object: made once.
    if (typeof cfg.makePolicy !== 'function') {
      const spec = cfg.policy as Parameters<typeof resolvePolicy>[0];
      const popts = cfg.policyOptions;
      cfg.makePolicy = () => resolvePolicy(spec, popts);
    }
  },
});
snapshotClass(ShmReclaim);
snapshotClass(Node, {}, 'RegionTreeNode');
snapshotClass(SharedMemoryObject, { skip: ['hooks', 'host'] });
snapshotClass(ProcState);
snapshotClass(SoftDirty);
snapshotClass(Reclaimer, { skip: ['freeFrames', 'shrinkCache', 'inputs'] });
snapshotClass(OomKiller, {
  skip: ['totalPages', 'swapPages', 'kill'],
  keep: (_o, field, v) => field === 'onOomKill' && v !== undefined,
});
snapshotConstant('vmm.chargeShm', chargeShm);
snapshotConstant('vmm.unchargeShm', unchargeShm);
snapshotClass(VmmContext, {
  rebuild: (ctx) => {
    fields(ctx.overcommit).swapPages = () => ctx.swap?.slots.total ?? 0;
    // The page cache's and the flusher's calls back into the context, and each tmpfs file's hooks.
    ctx.wireFiles();
    for (const o of (fields(ctx).inodes as Map<number, object>).values()) {
      if (o instanceof SharedMemoryObject) {
        const h = ctx.objectHooks();
        Object.assign(fields(o), { hooks: h, host: h });
      }
    }
  },
});
snapshotClass(SwapIn);
snapshotClass(VirtualMemory);
snapshotClass(PageStates);
snapshotClass(PageSetView);
snapshotClass(PageSlotView);
snapshotClass(RegionMap);
snapshotClass(Overcommit, { skip: ['swapPages'] }); // its VmmContext's (below)
snapshotClass(Aslr);
snapshotClass(Rlimits);
// What it asks of its machine (fork, vfork, exec) is its machine's: one object, made by the restored machine.
snapshotClass(AddressSpace, { skip: ['hooks'], rebuild: (s) => void (fields(s).hooks = (s.machine as unknown as { processHooksOf: unknown }).processHooksOf) });

// ---- reclaim and swap
snapshotClass(KeyIndex);
snapshotClass(PageList);
snapshotClass(Zswap, { skip: ['writeBack'] });
snapshotClass(Scratch);
snapshotClass(SwapReadahead);
snapshotClass(SwapArea, {
  rebuild: (a) => {
    const f = fields(a);
    if (f.zswap) fields(f.zswap as object).writeBack = (slot: number, bytes: Uint8Array) => (a as unknown as { deviceWrite(s: number, b: Uint8Array, o: number): void }).deviceWrite(slot, bytes, 0);
  },
});
snapshotClass(SwapSlots);
snapshotClass(SwapDevice, {
  skip: ['zeroOut', 'stage'],
  check: (d, path) => {
    if (d.file !== undefined) throw new SnapshotError('EINVAL', `cannot capture ${path}: the swap device is the file ${d.file}, whose pages a restored machine could not own (use swap in host memory to snapshot)`);
  },
  rebuild: (d) => Object.assign(fields(d), { zeroOut: new Uint8Array(64), stage: new Uint8Array(0) }),
});
snapshotClass(SwapCache);
snapshotClass(GuardedPolicy, {
  check: (_p, path) => {
    throw new SnapshotError('EINVAL', `cannot capture ${path}: a plug-in replacement policy's state is its own code's (use a built-in policy to snapshot)`);
  },
});
for (const P of [NruPolicy, ClockPolicy, FifoPolicy, LfuPolicy, AgingPolicy, TwoQueuePolicy, LinuxLruPolicy, LruPolicy, MglruPolicy, ArcPolicy, RandomPolicy, WsClockPolicy, OptPolicy]) snapshotClass(P as never);
snapshotClass(OptFuture);

// ---- files and the page cache (their calls back into the context are made again by VmmContext's rebuild)
type Live = { checkLive(): void };
// Simulated time counts the restored machine's accesses (its counters: the core's, restored).
snapshotClass(SimClock, { skip: ['accesses'], rebuild: (c, r) => void (fields(c).accesses = (r.root as unknown as { clockSource(): () => number }).clockSource()) });
snapshotClass(FileSystem, { skip: ['live'], rebuild: (f, r) => void (fields(f).live = () => (r.root as unknown as Live).checkLive()) });
snapshotClass(File, { skip: ['live'], rebuild: (f, r) => void (fields(f).live = () => (r.root as unknown as Live).checkLive()) });
// raTarget: readahead's view of the cache, made again on first use.
snapshotClass(RegularFile, {
  skip: ['host', 'raTarget'],
  rebuild: (f, r) => {
    const vmm = (r.root as unknown as { vmm: VmmContext }).vmm;
    Object.assign(fields(f), { host: { release: (inode: RegularFile) => vmm.releaseFile(inode) }, raTarget: undefined });
  },
});
snapshotClass(CachePage);
snapshotClass(DiskBlocks);
snapshotClass(PageCache, { skip: ['ctx', 'lruSizes', 'onFirstDirty', 'noteRefaultCost'] });
snapshotClass(Flusher, { skip: ['ctx'] });
snapshotClass(RaState);
snapshotClass(IntervalTree);
snapshotClass(ShadowEntries);
snapshotClass(FileReclaim);
snapshotClass(FileLru, { skip: ['onActivate'] });
snapshotClass(FileLruGen);
snapshotClass(CachePageList);
snapshotClass(Workingset);

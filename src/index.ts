/** vmsim: a simulated x86-64 virtual memory manager. The public surface is what this file exports. */
export { Machine } from './system/machine.js';
export type { MachineStats } from './system/machine.js';
export type { MachineOptions, BackendName } from './machine/options.js';
export { Snapshot } from './snapshot/snapshot.js';
export { SnapshotError } from './snapshot/snapshot-error.js';
export type { SaveOptions, SaveInfo } from './snapshot/snapshot-file.js';
export { AddressSpace } from './vmm/address-space.js';
export { MmuSpace } from './machine/mmu-space.js';
export type { Translation, AccessOptions, MapOptions, BatchResult } from './machine/mmu-space.js';
export type { WalkStep, WalkFlags } from './machine/walk.js';
export { PhysicalMemory } from './machine/physical-memory.js';
export type { PageFlags, EntryFlags, SoftwareBits } from './page-flags.js';
export { VmmError, PageFault, SegmentationFault, BusError, describeErrorCode } from './errors.js';
export type { ErrnoCode, AccessKindName, SegvCause, BusCause } from './errors.js';
export {
  PAGE_SIZE,
  PAGE_SIZE_2M,
  PAGE_SIZE_1G,
  KERNEL_BASE,
  USER_END,
  alignDown,
  alignUp,
  isAligned,
  isCanonical,
  isKernelAddress,
  isUserAddress,
  canonical,
  hexAddress as hex,
} from './address.js';
export type { Address } from './address.js';
export { PFEC as PageFaultCode } from './core/constants.js';
export { nativeAvailable } from './core/native-core.js';
export { replay, sweep, combinations } from './replay/index.js';
export type { TraceInput, ReplayOptions, ReplayTlbOptions, TlbLevelOptions, ReplayResult, TlbLevelResult, PwcLevelResult, SweepConfig, SweepRow, SweepOptions, FailedSweepRow, QueueSweepOptions } from './replay/index.js';
export type { HierarchyResult, LevelTotals, SeriesResult } from './replay/index.js';
export type { MultiReplayOptions, MultiReplayResult, ProcessReplayResult } from './replay/index.js';
export { CPU_PRESETS, CPU_NAMES, SLOT_NAMES, POLICY_NAMES as TLB_POLICY_NAMES } from './tlb/index.js';
export type { CpuPreset, PresetArray, TlbArrayOptions, SlotName, PolicyName as TlbPolicyName } from './tlb/index.js';
export { openTrace, convertTrace, writeBinaryTrace, LackeyParser, BinaryTraceDecoder, TraceFormatError, TraceKind, packRecord, syntheticLackeyTrace } from './trace/index.js';
export type { TraceChunk, TraceReader, OpenTraceOptions } from './trace/index.js';
export type { MmapOptions } from './vmm/syscalls.js';
export type { AddressSpaceOptions } from './system/machine.js';
export type { ResolvedOptions } from './machine/options.js';
export type { Region, RegionKind, Backing } from './vmm/region.js';
export type { RegionOptions } from './vmm/syscalls.js';
export type { SpaceStats, FaultCounters } from './vmm/vm-stats.js';
export type { SharedMemoryObject } from './vmm/shared-memory.js';
export type { Inode } from './vmm/file/inode.js';
export type { Compression, TraceStats, TraceDecoderOptions, WriteTraceOptions, WriteTraceResult, ConvertTraceOptions, ConvertTraceResult, SyntheticTraceOptions } from './trace/index.js';
export { recordLackey } from './trace/index.js';
export type { LackeyRecording, RecordLackeyOptions } from './trace/index.js';
export type { LackeyParserOptions, TraceFormat, TraceEvent, NewTraceEvent, EventPlace, ThreadEvent, SyscallEvent, ImageEvent, MapEvent, MapKind, EndEvent, NoteEvent } from './trace/index.js';
export type { ReplayFormat, WindowResult, ProgramResult, ProcessResult, ThreadResult, SyscallAgreement, Disagreement } from './replay/index.js';
export { recordProgram } from './record/index.js';
export type { RecordProgramOptions, RecordProgramResult, RecordNotes } from './record/index.js';
export type { Mmu } from './machine/mmu.js';
export type { Cpu, CpuStats, TlbStats, TlbLevelCounts, SchedTask } from './machine/cpu.js';
export { Thread } from './machine/thread.js';
export type { Task } from './machine/task.js';
export type { MmContext } from './machine/mm-context.js';
export type { ShootdownCounters, MachineShootdowns, TlbVmstat } from './machine/shootdown-stats.js';
export { DEFAULT_SHOOTDOWN_COST } from './machine/shootdown-cost.js';
export type { ShootdownCost } from './machine/shootdown-cost.js';
export type { ShootdownOptions, ShootdownMechanism, ResolvedShootdown } from './machine/options.js';
export type { TlbOptions } from './tlb/tlb-options.js';
export type { ResolvedHierarchy, ResolvedArray } from './tlb/hierarchy-options.js';
export type { RawSpaceOptions } from './system/machine.js';
export type { OnFault } from './machine/fault.js';
export { createPolicy, resolvePolicy, isPolicyName, policyKind, policySummary, POLICY_NAMES, ACCESSED, DIRTY, stackDistances, parseReferenceString, SwapArea, newReclaimCounters } from './reclaim/index.js';
export type { AccessBits, PolicyKind, PolicyName, PolicyOptions, ReclaimPolicy, StackDistances, ReferenceString, SwapOptions, SwapSource, ZswapOptions, ZswapStats, ReclaimCounters } from './reclaim/index.js';
export { encodeSwapEntry, decodeSwapEntry } from './reclaim/index.js';
export { runReferenceString, faultCurve } from './replay/index.js';
export type { ReferenceRunOptions, ReferenceRunResult, ReferenceStep, FaultCurve, FaultCurveRow, FaultCurveOptions, RunProgress, OnRunProgress } from './replay/index.js';
export { annotate } from './annotate/index.js';
export type { AnnotateOptions, AnnotateResult, RegionEvents, InstructionEvents, Events } from './annotate/index.js';
export { linuxWatermarks } from './vmm/reclaimer.js';
export { OptFuture, OptFutureBuilder } from './reclaim/index.js';
export type { OptMatch } from './reclaim/index.js';
export type { Watermarks, OomKill } from './vmm/reclaimer.js';
export { OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX } from './vmm/oom-killer.js';
export type { OomConstraint } from './vmm/oom-killer.js';
export type { MadviseAdvice, MadviseAdviceName } from './vmm/madvise.js';
export { MADV } from './vmm/madvise.js';
export { MLOCK_ONFAULT, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } from './vmm/mlock.js';
export { MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP } from './vmm/mremap.js';
export type { MremapOptions } from './vmm/mremap.js';
export type { ExecOptions } from './vmm/address-space.js';
export type { Rlimit, RlimitName } from './vmm/rlimits.js';
export type { OvercommitOptions, CommitInfo } from './vmm/overcommit.js';
export type { File } from './vmm/file/file.js';
export type { FileSystem, CreateFileOptions, OpenFileOptions } from './vmm/file/file-system.js';
export type { MemInfo, VmStat } from './vmm/mem-stats.js';
export type { VmOptions } from './machine/options.js';
export type { MsyncFlags } from './vmm/msync.js';
export { decodePagemapEntry } from './vmm/proc/index.js';
export type { SmapsEntry, SmapsRollup, SmapsTotals, PagemapEntry, PagemapOptions, ProcFormatOptions, ProcStatus, ProcStatm } from './vmm/proc/index.js';

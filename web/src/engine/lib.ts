/**
 * The library as the page uses it: the narrow entry point of the browser bundle. It imports
 * the machine, the VMM and the reclaim pieces by their own modules (not src/index.ts, which
 * also brings trace files, sweeps on worker threads and the CLI's Node-only parts).
 */
export { Machine } from '../../../src/system/machine.js';
export type { MachineOptions } from '../../../src/machine/options.js';
export { AddressSpace } from '../../../src/vmm/address-space.js';
export { MmuSpace } from '../../../src/machine/mmu-space.js';
export type { Thread } from '../../../src/machine/thread.js';
export type { Cpu, CpuStats } from '../../../src/machine/cpu.js';
export type { MmContext } from '../../../src/machine/mm-context.js';
export type { ShootdownCost } from '../../../src/machine/shootdown-cost.js';
export { FLUSH_ALL } from '../../../src/machine/arch-tlb.js';
export { TLB_NR_DYN_ASIDS } from '../../../src/machine/asids.js';
export type { WalkStep } from '../../../src/machine/walk.js';
export { VmmError, SegmentationFault, PageFault, describeErrorCode } from '../../../src/errors.js';
export { runReferenceString } from '../../../src/replay/reference-run.js';
export type { ReferenceRunResult, ReferenceStep } from '../../../src/replay/reference-run.js';
export { parseReferenceString } from '../../../src/reclaim/reference-string.js';
export { stackDistances } from '../../../src/reclaim/stack-distance.js';
export { createPolicy, POLICY_NAMES, policyKind, policySummary, isPolicyName } from '../../../src/reclaim/registry.js';
export type { PolicyName, PolicyOptions, ReclaimPolicy } from '../../../src/reclaim/policy.js';
export { decodeSwapEntry } from '../../../src/reclaim/swap-entry.js';
export { PageList } from '../../../src/reclaim/page-list.js';

/** Attribution of a replay's TLB misses, walks and faults to regions and instructions (vmsim annotate). */
export { annotate } from './annotate.js';
export type { AnnotateOptions, AnnotateResult, RegionEvents, InstructionEvents } from './annotate.js';
export type { Events } from './attribution.js';

/** /proc's per-process files over a VMM address space: smaps, smaps_rollup, pagemap, clear_refs, status, statm. */
export { smaps, smapsText, smapsRollup, formatSmapsRollup } from './smaps.js';
export type { SmapsEntry, SmapsRollup, SmapsTotals } from './smaps.js';
export { pagemap, decodePagemapEntry } from './pagemap.js';
export type { PagemapEntry } from './pagemap.js';
export { clearRefs, CLEAR_REFS } from './clear-refs.js';
export { procStatus, procStatm, formatStatus, formatStatm } from './status.js';
export type { ProcStatus, ProcStatm } from './status.js';
export { procFormat, pagemapRange, type ProcFormatOptions, type PagemapOptions } from './options.js';

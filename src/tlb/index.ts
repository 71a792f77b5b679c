/** The per-CPU TLB hierarchy: the public pieces (presets and the option types). */
export { CPU_PRESETS, CPU_NAMES } from './presets.js';
export type { CpuPreset, PresetArray } from './presets.js';
export type { TlbArrayOptions } from './hierarchy-options.js';
export { SLOT_NAMES, POLICY_NAMES } from './layout.js';
export type { SlotName, PolicyName } from './layout.js';

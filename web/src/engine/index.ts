/** The page's engine: the library (js backend) and the page's experiments on it, also exposed as `window.vmsim`. */
export * as lib from './lib.js';
export { runPolicy, faultCurve, policyOptionsFor } from './replacement.js';
export type { PolicyRun, FrameBits, CurvePoint } from './replacement.js';
export { TranslationLab, PRESETS, LAYOUT } from './translation.js';
export type { AccessRecord, AccessSpec } from './translation.js';
export { parseScript, apiCall, ScriptError } from './script.js';
export { ProcessLab } from './process-lab.js';
export { CpuLab } from './cpu-lab.js';
export type { FlushRequest, CpuFlushOutcome, SwitchEvent, CpuSnapshot } from './cpu-lab.js';
export { tableTree, frameUses } from './memory-map.js';
export { translationExercise, replacementExercise } from './exercises.js';
export { Random, randomReferenceString } from './random.js';

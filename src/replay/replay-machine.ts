/** The machine an experiment replays on, built one way for replay, several-program replay and annotate. */
import { Machine } from '../system/machine.js';
import type { ReplayOptions, ResolvedReplayOptions } from './replay-options.js';

/** A machine whose CPUs have the experiment's TLB (the single TLB, or the hierarchy of options.tlb and options.cpu), its memory, backend and swap; `cpus` of them (default 1). */
export function replayMachine(options: Pick<ReplayOptions, 'tlb' | 'cpu'>, o: ResolvedReplayOptions, cpus?: number): Machine {
  const pr = o.pressure;
  // options.tlb as given: its resolved form (o.tlb) has entries 64 filled in, which would override a preset's second level.
  return new Machine({ memory: o.memory, tlb: options.tlb ?? {}, ...(options.cpu !== undefined ? { cpu: options.cpu } : {}), backend: o.backend, ...(o.vm ? { vm: o.vm } : {}), ...(cpus !== undefined ? { cpus } : {}), ...(pr ? { swap: pr.swap } : {}) });
}

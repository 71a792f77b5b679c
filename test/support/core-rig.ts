/** A bare core of either backend with its caller-owned arrays, for the core-level tests. */
import { Counter, Result } from '../../src/core/constants.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { createTlbState, type TlbState } from '../../src/core/tlb-state.js';

/** A core and the arrays it writes into. */
export interface CoreRig {
  core: Core;
  tlb: TlbState;
  counters: Float64Array;
  result: Float64Array;
}

/** Builds a core with `make` (a backend's constructor) over fresh TLB (sets x ways), counter and result arrays. */
export function coreRig(make: (c: CoreConfig) => Core, memoryBytes: number, features = 0, sets = 4, ways = 4): CoreRig {
  const tlb = createTlbState(sets, ways);
  const counters = new Float64Array(Counter.LENGTH);
  const result = new Float64Array(Result.LENGTH);
  return { core: make({ memoryBytes, features, tlb, counters, result }), tlb, counters, result };
}

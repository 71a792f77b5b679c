/**
 * A restored machine with another TLB (a sweep's configuration from a warm snapshot): its
 * CPUs get the new TLB. When the geometry (entries, ways, policy, page sizes, seed of every
 * array) is the snapshot's, the TLBs keep their contents and only the cost model (latencies)
 * changes; otherwise every TLB and walk cache starts empty — contents cannot be carried into
 * arrays of another shape without inventing which entries would have survived.
 */
import { resolveOptions, type ResolvedOptions } from '../machine/options.js';
import { createTlbState } from '../core/tlb-state.js';
import { undetachable } from '../core/undetachable.js';
import { HierStat, Slot } from '../tlb/layout.js';
import type { ResolvedHierarchy } from '../tlb/hierarchy-options.js';
import type { TlbOptions } from '../tlb/tlb-options.js';
import type { Mmu } from '../machine/mmu.js';

/** The TLB a restored machine should have: the same description `new Machine({ tlb, cpu })` takes. */
export interface TlbChoice {
  tlb?: TlbOptions;
  cpu?: string;
}

type Geometry = Pick<ResolvedOptions, 'tlbEntries' | 'tlbWays' | 'tlbSets' | 'hierarchy'>;

/** Validates a TLB choice as a machine would (EINVAL naming options.tlb / options.cpu). */
export function resolveTlbChoice(c: TlbChoice): Geometry {
  const r = resolveOptions({ memory: 2 ** 21, backend: 'js', ...(c.tlb !== undefined ? { tlb: c.tlb } : {}), ...(c.cpu !== undefined ? { cpu: c.cpu } : {}) });
  return { tlbEntries: r.tlbEntries, tlbWays: r.tlbWays, tlbSets: r.tlbSets, ...(r.hierarchy ? { hierarchy: r.hierarchy } : {}) };
}

/** The arrays' shapes, without the preset's name or any latency. */
function shape(g: Geometry): string {
  const h = g.hierarchy;
  const arrays = h ? h.arrays.map((a) => (a ? [a.entries, a.ways, a.policy, a.sizes.join('+'), a.seed] : null)) : null;
  return JSON.stringify([g.tlbEntries, g.tlbWays, arrays]);
}

/**
 * Gives the restored (not yet cored) machine `m` the TLB `g`. Returns true when its TLBs must
 * start empty (another geometry): each CPU then has fresh arrays (and hierarchy statistics from
 * zero), and restoreCore is told to leave the snapshot's hierarchy contents out.
 */
export function retargetTlb(m: Mmu, g: Geometry): boolean {
  const old = m.config;
  const empty = shape(old) !== shape(g);
  const hierarchy: ResolvedHierarchy | undefined = g.hierarchy;
  const config = { ...old, tlbEntries: g.tlbEntries, tlbWays: g.tlbWays, tlbSets: g.tlbSets } as ResolvedOptions;
  if (hierarchy) config.hierarchy = hierarchy;
  else delete config.hierarchy;
  (m as { config: ResolvedOptions }).config = config;
  if (!empty) return false;
  const slots = Array.from({ length: Slot.COUNT }, (_, s) => hierarchy?.arrays[s] !== undefined);
  for (const cpu of m.cpuArray) {
    const c = cpu as unknown as { tlbState: unknown; hierStats: Float64Array | undefined; hierSlots: readonly boolean[] };
    c.tlbState = createTlbState(g.tlbSets, g.tlbWays);
    c.hierStats = hierarchy ? undetachable(Float64Array, HierStat.LENGTH) : undefined;
    c.hierSlots = slots;
  }
  return true;
}

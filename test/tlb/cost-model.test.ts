/** The cost model: translation cycles are the documented sum over the counts, with the preset's (or the given) latencies. */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.js';

describe('translation cost', () => {
  it('= hits x latency + level misses x the slowest array of the level + walk-cache probes x latency + walk references x their level cost', async () => {
    const r = await replay('traces/ls.lackey.gz', { cpu: 'virtuoso', tlb: { walkReference: [40, 30, 20, 10] } });
    const h = r.tlb.hierarchy!;
    const lat = h.cost.latencies;
    const rows = r.tlb.levels;
    let expected = 0;
    for (const l of rows) expected += (l.level === 'pwc' ? l.hits + l.misses : l.hits) * lat[l.name]!;
    const maxLat = (level: string) => Math.max(...rows.filter((l) => l.level === level).map((l) => lat[l.name]!));
    expected += h.l1i.misses * maxLat('l1i') + h.l1d.misses * maxLat('l1d') + h.stlb.misses * maxLat('stlb');
    const w = h.walkReferences;
    expected += w.pml4e * 40 + w.pdpte * 30 + w.pde * 20 + w.pte * 10;
    expect(h.cost.translationCycles).toBe(expected);
    expect(h.cost.walkReference).toEqual([40, 30, 20, 10]);
    expect(lat).toMatchObject({ l1i: 1, l1d: 1, stlb: 12, 'pwc-pde': 3 }); // Virtuoso's penalties
    expect(h.cost.cyclesPerAccess).toBeCloseTo(expected / r.accesses, 12);
    expect(w.total).toBe(w.pml4e + w.pdpte + w.pde + w.pte);
    expect(h.mpki!.stlb).toBeCloseTo((h.stlb.misses * 1000) / r.byKind.instructions, 12);
  });
});

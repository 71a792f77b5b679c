/** The presets: the numbers in docs/tlb-hierarchy.md are the ones the code uses, every preset resolves and names its provenance, and bad configurations are errors naming the option. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CPU_NAMES, CPU_PRESETS } from '../../src/tlb/presets.js';
import { resolveReplayOptions } from '../../src/replay/replay-options.js';
import { replay } from '../../src/replay/replay.js';
import { SLOT_NAMES } from '../../src/tlb/layout.js';

const doc = readFileSync('docs/tlb-hierarchy.md', 'utf8');

describe('CPU presets', () => {
  it('the documented table lists exactly the numbers of every preset', () => {
    const rows = doc
      .split('\n')
      .filter((l) => CPU_NAMES.some((n) => l.startsWith(`| ${n} |`)))
      .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    const expected: string[][] = [];
    for (const p of Object.values(CPU_PRESETS)) {
      for (const [name, a] of Object.entries(p.arrays)) expected.push([p.name, name, `${a.entries}`, `${a.ways}`, a.sizes.join('+') || '—', `${a.latency}`]);
      expected.push([p.name, 'walk reference', '', '', '', p.walkReference.join(', ')]);
    }
    expect(rows).toEqual(expected);
  });

  it('every preset is what the public names promise and documents its sources and assumptions', () => {
    expect(CPU_NAMES).toEqual(['skylake', 'golden-cove', 'zen3', 'zen4', 'champsim', 'virtuoso']);
    for (const p of Object.values(CPU_PRESETS)) {
      expect(doc).toContain(`### ${p.name} — ${p.description}`);
      for (const s of [...p.sources, ...p.assumed]) expect(doc).toContain(s);
      expect(p.sources.length + p.assumed.length).toBeGreaterThan(0);
      const r = resolveReplayOptions({ cpu: p.name }).hierarchy!;
      for (const [name, a] of Object.entries(p.arrays)) expect(r.arrays[SLOT_NAMES.indexOf(name as (typeof SLOT_NAMES)[number])]).toMatchObject({ entries: a.entries, ways: a.ways, latency: a.latency });
      expect(r.walkReference).toEqual(p.walkReference);
    }
  });

  it('the published numbers the issue names: Skylake STLB 1536 x 12-way, ChampSim ITLB/DTLB 64 x 4 and STLB 1536 x 12, Virtuoso PWC 16/16/32 4-way', () => {
    expect(CPU_PRESETS.skylake!.arrays.stlb).toMatchObject({ entries: 1536, ways: 12, sizes: ['4k', '2m'] });
    expect(CPU_PRESETS.champsim!.arrays).toMatchObject({ l1i: { entries: 64, ways: 4, latency: 1 }, l1d: { entries: 64, ways: 4, latency: 1 }, stlb: { entries: 1536, ways: 12, latency: 8 } });
    expect(CPU_PRESETS.virtuoso!.arrays).toMatchObject({ 'pwc-pml4e': { entries: 16, ways: 4 }, 'pwc-pdpte': { entries: 16, ways: 4 }, 'pwc-pde': { entries: 32, ways: 4 }, stlb: { latency: 12 } });
  });

  it('a preset is overridden field by field', () => {
    const h = resolveReplayOptions({ cpu: 'skylake', tlb: { l1d: { entries: 128 }, stlb: { policy: 'random', seed: 7 }, pwc: { pd: 0 } } }).hierarchy!;
    expect(h.arrays[SLOT_NAMES.indexOf('l1d')]).toMatchObject({ entries: 128, ways: 4, policy: 'lru' });
    expect(h.arrays[SLOT_NAMES.indexOf('stlb')]).toMatchObject({ entries: 1536, ways: 12, policy: 'random', seed: 7 });
    expect(h.arrays[SLOT_NAMES.indexOf('pwc-pde')]).toBeUndefined(); // 0 entries removes it
    // tlb.entries/ways are the second level, as without a preset
    expect(resolveReplayOptions({ cpu: 'zen3', tlb: { entries: 1024, ways: 8 } }).hierarchy!.arrays[SLOT_NAMES.indexOf('stlb')]).toMatchObject({ entries: 1024, ways: 8 });
    // A new size that the preset's ways do not divide falls back to the default associativity.
    expect(resolveReplayOptions({ cpu: 'skylake', tlb: { stlb: { entries: 1000 } } }).hierarchy!.arrays[SLOT_NAMES.indexOf('stlb')]).toMatchObject({ entries: 1000, ways: 4 });
  });
});

describe('bad hierarchy configurations are EINVAL naming the option', () => {
  it.each([
    [{ tlb: { l1d: { entries: 64, ways: 3 } } }, /options\.tlb\.l1d\.ways 3 does not divide options\.tlb\.l1d\.entries 64/],
    [{ tlb: { stlb: { entries: 0 } } }, /options\.tlb\.stlb\.entries must be an integer in \[1, 1048576\]/],
    [{ tlb: { l1i: { entries: 8, ways: 0 } } }, /options\.tlb\.l1i\.ways must be an integer in \[1, entries=8\]/],
    [{ cpu: 'pentium' }, /options\.cpu must be one of skylake, golden-cove, zen3, zen4, champsim, virtuoso, got string "pentium"/],
    [{ tlb: { l1d: { entries: 64, policy: 'mru' } } }, /options\.tlb\.l1d\.policy must be one of lru, plru, fifo, random/],
    [{ tlb: { stlb: { entries: 12, ways: 12, policy: 'plru' } } }, /options\.tlb\.stlb\.policy 'plru' needs a power-of-two number of ways/],
    [{ tlb: { l1d: { entries: 4, sizes: ['8k'] } } }, /options\.tlb\.l1d\.sizes must be a list of '4k', '2m', '1g'/],
    [{ tlb: { l1d: { entries: 4, latency: -1 } } }, /options\.tlb\.l1d\.latency must be a non-negative number/],
    [{ tlb: { l1d: { entries: 4, wayz: 2 } } }, /unknown option options\.tlb\.l1d\.wayz/],
    [{ tlb: { pwc: { pde: 4 } } }, /unknown option options\.tlb\.pwc\.pde/],
    [{ tlb: { pwc: { pd: { entries: 6, ways: 4 } } } }, /options\.tlb\.pwc\.pd\.ways 4 does not divide options\.tlb\.pwc\.pd\.entries 6/],
    [{ tlb: { entries: 64, stlb: { entries: 64 } } }, /not both/],
    [{ tlb: { walkReference: [1, 2] } }, /options\.tlb\.walkReference must be cycles per walk memory reference/],
    [{ cpu: 'zen3', seriesEvery: 0 }, /options\.seriesEvery must be a positive integer/],
    [{ tlb: { l2i: { entries: 0 } } }, /options\.tlb\.l2i\.entries must be an integer in \[1, 1048576\]/],
    [{ cpu: 'zen4', tlb: { l2i: { entries: 512, ways: 3 } } }, /options\.tlb\.l2i\.ways 3 does not divide options\.tlb\.l2i\.entries 512/],
    [{ tlb: { l2i: { entries: 8, lru: true } } }, /unknown option options\.tlb\.l2i\.lru/],
  ] as const)('%j', async (opts, msg) => {
    expect(() => resolveReplayOptions(opts as never)).toThrow(msg);
    await expect(replay('traces/ls.lackey.gz', opts as never)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

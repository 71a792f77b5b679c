/** Page sizes meet their own arrays: with 2 MiB pages the 2M arrays translate and count, the 4K ones stay idle; with 1 GiB pages the 1G arrays do. */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.js';
import { Machine } from '../../src/system/machine.js';
import { HierStat, Slot, SlotStat } from '../../src/tlb/layout.js';
import { encodeHierarchy, resolveHierarchy } from '../../src/tlb/hierarchy-options.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { BACKENDS } from '../backends.js';

describe.each(BACKENDS)('arrays per page size (%s)', (backend) => {
  it('2 MiB pages go to l1d-2m, l1i-2m and the second level; the 4K arrays see none of them', async () => {
    const r = await replay('traces/ls.lackey.gz', { backend, cpu: 'skylake', pageSize: '2m' });
    const row = (n: string) => r.tlb.levels.find((l) => l.name === n)!;
    expect(row('l1d-2m').hits).toBeGreaterThan(0);
    expect(row('l1i-2m').hits).toBeGreaterThan(0);
    expect(row('stlb').misses).toBeGreaterThan(0);
    // Some pages stay 4K (regions smaller than an aligned 2 MiB block), so 4K arrays are not necessarily idle; 1G ones are.
    expect([row('l1d-1g').hits, row('l1d-1g').misses, row('stlb-1g').hits, row('stlb-1g').misses]).toEqual([0, 0, 0, 0]);
    expect(row('l1d-2m').hits + row('l1d').hits + row('l1i').hits + row('l1i-2m').hits + row('stlb').hits).toBe(r.tlb.hits);
  });

  it('a 1 GiB page fills l1d-1g and stlb-1g, with one walk reading PML4E and PDPTE', () => {
    const m = new Machine({ memory: '4GiB', backend });
    const s = m.createAddressSpace();
    const G = 2 ** 30 * 64;
    s.mapPage(G, m.physical.allocFrames(262144, 2 ** 30), { user: true, writable: true }, { pageSize: 2 ** 30 });
    m.switchTo(s);
    const h = resolveHierarchy({ cpu: 'skylake', arrays: {} }, 'tlb', 'cpu');
    const st = new Float64Array(HierStat.LENGTH);
    m.core.hierarchy(encodeHierarchy(h), st);
    const w = new Uint32Array(6);
    packRecord(w, 0, G + 5, 0, 8);
    packRecord(w, 1, G + 0x3000_0000, 1, 8); // the same 1G page, far inside it
    packRecord(w, 2, G + 0x1234, 0, 8);
    expect(m.core.hierTraceBatch(w, 0, 3, 1, new Float64Array(5))).toBe(6);
    const at = (slot: number, f: number) => st[slot * SlotStat.FIELDS + f];
    expect([at(Slot.L1D_1G, SlotStat.HITS), at(Slot.L1D_1G, SlotStat.MISSES), at(Slot.L1D_1G, SlotStat.FILLS)]).toEqual([2, 1, 1]);
    expect([at(Slot.STLB_1G, SlotStat.MISSES), at(Slot.STLB_1G, SlotStat.FILLS), at(Slot.STLB, SlotStat.FILLS)]).toEqual([1, 1, 0]);
    // One walk for the read, one assist walk for the write (the entry was filled clean), each PML4E + PDPTE; the PML4E cache hit on the second.
    expect([st[HierStat.REFS_PML4E], st[HierStat.REFS_PDPTE], st[HierStat.REFS_PDE], st[HierStat.ASSISTS]]).toEqual([1, 2, 0, 1]);
  });
});

/**
 * The native walker's paging-structure cache must stay invisible: a page-table entry changed
 * through the JS store/write hit path (a page table mapped as data) is seen by the next walk
 * on both backends alike, as the reference core (which has no such cache) sees it.
 */
import { describe, expect, it } from 'vitest';
import { Machine, PageFault } from '../../src/index.js';
import { BACKENDS } from '../backends.js';

const RW = { writable: true, user: true };

/** Physical address of the table at `level` (4 = the root) on the way to `va`. */
function tableAt(m: Machine, root: number, va: number, level: number): number {
  let t = root;
  for (let l = 4; l > level; l--) {
    const idx = Math.floor(va / 2 ** (12 + 9 * (l - 1))) % 512;
    t = (new DataView(m.physical.read(t + idx * 8, 4).buffer).getUint32(0, true) >>> 12) * 4096;
  }
  return t;
}

describe.each(BACKENDS)('paging-structure cache after a JS-path store into a page table (%s)', (backend) => {
  for (const how of ['store', 'write'] as const) {
    it(`a PDE cleared by ${how}() through a TLB hit is seen by the next walk`, () => {
      const m = new Machine({ memory: '16MiB', backend });
      const s = m.createAddressSpace({ faults: 'raw' });
      const base = 0x40_0000;
      for (let k = 0; k < 3; k++) s.mapPage(base + k * 4096, m.physical.allocFrame(), RW);
      const pd = tableAt(m, s.root, base, 2);
      const window = 0x4000_0000; // another 1 GiB region, so the PD's own mapping is not under it
      s.mapPage(window, pd, RW);
      const pdeOffset = (Math.floor(base / 2 ** 21) % 512) * 8;
      // A first store makes the window's TLB entry dirty (writes the PDE back unchanged).
      const pde = s.load(window + pdeOffset, 4);
      s.store(window + pdeOffset, pde, 4);
      s.access(base, 'read'); // a walk that fills the native PDE cache for base's 2 MiB region
      if (how === 'store') s.store(window + pdeOffset, 0, 4);
      else s.write(window + pdeOffset, [0, 0, 0, 0]);
      // base + 0x2000 was never accessed (no TLB entry): the walk must see the PDE now not present.
      expect(() => s.access(base + 0x2000, 'read')).toThrow(PageFault);
      // And a PDE put back is seen too.
      s.store(window + pdeOffset, pde, 4);
      expect(s.access(base + 0x1000, 'read')).toBeGreaterThan(0);
      m.dispose();
    });
  }
});

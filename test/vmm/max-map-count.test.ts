/**
 * vm.max_map_count: the same probe runs on this machine's kernel (test/vmm/linux/map-count.c,
 * built now, at the kernel's own limit, sysctl untouched) and on vmsim with a small
 * options.maxMapCount. Counts are compared relative to the limit, so the two limits need not
 * be equal: where each call starts failing, and how many regions it adds, must agree.
 */
import { describe, expect, it } from 'vitest';
import { Machine, VmmError, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { runLinuxProbe } from '../support/linux-probe.js';
import { RegionMap } from '../../src/vmm/region-map.js';
import { checkMapCountForProtect } from '../../src/vmm/map-count.js';
import { pageRecord, parseRegions } from '../support/ascii-regions.js';

const PAGE = 4096;
const OPS = ['mmap', 'munmapMiddle', 'munmapEdge', 'munmapWhole', 'mprotectMiddle', 'mprotectEdge', 'fixedMiddle', 'brk'] as const;
type Probe = { max: number; fullMinusMax: number; at: Record<string, number | [number, number]>[] };


const errno = (f: () => unknown): number => {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof VmmError && e.code === 'ENOMEM') return 12;
    throw e;
  }
};

/** The probe of map-count.c, call for call, on a vmsim space with limit `max`. */
function vmsimProbe(backend: 'native' | 'js', max: number): Probe {
  const m = new Machine({ memory: '64MiB', backend, maxMapCount: max });
  const s: AddressSpace = m.createAddressSpace();
  const count = () => s.stats().regions;
  const guard = s.mmap({ length: 5 * PAGE, prot: '' });
  const probe = s.mmap({ addr: guard + PAGE, length: 3 * PAGE, prot: 'rw', fixed: true });
  s.sbrk(PAGE);
  const fill: number[] = [];
  for (;;) {
    let p = 0;
    if (errno(() => (p = s.mmap({ length: PAGE, prot: fill.length & 1 ? 'r' : '' }))) !== 0) break;
    fill.push(p);
  }
  const full = count();
  const at: Probe['at'] = [];
  let cur = full;
  for (let target = max + 1; target >= max - 3; target--) {
    while (cur > target) {
      s.munmap(fill.pop()!, PAGE);
      cur--;
    }
    const row: Probe['at'][number] = { countMinusMax: count() - max };
    for (const op of OPS) {
      s.munmap(probe, 3 * PAGE);
      s.mmap({ addr: probe, length: 3 * PAGE, prot: 'rw', fixed: true });
      const c = count();
      let p = 0;
      const r = errno(() => {
        switch (op) {
          case 'mmap':
            return (p = s.mmap({ length: PAGE, prot: 'rx' }));
          case 'munmapMiddle':
            return s.munmap(probe + PAGE, PAGE);
          case 'munmapEdge':
            return s.munmap(probe + 2 * PAGE, PAGE);
          case 'munmapWhole':
            return s.munmap(probe, 3 * PAGE);
          case 'mprotectMiddle':
            return s.mprotect(probe + PAGE, PAGE, 'r');
          case 'mprotectEdge':
            return s.mprotect(probe + 2 * PAGE, PAGE, 'r');
          case 'fixedMiddle':
            return s.mmap({ addr: probe + PAGE, length: PAGE, prot: 'r', fixed: true });
          case 'brk':
            return s.sbrk(PAGE);
        }
      });
      row[op] = [r, count() - c];
      if (op === 'mmap' && r === 0) s.munmap(p, PAGE);
      if (op === 'brk' && r === 0) s.sbrk(-PAGE);
    }
    at.push(row);
    s.munmap(probe, 3 * PAGE);
    s.mmap({ addr: probe, length: 3 * PAGE, prot: 'rw', fixed: true });
  }
  m.dispose();
  return { max, fullMinusMax: full - max, at };
}

const linux = runLinuxProbe<Probe>('map-count');

describe.each(BACKENDS)('vm.max_map_count (%s)', (backend) => {
  it.skipIf(!linux)('fails where this machine\'s kernel fails, and adds the regions it adds', () => {
    const mine = vmsimProbe(backend, 40);
    expect(mine.fullMinusMax).toBe(linux!.fullMinusMax); // mmap stops at limit + 1
    const expected = linux!.at.map((row) => {
      const r = { ...row };
      // Linux keeps the first split when mprotect's second one fails (one VMA more, nothing
      // protected); vmsim checks before changing anything, so its refused call adds nothing.
      const [err, added] = r.mprotectMiddle as [number, number];
      if (err !== 0) r.mprotectMiddle = [err, 0];
      void added;
      return r;
    });
    expect(mine.at).toEqual(expected);
  });

  it('a refused call changes nothing', () => {
    const m = new Machine({ memory: '64MiB', backend, maxMapCount: 4 });
    const s = m.createAddressSpace(); // [stack]
    const a = s.mmap({ length: 3 * PAGE, prot: 'rw' });
    // Read-only once writable: charged (VM_ACCOUNT) like a's pages, so a's bottom page can merge with it below.
    s.mprotect(s.mmap({ length: PAGE, prot: 'rw' }), PAGE, 'r');
    s.mmap({ length: PAGE, prot: 'rw' });
    s.mmap({ length: PAGE, prot: 'r' }); // 5 = limit + 1
    const before = s.maps();
    expect(() => s.mmap({ length: PAGE, prot: 'rw' })).toThrow(expect.objectContaining({ code: 'ENOMEM', message: expect.stringMatching(/maxMapCount/) }));
    expect(() => s.mprotect(a + PAGE, PAGE, 'r')).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => s.munmap(a + PAGE, PAGE)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => s.createRegion({ start: 0x10000000, length: PAGE, prot: 'r', kind: 'data' })).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => s.brk(s.brk() + PAGE)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(s.maps()).toBe(before);
    // Calls that add no region still work at the limit: merging mprotect, shrinking munmap, fork.
    s.mprotect(a, PAGE, 'r'); // its bottom page merges with the r-- region just below
    s.munmap(a + 2 * PAGE, PAGE);
    expect(s.fork().stats().regions).toBe(s.stats().regions);
    m.dispose();
  });

  it('options.maxMapCount defaults to 65530 and is validated', () => {
    const m = new Machine({ memory: '16MiB', backend });
    expect(m.config.maxMapCount).toBe(65530);
    m.dispose();
    expect(new Machine({ memory: '16MiB', backend, maxMapCount: 0 }).config.maxMapCount).toBe(0);
    expect(() => new Machine({ memory: '16MiB', backend, maxMapcount: 5 } as never)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/maxMapcount/) }));
    for (const bad of [-1, 1.5, 2 ** 31, '10', null, NaN, 10n, { valueOf: () => 10 }]) {
      expect(() => new Machine({ memory: '16MiB', backend, maxMapCount: bad as never })).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/maxMapCount/) }));
    }
  });
});

describe('mprotect at the limit, region by region (mprotect_fixup order)', () => {
  // A picture (test/support/ascii-regions.ts), a page range, the new protection letter, and
  // how far below the limit the count must be for the call to pass (0: passes at the limit).
  it.each([
    ['aaaaaa', 2, 4, 'b', 2], // two splits: count <= limit - 2
    ['aaaaaa', 0, 2, 'b', 1], // one split
    ['aa|bbbb', 2, 3, 'a', 0], // the boundary moves: no split
    ['aa|b|aa', 2, 3, 'a', 0], // three merge into one
    ['aaaaaa', 2, 4, 'a', 0], // nothing changes
    ['aa|bb|aa', 1, 5, 'c', 1], // one split; then bb joins the new piece and the last region gives it a page (no split)
    ['aa|bb|cc', 1, 5, 'c', 1], // the end merges with c, the start splits
  ])('%s [%i, %i) -> %s needs %i below the limit', (picture, from, to, letter, room) => {
    const map = new RegionMap();
    for (const r of parseRegions(picture)) map.insert(r);
    const prot = pageRecord(letter, 0).prot;
    const passesAt = (max: number) => errno(() => checkMapCountForProtect(map, max, from * PAGE, to * PAGE, prot)) === 0;
    expect(passesAt(map.size + room)).toBe(true);
    if (room > 0) expect(passesAt(map.size + room - 1)).toBe(false);
    else expect(passesAt(map.size - 1)).toBe(true); // no split: not even above the limit
  });
});

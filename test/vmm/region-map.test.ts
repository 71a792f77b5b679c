/**
 * RegionMap split and merge cases drawn as ASCII maps (one character a page, see
 * test/support/ascii-regions.ts), as Linux's tools/testing/vma checks vma_merge and
 * split_vma; every case ends with the invariant checker.
 */
import { describe, expect, it } from 'vitest';
import { RegionMap } from '../../src/vmm/region-map.js';
import { PAGE, drawRegions, pageRecord, parseRegions } from '../support/ascii-regions.js';

function mapOf(picture: string): RegionMap {
  const m = new RegionMap();
  for (const r of parseRegions(picture)) m.insert(r);
  m.check();
  return m;
}

/** The map after `op`, drawn over as many pages as the picture has. */
function after(picture: string, op: (m: RegionMap) => void): string {
  const m = mapOf(picture);
  op(m);
  m.check();
  return drawRegions(m, picture.replace(/\|/g, '').length);
}

/** Inserts the regions drawn in `overlay` (a picture of the same width). */
const insert = (overlay: string) => (m: RegionMap) => {
  for (const r of parseRegions(overlay)) m.insert(r);
};
const remove = (from: number, to: number) => (m: RegionMap) => void m.remove(from * PAGE, to * PAGE);
const protect = (from: number, to: number, letter: string) => (m: RegionMap) => void m.protect(from * PAGE, to * PAGE, pageRecord(letter, 0).prot);

describe('RegionMap merges on insert (vma_merge_new_range)', () => {
  it.each([
    ['aa..aa', '..aa..', 'aaaaaa'], // joins both neighbours
    ['aa....', '..aa..', 'aaaa..'], // extends the previous
    ['....aa', '..aa..', '..aaaa'], // extends the next down
    ['aa..bb', '..aa..', 'aaaa|bb'], // only the compatible side
    ['aa..bb', '..cc..', 'aa|cc|bb'], // neither side
    ['bb..ss', '..bb..', 'bbbb|ss'], // same protection, other kind: no merge
    ['hh..bb', '..hh..', 'hhhhhh'], // heap and mmap kinds merge (Linux has no kinds: a rw mapping inside the heap joins it)
    ['01..45', '..23..', '012345'], // one object, contiguous offsets
    ['01..56', '..23..', '0123|56'], // offsets not contiguous with the next
    ['01....', '..bb..', '01|bb..'], // anonymous beside shared
  ])('%s + %s = %s', (before, overlay, expected) => {
    expect(after(before, insert(overlay))).toBe(expected);
  });

  it('refuses overlapping and empty inserts and changes nothing', () => {
    const m = mapOf('aa..bb');
    expect(() => m.insert({ ...pageRecord('a', 1) })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => m.insert({ ...pageRecord('a', 3), end: 3 * PAGE })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    m.check();
    expect(drawRegions(m, 6)).toBe('aa..bb');
  });
});

describe('RegionMap splits on remove (munmap)', () => {
  it.each([
    ['aaaaaa', 2, 4, 'aa..aa'], // a hole in the middle: one region becomes two
    ['aaaaaa', 0, 2, '..aaaa'], // the head
    ['aaaaaa', 4, 6, 'aaaa..'], // the tail
    ['aa|bb|cc', 1, 5, 'a....c'], // across three regions
    ['aa..cc', 1, 5, 'a....c'], // across a hole
    ['aa..cc', 2, 4, 'aa..cc'], // only a hole: nothing
    ['012345', 2, 3, '01.345'], // object offsets follow the cut
  ])('%s - [%i, %i) = %s', (before, from, to, expected) => {
    expect(after(before, remove(from, to))).toBe(expected);
  });

  it('returns the removed pieces in order', () => {
    const m = mapOf('aa|bb.cc');
    expect(m.remove(1 * PAGE, 7 * PAGE).map((r) => [r.start / PAGE, r.end / PAGE, r.prot])).toEqual([
      [1, 2, 1],
      [2, 4, 3],
      [5, 7, 5],
    ]);
    expect(m.size).toBe(1);
  });
});

describe('RegionMap splits and merges on protect (mprotect)', () => {
  it.each([
    ['aaaaaa', 2, 4, 'b', 'aa|bb|aa'], // the middle: one becomes three
    ['aa|bb|aa', 2, 4, 'a', 'aaaaaa'], // and back: three become one
    ['aaaaaa', 0, 2, 'b', 'bb|aaaa'], // the head
    ['aaaaaa', 4, 6, 'b', 'aaaa|bb'], // the tail
    ['aa|bbbb', 2, 3, 'a', 'aaa|bbb'], // the boundary moves up (merge with the previous)
    ['bbbb|aa', 3, 4, 'a', 'bbb|aaa'], // the boundary moves down (merge with the next)
    ['aa|b|aa', 2, 3, 'a', 'aaaaa'], // merge with both
    ['aa|bb|cc', 1, 5, 'n', 'a|nnnn|c'], // across regions: the pieces become one
    ['aaaaaa', 2, 4, 'a', 'aaaaaa'], // the same protection: nothing
  ])('%s: [%i, %i) -> %s = %s', (before, from, to, letter, expected) => {
    expect(after(before, protect(from, to, letter))).toBe(expected);
  });

  it('keeps the kinds apart: a stack and a mapping of one protection stay two regions', () => {
    const m = mapOf('ss|bb');
    m.protect(0, 4 * PAGE, 1);
    m.check();
    expect([...m].map((r) => [r.start / PAGE, r.end / PAGE, r.kind, r.prot])).toEqual([
      [0, 2, 'stack', 1],
      [2, 4, 'mmap', 1],
    ]);
  });

  it('fails with ENOMEM over a hole and changes nothing', () => {
    const m = mapOf('aa.bb');
    expect(() => m.protect(0, 5 * PAGE, 3)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => m.protect(2 * PAGE, 3 * PAGE, 3)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    m.check();
    expect(drawRegions(m, 5)).toBe('aa.bb');
  });

  it('returns the changed pieces with their new protection', () => {
    const m = mapOf('aa|bb|cc');
    expect(m.protect(1 * PAGE, 5 * PAGE, 0).map((r) => [r.start / PAGE, r.end / PAGE, r.prot])).toEqual([
      [1, 2, 0],
      [2, 4, 0],
      [4, 5, 0],
    ]);
  });
});

describe('RegionMap queries', () => {
  it('find, below, findFirstOverlapping, isFree, overlapping, size and bytes', () => {
    const m = mapOf('.aa..bb|c');
    expect(m.find(1 * PAGE)?.start).toBe(1 * PAGE);
    expect(m.find(3 * PAGE)).toBeUndefined();
    expect(m.below(4 * PAGE)?.start).toBe(1 * PAGE);
    expect(m.below(1 * PAGE)).toBeUndefined();
    expect(m.findFirstOverlapping(3 * PAGE, 6 * PAGE)?.start).toBe(5 * PAGE);
    expect(m.isFree(3 * PAGE, 5 * PAGE)).toBe(true);
    expect(m.isFree(3 * PAGE, 5 * PAGE + 1)).toBe(false);
    expect(m.overlapping(2 * PAGE, 8 * PAGE).map((r) => r.start / PAGE)).toEqual([1, 5, 7]);
    expect(m.size).toBe(3);
    expect(m.bytes).toBe(5 * PAGE);
  });

  it('regionsOf lists the regions of an object, and answers anew after every change (its answer is kept until then)', () => {
    // Digits are pages of object 1 at that page offset: 0 1 2 at pages 0-2 merge into one region.
    const m = mapOf('012.a.5');
    const starts = () => m.regionsOf(1).map((r) => [r.start / PAGE, r.end / PAGE]);
    expect(starts()).toEqual([[0, 3], [6, 7]]);
    expect(m.regionsOf(1)).toBe(m.regionsOf(1)); // kept while nothing changes
    expect(m.regionsOf(2)).toEqual([]);
    m.remove(1 * PAGE, 2 * PAGE);
    expect(starts()).toEqual([[0, 1], [2, 3], [6, 7]]);
    m.protect(2 * PAGE, 3 * PAGE, 1);
    expect(m.regionsOf(1).map((r) => [r.start / PAGE, r.prot])).toEqual([[0, 3], [2, 1], [6, 3]]);
    m.insert(pageRecord('1', 1));
    expect(starts()).toEqual([[0, 2], [2, 3], [6, 7]]);
    m.remove(0, 8 * PAGE);
    expect(m.regionsOf(1)).toEqual([]);
    const c = mapOf('3');
    const d = c.clone();
    d.remove(0, PAGE);
    expect([c.regionsOf(1).length, d.regionsOf(1).length]).toEqual([1, 0]);
  });

  it('clone is independent of the original', () => {
    const m = mapOf('aa..bb');
    const c = m.clone();
    c.remove(0, 2 * PAGE);
    c.insert(pageRecord('c', 3));
    m.check();
    c.check();
    expect(drawRegions(m, 6)).toBe('aa..bb');
    expect(drawRegions(c, 6)).toBe('...c|bb');
  });

  it('counts regions per shared memory object', () => {
    const m = mapOf('01.3');
    expect(m.references(1)).toBe(true);
    expect(m.objectIds()).toEqual([1]);
    m.remove(0, 2 * PAGE);
    expect(m.references(1)).toBe(true);
    m.remove(3 * PAGE, 4 * PAGE);
    expect(m.references(1)).toBe(false);
    m.check();
  });
});

describe('RegionMap top-down gap search (unmapped_area_topdown)', () => {
  const gap = (picture: string, pages: number, low: number, high: number, stackGap = 0) => {
    const r = mapOf(picture).findGapTopDown(pages * PAGE, low * PAGE, high * PAGE, stackGap * PAGE);
    return r === undefined ? undefined : r / PAGE;
  };
  it.each([
    ['aa....bb', 2, 0, 8, 0, 4], // the highest fit
    ['aa....bb', 4, 0, 8, 0, 2], // exactly the gap
    ['aa....bb', 5, 0, 8, 0, undefined], // too big
    ['a.a..a..', 2, 0, 8, 0, 6], // above the last region
    ['a.a..a..', 2, 0, 6, 0, 3], // high cuts the top gap
    ['a.a..a..', 1, 0, 3, 0, 1],
    ['..aa....', 2, 3, 8, 0, 6],
    ['........', 3, 2, 8, 0, 5], // empty map
    ['bb....ss', 2, 0, 8, 1, 3], // the guard gap below a stack
    ['bb....ss', 4, 0, 8, 1, undefined],
    ['bb..ss..', 2, 0, 8, 1, 6], // above the stack the guard does not count
  ])('%s: %i pages in [%i, %i), stack gap %i -> %s', (picture, pages, low, high, sg, expected) => {
    expect(gap(picture, pages, low, high, sg)).toBe(expected);
  });
});

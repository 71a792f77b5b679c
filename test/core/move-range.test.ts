/**
 * The core's moveRange (mremap's move of page-table entries), on each backend: entries move
 * unchanged and no frame's reference count changes; swap entries move; a 2 MiB or 1 GiB block
 * aligned alike on both sides moves as one table pointer (no new table, the same table frame);
 * a large leaf that cannot move whole is split; a taken destination is EEXIST and running out of
 * frames is ENOMEM, both with nothing moved; bad arguments are EINVAL. (The differential test
 * runs random moves on both backends side by side.)
 */
import { describe, expect, it } from 'vitest';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { PTE, Result, Status } from '../../src/core/constants.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import { coreRig } from '../support/core-rig.js';

const USER = PTE.RW | PTE.US;
const M = 2 ** 21;
const G = 2 ** 30;
const BASE = 4 * G; // 1 GiB-aligned

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

function rig(make: (c: CoreConfig) => Core, mem = 8 * 2 ** 20): { c: Core; root: number; result: Float64Array } {
  const r = coreRig(make, mem);
  return { c: r.core, root: r.core.createRoot(), result: r.result };
}

/** [physical address, leaf low word, page shift] of `la`, or undefined. */
function tr(c: Core, result: Float64Array, root: number, la: number): [number, number, number] | undefined {
  return c.translate(root, la) === Status.OK ? [result[Result.A]!, result[Result.B]!, result[Result.D]!] : undefined;
}

/** The frame a table entry names (for the table-move checks): the entry of `la` at `level` (4 = PML4E). */
function entryAt(c: Core, root: number, la: number, level: number): number {
  const ram = c.ramChunk(0);
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  let table = root;
  for (let l = 4; ; l--) {
    const ea = table * 4096 + (Math.floor(la / 2 ** (12 + 9 * (l - 1))) % 512) * 8;
    const lo = dv.getUint32(ea, true);
    const hi = dv.getUint32(ea + 4, true);
    const pfn = (lo >>> 12) + (hi & 0xfffff) * 2 ** 20;
    if (l === level) return lo === 0 && hi === 0 ? 0 : pfn;
    if (!(lo & PTE.P)) return 0;
    table = pfn;
  }
}

describe.each(makers)('core moveRange (%s)', (_name, make) => {
  it('moves present entries with their bits and frames; reference counts stay; the source tables go', () => {
    const { c, root, result } = rig(make);
    const src = BASE + 5 * 4096;
    const dst = BASE + 7 * M + 100 * 4096; // another table, another alignment
    expect(c.map(root, src, 3, 12, USER | PTE.A | PTE.D, 0, -1)).toBe(0);
    const before = [0, 1, 2].map((k) => tr(c, result, root, src + k * 4096)!);
    const refs = before.map(([pa]) => c.refCount(pa / 4096));
    const free0 = c.freeFrames();
    expect(c.moveRange(root, src, dst, 3)).toBe(Status.OK);
    for (let k = 0; k < 3; k++) {
      expect(tr(c, result, root, src + k * 4096)).toBeUndefined();
      expect(tr(c, result, root, dst + k * 4096)).toEqual(before[k]);
      expect(c.refCount(before[k]![0] / 4096)).toBe(refs[k]);
    }
    // One PT table made at dst, the emptied one at src freed (the PD table is shared): as many frames free as before.
    expect(c.freeFrames()).toBe(free0);
    c.dispose();
  });

  it('moves swap entries (non-present words) as they are', () => {
    const { c, root, result } = rig(make);
    const las = Float64Array.of(BASE, BASE + 4096);
    const lo = Uint32Array.of(0x1234 << 9, 0x99 << 9);
    const hi = Uint32Array.of(0, 7);
    expect(c.writeEntries(root, las, 2, lo, hi)).toBe(2);
    expect(c.moveRange(root, BASE, BASE + 3 * M, 2)).toBe(Status.OK);
    expect(c.readEntry(root, BASE + 3 * M + 4096)).toBe(Status.OK);
    expect([result[Result.B], result[Result.C]]).toEqual([0x99 << 9, 7]);
    expect(c.readEntry(root, BASE)).toBe(Status.ENOENT); // the source table is gone
    c.dispose();
  });

  it('a 2 MiB block aligned alike on both sides moves as one table pointer: the same table frame, no allocation', () => {
    const { c, root, result } = rig(make);
    expect(c.map(root, BASE + 3 * 4096, 2, 12, USER, 0, -1)).toBe(0);
    const table = entryAt(c, root, BASE, 2);
    const pa = tr(c, result, root, BASE + 3 * 4096)![0];
    const free0 = c.freeFrames();
    expect(c.moveRange(root, BASE, BASE + 5 * M, 512)).toBe(Status.OK);
    expect(entryAt(c, root, BASE + 5 * M, 2)).toBe(table);
    expect(entryAt(c, root, BASE, 2)).toBe(0);
    expect(tr(c, result, root, BASE + 5 * M + 3 * 4096)![0]).toBe(pa);
    expect(c.freeFrames()).toBe(free0);
    c.dispose();
  });

  it('a 1 GiB block aligned alike moves as one PDPT entry; a 2 MiB leaf moves whole as a leaf', () => {
    const { c, root, result } = rig(make);
    expect(c.map(root, BASE + 9 * M, 1, 21, USER, 0, -1)).toBe(0); // a 2 MiB leaf
    expect(c.map(root, BASE + 100 * M + 4096, 1, 12, USER, 0, -1)).toBe(0);
    const pd = entryAt(c, root, BASE, 3);
    const free0 = c.freeFrames();
    expect(c.moveRange(root, BASE, BASE + 2 * G, G / 4096)).toBe(Status.OK);
    expect(entryAt(c, root, BASE + 2 * G, 3)).toBe(pd);
    expect(tr(c, result, root, BASE + 2 * G + 9 * M)![2]).toBe(21);
    expect(c.freeFrames()).toBe(free0);
    // Then only half of the 2 MiB leaf's block, to a 2 MiB-aligned place: the leaf is split at the edge first.
    expect(c.moveRange(root, BASE + 2 * G + 9 * M, BASE + 3 * G, 256)).toBe(Status.OK);
    expect(tr(c, result, root, BASE + 3 * G + 255 * 4096)![2]).toBe(12);
    expect(tr(c, result, root, BASE + 2 * G + 9 * M + 256 * 4096)![2]).toBe(12);
    c.dispose();
  });

  it('a large leaf whose block moves to another alignment is split into 4 KiB entries', () => {
    const { c, root, result } = rig(make);
    expect(c.map(root, BASE, 1, 21, USER, 0, -1)).toBe(0);
    const pa = tr(c, result, root, BASE + 7 * 4096)![0];
    expect(c.moveRange(root, BASE, BASE + 8 * M + 4096, 512)).toBe(Status.OK);
    expect(tr(c, result, root, BASE + 8 * M + 8 * 4096)).toEqual([pa, expect.any(Number), 12]);
    expect(tr(c, result, root, BASE)).toBeUndefined();
    c.dispose();
  });

  it('EEXIST when anything is in the destination (a present page or a swap entry), EINVAL for overlap or the kernel half: nothing changes', () => {
    const { c, root, result } = rig(make);
    expect(c.map(root, BASE, 2, 12, USER, 0, -1)).toBe(0);
    expect(c.map(root, BASE + M, 1, 12, USER, 0, -1)).toBe(0);
    expect(c.writeEntries(root, Float64Array.of(BASE + 2 * M), 1, Uint32Array.of(5 << 9), Uint32Array.of(0))).toBe(1);
    const at = tr(c, result, root, BASE);
    expect(c.moveRange(root, BASE, BASE + M - 4096, 2)).toBe(Status.EEXIST);
    expect(c.moveRange(root, BASE, BASE + 2 * M, 1)).toBe(Status.EEXIST);
    expect(c.moveRange(root, BASE, BASE + 4096, 2)).toBe(Status.EINVAL);
    expect(c.moveRange(root, BASE, 2 ** 47, 1)).toBe(Status.EINVAL);
    expect(c.moveRange(root, 2 ** 47 - 4096, BASE + 5 * M, 2)).toBe(Status.EINVAL);
    expect(c.moveRange(root, BASE + 1, BASE + 5 * M, 1)).toBe(Status.EINVAL);
    expect(c.moveRange(root, BASE, BASE + 5 * M, 0)).toBe(Status.EINVAL);
    expect(tr(c, result, root, BASE)).toEqual(at);
    c.dispose();
  });

  it('countFrames counts the 4 KiB pages of a range mapped to a frame range (parts of large leaves included)', () => {
    const { c, root, result } = rig(make);
    const z = c.allocFrame();
    expect(c.mapList(root, BASE, Float64Array.of(z, z, z), USER, 0)).toBe(0);
    expect(c.map(root, BASE + M, 1, 21, USER, 0, -1)).toBe(0);
    const huge = tr(c, result, root, BASE + M)![0] / 4096;
    expect(c.countFrames(root, BASE, 3, z, 1)).toBe(3);
    expect(c.countFrames(root, BASE + 4096, 5, z, 1)).toBe(2);
    expect(c.countFrames(root, BASE, 1024, huge, 512)).toBe(512);
    expect(c.countFrames(root, BASE + M + 10 * 4096, 20, huge + 15, 100)).toBe(15); // parts 15..29 of the leaf
    expect(c.countFrames(root, BASE, 4, z + 1, 1)).toBe(0);
    expect(c.countFrames(root, BASE + 1, 4, z, 1)).toBe(Status.EINVAL);
    expect(c.countFrames(root, BASE, 4, -1, 1)).toBe(Status.EINVAL);
    c.dispose();
  });

  it('ENOMEM when a destination table cannot be allocated: everything moved so far goes back', () => {
    const { c, root, result } = rig(make, 4 * 2 ** 20);
    // Pages in two 2 MiB blocks; the destination shifts them by one page, so each block needs a new table at dst.
    expect(c.map(root, BASE, 4, 12, USER, 0, -1)).toBe(0);
    expect(c.map(root, BASE + M, 4, 12, USER, 0, -1)).toBe(0);
    const before = [0, 1, 2, 3].map((k) => [tr(c, result, root, BASE + k * 4096), tr(c, result, root, BASE + M + k * 4096)]);
    // Leave exactly one free frame: the first block's dst table fits, the second's does not.
    const held: number[] = [];
    while (c.freeFrames() > 1) held.push(c.allocFrame());
    const free0 = c.freeFrames();
    expect(c.moveRange(root, BASE, BASE + 8 * M + 4096, 2 * 512)).toBe(Status.ENOMEM);
    expect([0, 1, 2, 3].map((k) => [tr(c, result, root, BASE + k * 4096), tr(c, result, root, BASE + M + k * 4096)])).toEqual(before);
    expect(tr(c, result, root, BASE + 8 * M + 4096)).toBeUndefined();
    expect(c.freeFrames()).toBe(free0); // the table made at dst was freed again
    for (const f of held) c.unrefFrame(f);
    c.dispose();
  });
});

/**
 * Page-table contents are untrusted input: users write simulated RAM, page tables included.
 * Every core operation that follows an entry checks the frame it names; a bad entry (a table
 * pointer or leaf naming a frame beyond RAM, frame 0 or a free frame) is cleared and counted
 * by the range operations, as Linux's pgd_clear_bad/pmd_clear_bad do, and never crashes the
 * process or touches memory outside simulated RAM and the reference counts.
 */
import { describe, expect, it } from 'vitest';
import { Counter, Result, Status } from '../../src/core/constants.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { coreRig } from '../support/core-rig.js';

const MEM = 8 * 2 ** 20;
const FRAMES = MEM / 4096;
const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

/** Writes the 64-bit entry `idx` of table `table` as (lo, hi). */
function poke(core: Core, table: number, idx: number, lo: number, hi: number): void {
  const dv = new DataView(core.ramChunk(0).buffer, core.ramChunk(0).byteOffset);
  dv.setUint32(table * 4096 + idx * 8, lo >>> 0, true);
  dv.setUint32(table * 4096 + idx * 8 + 4, hi >>> 0, true);
}
function peekLo(core: Core, table: number, idx: number): number {
  return new DataView(core.ramChunk(0).buffer, core.ramChunk(0).byteOffset).getUint32(table * 4096 + idx * 8, true);
}

describe.each(makers)('bad page-table entries (%s core)', (_name, make) => {
  const rig = () => {
    const { core, counters, result } = coreRig(make, MEM);
    const root = core.createRoot();
    return { core, root, counters, result };
  };

  it('0xff bytes over a root entry: destroyRoot clears it, counts it, frees the root', () => {
    const { core, root, counters } = rig();
    expect(core.map(root, 0x40_0000, 1, 12, 0x7, 0, -1)).toBe(Status.OK);
    const free = core.freeFrames();
    poke(core, root, 0, 0xffffffff, 0xffffffff);
    expect(core.destroyRoot(root)).toBe(Status.OK);
    expect(counters[Counter.BAD_ENTRIES]).toBe(1);
    // The root goes; what hung below the clobbered entry cannot be trusted and is left (as Linux does).
    expect(core.freeFrames()).toBe(free + 1);
    expect(core.refCount(root)).toBe(0);
  });

  it('a leaf naming a frame beyond RAM: unmap and destroy skip it without touching any count', () => {
    const { core, root, counters, result } = rig();
    expect(core.map(root, 0x40_0000, 2, 12, 0x7, 0, -1)).toBe(Status.OK);
    expect(core.translate(root, 0x40_0000)).toBe(Status.OK);
    const pt = Math.floor(result[Result.A]! / 4096) - 1; // tables come first: the PT is the frame before the data
    expect(peekLo(core, pt, 0) & 1).toBe(1);
    poke(core, pt, 0, (FRAMES + 5) * 4096 + 0x7, 0);
    poke(core, pt, 2, 0x7 + 0x7fff_f000, 0x000f_ffff); // the largest frame number an entry can hold
    const free = core.freeFrames();
    expect(core.unmap(root, 0x40_0000, 3)).toBe(1); // only the good leaf
    expect(counters[Counter.BAD_ENTRIES]).toBe(2);
    expect(core.freeFrames()).toBe(free + 1 + 3); // its frame, then the PT, PD and PDPT left empty
    expect(core.destroyRoot(root)).toBe(Status.OK);
  });

  it('a leaf naming a free frame or frame 0 is bad too (an unref would free what someone else owns)', () => {
    const { core, root, counters } = rig();
    expect(core.map(root, 0x40_0000, 1, 12, 0x7, 0, -1)).toBe(Status.OK);
    const f = core.allocFrame();
    core.unrefFrame(f); // now free
    const pt = findPt(core, root, 0x40_0000);
    poke(core, pt, 0, f * 4096 + 0x7, 0);
    poke(core, pt, 1, 0x7, 0);
    expect(core.unmap(root, 0x40_0000, 2)).toBe(0);
    expect(counters[Counter.BAD_ENTRIES]).toBe(2);
    expect(core.refCount(f)).toBe(0);
  });

  it('a table pointer to a free frame: map clears it and builds a fresh table', () => {
    const { core, root, counters } = rig();
    const stray = core.allocFrame();
    core.unrefFrame(stray);
    poke(core, root, 1, stray * 4096 + 0x67, 0);
    expect(core.map(root, 2 ** 39, 1, 12, 0x7, 0, -1)).toBe(Status.OK);
    expect(counters[Counter.BAD_ENTRIES]).toBe(1);
    expect(core.translate(root, 2 ** 39)).toBe(Status.OK);
    expect(core.refCount(stray)).toBe(1); // reused as the new PDPT (the lowest free frame)
  });

  it('protect, scanAccessed and fork clear a bad entry they meet; translate and cowBreak see it as not present', () => {
    const { core, root, counters } = rig();
    expect(core.map(root, 0x40_0000, 1, 12, 0x7, 0, -1)).toBe(Status.OK);
    const pt = findPt(core, root, 0x40_0000);
    const bad = () => poke(core, pt, 1, 0xfffff007, 0x7ffff);
    bad();
    expect(core.translate(root, 0x40_1000)).toBe(Status.OK); // a pure walk, as the hardware sees it
    expect(core.cowBreak(root, 0x40_1000, 0, 0x7, 0)).toBe(Status.ENOENT);
    expect(counters[Counter.BAD_ENTRIES]).toBe(0);
    expect(core.protect(root, 0x40_0000, 2, 0, 0, 2, 0, 0, 0)).toBe(1);
    expect(counters[Counter.BAD_ENTRIES]).toBe(1);
    expect(peekLo(core, pt, 1)).toBe(0);
    bad();
    expect(core.scanAccessed(root, 0x40_0000, 2, true)).toBe(0);
    expect(counters[Counter.BAD_ENTRIES]).toBe(2);
    bad();
    const child = core.createRoot();
    expect(core.fork(root, child, 0x40_0000, 2, 2, 0x200, 0x20)).toBe(1);
    expect(counters[Counter.BAD_ENTRIES]).toBe(3);
    expect(core.destroyRoot(child)).toBe(Status.OK);
    expect(core.destroyRoot(root)).toBe(Status.OK);
  });

  it('a table that points at itself (or an alias freed on the way) never double-frees', () => {
    const { core, root, counters } = rig();
    expect(core.map(root, 0x40_0000, 1, 12, 0x7, 0, -1)).toBe(Status.OK);
    const pt = findPt(core, root, 0x40_0000);
    poke(core, pt, 5, pt * 4096 + 0x7, 0); // the PT maps itself as data (a good leaf: the frame is allocated)
    const free = core.freeFrames();
    expect(core.destroyRoot(root)).toBe(Status.OK);
    // Unmapping that leaf dropped the PT's only reference; the PD's entry then names a free
    // frame: a bad entry, cleared without a second unref. Data, PT, PD, PDPT and root are free.
    expect(counters[Counter.BAD_ENTRIES]).toBe(1);
    expect(core.freeFrames()).toBe(free + 5);
    expect(core.refCount(pt)).toBe(0);
    expect(core.refCount(root)).toBe(0);
  });
});

/** The PT frame that holds the 4K leaf for `la` (walks the tables as the test wrote them). */
function findPt(core: Core, root: number, la: number): number {
  let t = root;
  for (let level = 4; level > 1; level--) {
    const idx = Math.floor(la / 2 ** (12 + 9 * (level - 1))) % 512;
    t = peekLo(core, t, idx) >>> 12;
  }
  return t;
}

describe.each(BACKENDS)('bad entries through the public API (%s)', (backend) => {
  it('0xff over a root entry, then destroy(): no crash, the bad entry is reported', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 8192, prot: 'rw' });
    p.write(a, [1, 2, 3]);
    const idx = Math.floor(a / 2 ** 39) % 512;
    m.physical.write(p.root + idx * 8, new Uint8Array(8).fill(0xff));
    p.destroy();
    expect(m.stats().badEntries).toBe(1);
    const q = m.createAddressSpace();
    const b = q.mmap({ length: 4096, prot: 'rw' });
    q.write(b, [9]);
    expect([...q.read(b, 1)]).toEqual([9]);
    m.dispose();
  });

  it('a leaf naming a frame past the end of RAM: destroy() leaves every reference count alone', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 4096, prot: 'rw' });
    p.write(a, [1]);
    let ptPa = p.root;
    for (let level = 4; level > 1; level--) {
      const idx = Math.floor(a / 2 ** (12 + 9 * (level - 1))) % 512;
      ptPa = (new DataView(m.physical.read(ptPa + idx * 8, 4).buffer).getUint32(0, true) >>> 12) * 4096;
    }
    const idx = Math.floor(a / 4096) % 512;
    const e = new Uint8Array(8);
    new DataView(e.buffer).setUint32(0, 0xfff0_0007, true);
    new DataView(e.buffer).setUint32(4, 0x000f_ffff, true);
    m.physical.write(ptPa + idx * 8, e);
    const used = m.physical.usedFrames;
    p.destroy();
    expect(m.stats().badEntries).toBe(1);
    expect(m.physical.usedFrames).toBe(used - 4); // PT, PD, PDPT and root go; the data frame stays with the leaf that lost it
    m.dispose();
  });
});

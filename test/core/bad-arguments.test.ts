/** The newer core operations refuse bad arguments with EINVAL on both backends, changing nothing. */
import { describe, expect, it } from 'vitest';
import { Status } from '../../src/core/constants.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { coreRig } from '../support/core-rig.js';

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

describe.each(makers)('core argument checks (%s)', (_name, make) => {
  const rig = () => {
    const { core, counters, result } = coreRig(make, 8 * 2 ** 20);
    const root = core.createRoot();
    return { core, root, counters, result };
  };

  it('traceBatch: positions and arrays out of range, reserved bits', () => {
    const { core, root, counters } = rig();
    core.setCr3(root, 0, false);
    const before = [...counters];
    const words = Uint32Array.of(0x1000, 0, 0x2000, 0);
    const out = new Float64Array(5);
    expect(core.traceBatch(words, 0, 3, 1, out)).toBe(Status.EINVAL); // 2 * end > words.length
    expect(core.traceBatch(words, 5, 2, 1, out)).toBe(Status.EINVAL); // start > 2 * end
    expect(core.traceBatch(words, -1, 2, 1, out)).toBe(Status.EINVAL);
    expect(core.traceBatch(words, 0.5, 2, 1, out)).toBe(Status.EINVAL);
    expect(core.traceBatch(words, 0, 2, 1, new Float64Array(4))).toBe(Status.EINVAL); // out too short
    expect(core.traceBatch(Uint32Array.of(0x1000, 0, 0x2000, 0x80000000), 0, 2, 1, out)).toBe(Status.EINVAL);
    expect([...out]).toEqual([0, 0, 0, 0, 0]);
    expect([...counters]).toEqual(before);
    // A valid call on an unmapped page faults at position 0, counting nothing completed.
    expect(core.traceBatch(words, 0, 2, 1, out)).toBe(0);
    expect(out[0]).toBe(0);
  });

  it('moveRange: bad root, unaligned, fractional, zero or overlapping ranges, the kernel half; a wrong type (native: TypeError, as every call)', () => {
    const { core, root } = rig();
    expect(core.map(root, 0x40_0000, 1, 12, 7, 0, -1)).toBe(0);
    const free0 = core.freeFrames();
    for (const [src, dst, n] of [
      [0x40_0000, 0x80_0000, 0],
      [0x40_0000, 0x80_0000, 1.5],
      [0x40_0001, 0x80_0000, 1],
      [0x40_0000, 0x80_0800, 1],
      [0x40_0000, 0x40_1000, 2], // overlapping
      [0x40_0000, 2 ** 47, 1], // kernel half
      [-4096, 0x80_0000, 1],
      [0x40_0000, 0x80_0000, NaN],
    ] as const) expect(core.moveRange(root, src, dst, n)).toBe(Status.EINVAL);
    expect(core.moveRange(core.totalFrames - 1, 0x40_0000, 0x80_0000, 1)).toBe(Status.EINVAL); // a free frame is no root
    if (core.backend === 'native') expect(() => core.moveRange(root, '0x400000' as unknown as number, 0x80_0000, 1)).toThrow(TypeError);
    expect(core.freeFrames()).toBe(free0);
    expect(core.translate(root, 0x40_0000)).toBe(Status.OK);
  });

  it('cowBreak and scanAccessed: bad root, unaligned or out-of-range addresses, bad mode; no leaf', () => {
    const { core, root } = rig();
    const free = core.freeFrames();
    expect(core.cowBreak(root, 0x1000, 2, 0, 0)).toBe(Status.EINVAL);
    expect(core.cowBreak(root, 0x1001, 0, 0, 0)).toBe(Status.EINVAL);
    expect(core.cowBreak(root + 1, 0x1000, 0, 0, 0)).toBe(Status.EINVAL);
    expect(core.cowBreak(root, 0x1000, 0, 0, 0)).toBe(Status.ENOENT);
    expect(core.scanAccessed(root, 0x1001, 1, false)).toBe(Status.EINVAL);
    expect(core.scanAccessed(root, 0x1000, 0, false)).toBe(Status.EINVAL);
    expect(core.scanAccessed(root, 2 ** 48 - 4096, 2, false)).toBe(Status.EINVAL);
    expect(core.scanAccessed(root + 1, 0x1000, 1, true)).toBe(Status.EINVAL);
    expect(core.scanAccessed(root, 0x1000, 16, false)).toBe(0);
    expect(core.freeFrames()).toBe(free);
  });

  it('cowBreak on a 2 MiB leaf is EINVAL (the caller splits first); ENOMEM changes nothing', () => {
    const { core, root, result } = rig();
    expect(core.map(root, 0x20_0000, 1, 21, 0x7, 0, -1)).toBe(Status.OK);
    expect(core.cowBreak(root, 0x20_0000, 0, 0x7, 0)).toBe(Status.EINVAL);
    expect(core.map(root, 0x40_0000, 1, 12, 0x7, 0, -1)).toBe(Status.OK);
    const held: number[] = [];
    for (let f = core.allocFrame(); f >= 0; f = core.allocFrame()) held.push(f);
    expect(core.translate(root, 0x40_0000)).toBe(Status.OK);
    const entry = [...result];
    expect(core.cowBreak(root, 0x40_0000, 0, 0x7, 0)).toBe(Status.ENOMEM);
    expect(core.translate(root, 0x40_0000)).toBe(Status.OK);
    expect([...result]).toEqual(entry); // same frame, same bits
    for (const f of held) core.unrefFrame(f);
  });
});

/** Core.refCountList: the counts refCount gives, for a whole list in one call; a refused list writes nothing. */
import { describe, expect, it } from 'vitest';
import { Status } from '../../src/core/constants.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import { coreRig } from '../support/core-rig.js';

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

describe.each(makers)('refCountList (%s)', (_name, make) => {
  it('gives every frame its reference count (free frames 0, frame 0 one)', () => {
    const { core } = coreRig(make, 4 * 2 ** 20, 0x1f, 8, 4);
    const a = core.allocFrame();
    const b = core.allocFrame();
    core.refFrame(b);
    core.refFrame(b);
    const free = core.allocFrame();
    core.unrefFrame(free);
    const list = Float64Array.of(a, b, free, 0, a);
    const out = new Float64Array(5);
    expect(core.refCountList(list, 5, out)).toBe(Status.OK);
    expect([...out]).toEqual([1, 3, 0, 1, 1]);
    expect([...out]).toEqual([...list].map((f) => core.refCount(f)));
    // count 0 is a list of nothing.
    expect(core.refCountList(list, 0, new Float64Array(0))).toBe(Status.OK);
  });

  it('refuses a frame beyond RAM, a fractional or negative frame, a count beyond either array: nothing written', () => {
    const { core } = coreRig(make, 4 * 2 ** 20, 0x1f, 8, 4);
    const a = core.allocFrame();
    const total = core.totalFrames;
    for (const [list, count, outLen] of [
      [Float64Array.of(a, total), 2, 2],
      [Float64Array.of(a, 1.5), 2, 2],
      [Float64Array.of(-1), 1, 1],
      [Float64Array.of(a), 2, 2],
      [Float64Array.of(a, a), 2, 1],
      [Float64Array.of(a), -1, 1],
      [Float64Array.of(a), 0.5, 1],
    ] as const) {
      const out = new Float64Array(outLen).fill(-7);
      expect(core.refCountList(list, count, out)).toBe(Status.EINVAL);
      expect([...out].every((v) => v === -7)).toBe(true);
    }
  });
});

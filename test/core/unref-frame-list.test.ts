/** Core.unrefFrameList: unrefFrame for a whole list in one call, all or nothing. */
import { describe, expect, it } from 'vitest';
import { Status } from '../../src/core/constants.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import { coreRig } from '../support/core-rig.js';

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

/** Reference counts of frames 0..n and the free count: what a list's refusal must leave alone. */
function state(core: Core, n: number): number[] {
  const out: number[] = [core.freeFrames()];
  for (let f = 0; f < n; f++) out.push(core.refCount(f));
  return out;
}

describe.each(makers)('unrefFrameList (%s)', (_name, make) => {
  it('drops one reference per listing (a frame listed as often as it is referenced), frees what reaches 0, and returns how many were freed', () => {
    const { core } = coreRig(make, 4 * 2 ** 20, 0x1f, 8, 4);
    const a = core.allocFrame();
    const b = core.allocFrame();
    const c = core.allocFrame();
    core.refFrame(b);
    core.refFrame(c);
    const free = core.freeFrames();
    expect(core.unrefFrameList(Float64Array.of(a, b, c, b), 4)).toBe(2);
    expect([core.refCount(a), core.refCount(b), core.refCount(c)]).toEqual([0, 0, 1]);
    expect(core.freeFrames()).toBe(free + 2);
    // Freed frames are found again, lowest first, as after unrefFrame.
    expect(core.allocFrame()).toBe(Math.min(a, b));
    // Only the first `count` entries count; count 0 frees nothing.
    expect(core.unrefFrameList(Float64Array.of(c, c), 1)).toBe(1);
    expect(core.refCount(c)).toBe(0);
    expect(core.unrefFrameList(new Float64Array(0), 0)).toBe(0);
  });

  it('leaves the same frames, counts and free list as unrefFrame one frame at a time', () => {
    const one = coreRig(make, 4 * 2 ** 20, 0x1f, 8, 4).core;
    const list = coreRig(make, 4 * 2 ** 20, 0x1f, 8, 4).core;
    const frames: number[] = [];
    for (const core of [one, list]) {
      frames.length = 0;
      for (let i = 0; i < 40; i++) frames.push(core.allocFrame());
      for (let i = 0; i < 40; i += 3) core.refFrame(frames[i]!);
    }
    const victims = frames.filter((_, i) => i % 2 === 0 || i % 3 === 0);
    for (const f of victims) one.unrefFrame(f);
    expect(list.unrefFrameList(Float64Array.from(victims), victims.length)).toBe(victims.filter((f) => one.refCount(f) === 0).length);
    expect(state(list, 64)).toEqual(state(one, 64));
    expect(list.allocFrame()).toBe(one.allocFrame());
  });

  it('refuses a free frame, frame 0, a frame beyond RAM, a fractional or negative one, a frame listed too often, a bad count: nothing changed', () => {
    const { core } = coreRig(make, 4 * 2 ** 20, 0x1f, 8, 4);
    const a = core.allocFrame();
    const b = core.allocFrame();
    const gone = core.allocFrame();
    core.unrefFrame(gone);
    const total = core.totalFrames;
    const before = state(core, 16);
    for (const [list, count] of [
      [Float64Array.of(a, gone), 2],
      [Float64Array.of(a, 0), 2],
      [Float64Array.of(a, total), 2],
      [Float64Array.of(a, 1.5), 2],
      [Float64Array.of(a, -1), 2],
      [Float64Array.of(a, b, a), 3],
      [Float64Array.of(a), 2],
      [Float64Array.of(a), -1],
      [Float64Array.of(a), 0.5],
    ] as const) {
      expect(core.unrefFrameList(list, count)).toBe(Status.EINVAL);
      expect(state(core, 16)).toEqual(before);
    }
  });
});

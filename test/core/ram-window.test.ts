/** ramWindow: 2 MiB views of RAM on both backends, the same bytes as ramChunk's, bad indices refused. */
import { describe, expect, it } from 'vitest';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { coreRig } from '../support/core-rig.js';

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

describe.each(makers)('ramWindow (%s)', (_name, make) => {
  it('views window i of RAM: writes through it are the chunk bytes, the last window is partial', () => {
    // 5 MiB: windows 0 and 1 are whole, window 2 holds the last 1 MiB.
    const { core } = coreRig(make, 5 * 2 ** 20);
    const chunk = core.ramChunk(0);
    const w1 = core.ramWindow(1);
    expect(w1.length).toBe(2 ** 21);
    expect(core.ramWindow(2).length).toBe(2 ** 20);
    w1[4096 + 7] = 0xab;
    expect(chunk[2 ** 21 + 4096 + 7]).toBe(0xab);
    chunk[2 * 2 ** 21 + 3] = 0xcd;
    expect(core.ramWindow(2)[3]).toBe(0xcd);
  });

  it('refuses an index past the end, negative or fractional', () => {
    const { core } = coreRig(make, 4 * 2 ** 20);
    for (const i of [2, -1, 0.5, Number.NaN]) expect(() => core.ramWindow(i)).toThrow(RangeError);
    expect(core.ramWindow(1).length).toBe(2 ** 21);
  });
});

import { describe, expect, it } from 'vitest';
import { nativeAvailable, nativeLoadError } from '../../src/core/native-core.js';
import { Machine } from '../../src/index.js';

describe('native addon', () => {
  it.skipIf(process.env.VMSIM_ALLOW_NO_NATIVE === '1')('is built and loads (npm install compiles it)', () => {
    expect(nativeLoadError()).toBeUndefined();
    expect(nativeAvailable()).toBe(true);
    expect(new Machine({ memory: '4MiB' }).backend).toBe('native');
  });

  it('a machine with backend js never loads native code paths', () => {
    expect(new Machine({ memory: '4MiB', backend: 'js' }).backend).toBe('js');
  });
});

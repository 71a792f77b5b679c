/** Loads the C++ addon (built by node-gyp at install) without throwing at import time. */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Core, CoreConfig } from './core.js';

interface NativeBinding {
  NativeCore: new (memoryBytes: number, features: number, tlb: unknown, counters: Float64Array, result: Float64Array) => Core & { totalFrames: number };
}

let binding: NativeBinding | undefined;
let loadError: Error | undefined;

function load(): NativeBinding | undefined {
  if (binding || loadError) return binding;
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeBinding;
    // src/core/ and dist/core/ are both two levels below the package root.
    binding = nodeGypBuild(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  } catch (e) {
    loadError = e instanceof Error ? e : new Error(String(e));
  }
  return binding;
}

/** True when the native addon loaded. */
export function nativeAvailable(): boolean {
  return load() !== undefined;
}

/** Why the addon did not load, or undefined. */
export function nativeLoadError(): Error | undefined {
  load();
  return loadError;
}

/** Builds the native core; throws when the addon is unavailable. */
export function createNativeCore(config: CoreConfig): Core {
  const b = load();
  if (!b) throw loadError ?? new Error('native addon unavailable');
  return new b.NativeCore(config.memoryBytes, config.features, config.tlb, config.counters, config.result);
}

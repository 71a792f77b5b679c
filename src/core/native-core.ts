/** Loads the C++ addon (built by node-gyp at install) without throwing at import time. */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import type { Core, CoreConfig } from './core.js';
import { VmmError } from '../errors.js';

interface NativeBinding {
  createCore(memoryBytes: number, features: number, tlb: unknown, counters: Float64Array, result: Float64Array, eagerHostMemory: boolean): Core;
}

let binding: NativeBinding | undefined;
let loadError: Error | undefined;

function load(): NativeBinding | undefined {
  if (binding || loadError) return binding;
  try {
    const require = createRequire(import.meta.url);
    // VMSIM_NATIVE_ADDON names another build of the same sources (the sanitizer build: scripts/sanitize.sh).
    const override = process.env.VMSIM_NATIVE_ADDON;
    if (override) binding = require(override) as NativeBinding;
    else binding = (require('node-gyp-build') as (dir: string) => NativeBinding)(packageRoot());
  } catch (e) {
    loadError = e instanceof Error ? e : new Error(String(e));
  }
  return binding;
}

/** The directory holding binding.gyp, found by walking up (src/, dist/ and dist-bench/ layouts differ). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(`${dir}/binding.gyp`)) return dir;
    dir = dirname(dir);
  }
  throw new Error('vmsim: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
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
  try {
    return b.createCore(config.memoryBytes, config.features, config.tlb, config.counters, config.result, config.eagerHostMemory === true);
  } catch (e) {
    // The addon marks host-allocation failures with an errno code (no VmmError class in C++).
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOMEM') throw new VmmError('ENOMEM', (e as Error).message);
    throw e;
  }
}

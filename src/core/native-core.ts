/** Loads the C++ addon (built by node-gyp at install) without throwing at import time. */
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import type { Core, CoreConfig } from './core.js';
import type { RamImage } from './core-state.js';
import { VmmError } from '../errors.js';
import { packageRoot } from '../package-info.js';

interface NativeBinding {
  createCore(memoryBytes: number, features: number, tlb: unknown, counters: Float64Array, result: Float64Array, eagerHostMemory: boolean, otherCpus: unknown, from: unknown): Core;
  ramImageRead(image: unknown, pfn: number, count: number, out: Uint8Array): void;
  ramImageRelease(image: unknown): void;
  /** flock(2) LOCK_EX|LOCK_NB (lock) or LOCK_UN on `fd`: '' or the errno's name. */
  flock?(fd: number, lock: boolean): string;
  lackeyScan?: LackeyScanFn;
}

/**
 * The native lackey scanner (native/lackey_scan.cc): parses whole lines of buf[pos, end) in
 * lackey's own two shapes into packed records at words[2 * count ...] (up to cap), stops before
 * a line of any other shape; returns where it stopped and sets out[0] to the new count.
 */
export type LackeyScanFn = (buf: Uint8Array, pos: number, end: number, words: Uint32Array, count: number, cap: number, out: Float64Array) => number;

interface NodeGypBuild {
  (dir: string): NativeBinding;
  /** The addon file node-gyp-build would load (a prebuild or build/Release). */
  resolve(dir: string): string;
}

let binding: NativeBinding | undefined;
let loadError: Error | undefined;
let loadedFrom: string | undefined;

function load(): NativeBinding | undefined {
  if (binding || loadError) return binding;
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
    const dir = packageRoot();
    // VMSIM_NATIVE_ADDON names another build of the same sources (the sanitizer build: scripts/sanitize.sh).
    const override = process.env.VMSIM_NATIVE_ADDON;
    if (override) {
      loadedFrom = override;
      binding = require(override) as NativeBinding;
    } else {
      loadedFrom = relative(dir, nodeGypBuild.resolve(dir));
      binding = nodeGypBuild(dir);
    }
  } catch (e) {
    loadError = e instanceof Error ? e : new Error(String(e));
  }
  return binding;
}

/** The addon file that loaded, relative to the package (e.g. 'prebuilds/linux-x64/vmsim.node'), or undefined. */
export function nativeAddonPath(): string | undefined {
  return load() ? loadedFrom : undefined;
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

/** The native lackey scanner, or undefined without the addon (or an addon built before it). */
export function nativeLackeyScan(): LackeyScanFn | undefined {
  return load()?.lackeyScan;
}

/** Builds the native core; throws when the addon is unavailable. */
export function createNativeCore(config: CoreConfig): Core {
  const b = load();
  if (!b) throw loadError ?? new Error('native addon unavailable');
  try {
    return b.createCore(config.memoryBytes, config.features, config.tlb, config.counters, config.result, config.eagerHostMemory === true, config.otherCpus, config.from);
  } catch (e) {
    // The addon marks host-allocation failures with an errno code (no VmmError class in C++).
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOMEM') throw new VmmError('ENOMEM', (e as Error).message);
    throw e;
  }
}

/** The native core's RAM image (a capture's `ram`) as a RamImage. */
export function nativeRamImage(handle: unknown): RamImage {
  const b = load();
  if (!b) throw loadError ?? new Error('native addon unavailable');
  return {
    read: (pfn, count, out) => b.ramImageRead(handle, pfn, count, out),
    release: () => b.ramImageRelease(handle),
  };
}

/**
 * An exclusive non-blocking flock(2) on `fd` (`lock`), or its release: '' on success, else the
 * errno's name ('EWOULDBLOCK': held elsewhere); undefined when the addon (or its flock) is unavailable.
 */
export function nativeFlock(fd: number, lock: boolean): string | undefined {
  const b = load();
  return b?.flock ? b.flock(fd, lock) : undefined;
}

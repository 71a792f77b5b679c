/** The browser's stand-in for src/core/native-core.ts: there is no addon, so 'auto' picks the js core. */
import type { Core, CoreConfig } from '../../src/core/core.js';
import type { RamImage } from '../../src/core/core-state.js';
import { VmmError } from '../../src/errors.js';

const WHY = new Error('a browser has no native addon; the page runs the pure-TypeScript core');

/** Never: the addon does not exist in a browser. */
export function nativeAvailable(): boolean {
  return false;
}

/** Why the addon is not there. */
export function nativeLoadError(): Error | undefined {
  return WHY;
}

/** No addon file. */
export function nativeAddonPath(): string | undefined {
  return undefined;
}

/** Refuses: ENOSYS, as createCore('native') does where the addon cannot load. */
export function createNativeCore(_config: CoreConfig): Core {
  throw new VmmError('ENOSYS', `backend 'native' is not available: ${WHY.message}`);
}

/** No addon to lock with (a browser has no swap file either). */
export function nativeFlock(_fd: number, _lock: boolean): string | undefined {
  return undefined;
}

/** Never called: only a native core's snapshot has a native RAM image. */
export function nativeRamImage(_handle: unknown): RamImage {
  throw new VmmError('ENOSYS', `no native RAM image: ${WHY.message}`);
}

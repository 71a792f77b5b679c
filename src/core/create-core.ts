/** Picks and builds a backend. */
import type { Core, CoreConfig } from './core.js';
import { createRefCore as createJsCore } from './ref/ref-core.js';
import { createNativeCore, nativeAvailable, nativeLoadError } from './native-core.js';
import { VmmError } from '../errors.js';

/** Builds the requested backend; 'auto' prefers native. ENOSYS when native is asked for and cannot load. */
export function createCore(backend: 'native' | 'js' | 'auto', config: CoreConfig): Core {
  if (backend === 'js') return createJsCore(config);
  if (nativeAvailable()) return createNativeCore(config);
  if (backend === 'auto') return createJsCore(config);
  throw new VmmError('ENOSYS', `backend 'native' is not available: ${nativeLoadError()?.message ?? 'the addon did not load'}`);
}

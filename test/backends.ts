/** The backends every behavioural test runs on. CI requires the native addon unless VMSIM_ALLOW_NO_NATIVE=1. */
import { nativeAvailable } from '../src/core/native-core.js';

/** Backends to test: always 'js', plus 'native' when the addon is built. */
export const BACKENDS: ('js' | 'native')[] = nativeAvailable() ? ['js', 'native'] : ['js'];

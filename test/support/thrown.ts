/** The error a call throws: tests of error paths look at it whole (class, code, cause). */
import { VmmError } from '../../src/errors.js';

/** What `f` throws; fails the test when it returns instead. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** The errno code of the VmmError `f` throws, or undefined when it returns (anything else it throws is rethrown). */
export function errnoOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof VmmError) return e.code;
    throw e;
  }
  return undefined;
}

/** The error a call throws: tests of error paths look at it whole (class, code, cause). */

/** What `f` throws; fails the test when it returns instead. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** Typed arrays the native core may keep pointers into. */

/**
 * A zeroed typed array of `n` elements on a SharedArrayBuffer: such a buffer cannot be detached
 * or transferred (structuredClone/postMessage share it, ArrayBuffer.prototype.transfer does not
 * apply), so the native core's pointers into it stay valid for the core's whole life, whatever a
 * caller does with the array. Element access costs the same as on an ArrayBuffer.
 */
export function undetachable<T>(Ctor: { new (b: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number }, n: number): T {
  return new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT));
}

/**
 * `SharedArrayBuffer` for the bundle (esbuild's inject replaces the global name with this).
 * Browsers expose the real one only to cross-origin-isolated pages, and a page opened from a
 * file is not one. The library puts the TLB arrays on it so that the *native* core's pointers
 * stay valid; the js core keeps none, so a plain ArrayBuffer does. The subclass keeps the
 * library's `buf instanceof SharedArrayBuffer` tests meaning "one of the machine's own buffers".
 */
class MachineBuffer extends ArrayBuffer {}

export { MachineBuffer as SharedArrayBuffer };

/** A swap area whose nth write fails, as a swap file's I/O error would (tests of "a failed operation changes nothing"). */
import type { SwapArea } from '../../src/reclaim/swap-area.js';

/** Makes the `nth` write from now throw an EIO Error; returns a function that restores the real write. */
export function failNthWrite(swap: SwapArea, nth: number): () => void {
  const write = swap.write.bind(swap);
  let writes = 0;
  swap.write = (...args: Parameters<typeof write>) => {
    if (++writes === nth) throw new Error('EIO (simulated)');
    return write(...args);
  };
  return () => {
    swap.write = write;
  };
}

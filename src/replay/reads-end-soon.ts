/** Whether a read of a trace input ends soon, so that an abort can wait for it and leave nothing open. */
import { stat } from 'node:fs/promises';

/**
 * True for bytes, an in-memory iterable of chunks and a path to a regular file (or one that
 * cannot be opened: that fails at once); false for a FIFO, a device, a stream or an async
 * iterable, whose next read may wait for a writer indefinitely.
 */
export async function readsEndSoon(trace: unknown): Promise<boolean> {
  if (typeof trace === 'string') return stat(trace).then((s) => s.isFile(), () => true);
  if (trace instanceof Uint8Array) return true;
  return trace !== null && typeof trace === 'object' && !(Symbol.asyncIterator in trace) && typeof (trace as { pipe?: unknown }).pipe !== 'function';
}

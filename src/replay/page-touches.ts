/**
 * The page touches a replay makes, in order, without replaying: one per page a record
 * touches (two for a record that crosses a page boundary), user pages only — records below
 * mmap_min_addr or in the kernel half are refused by the VMM, so they touch nothing. These
 * are the references the engine reports to every-reference policies (hits, and the faults'
 * inserts), so they are OPT's future and Mattson's input.
 */
import { VmmError } from '../errors.js';
import { openTrace } from '../trace/trace-reader.js';

/** How a trace is read: told by its contents, or as ChampSim's records. */
export type ReplayFormat = 'auto' | 'champsim' | 'champsim-cloudsuite';
import type { TraceChunk } from '../trace/trace-record.js';
import { MMAP_MIN_ADDR, TASK_SIZE } from '../vmm/layout.js';
import { abortable, untilAborted } from '../abort.js';
import { readsEndSoon } from './reads-end-soon.js';

const TWO32 = 2 ** 32;

/** Where touches come from: a trace file path or its bytes, or chunks of packed records. */
export type TouchSource = string | Uint8Array | Iterable<TraceChunk> | AsyncIterable<TraceChunk>;

/** EINVAL unless `chunk` is { words: Uint32Array, count } with room for count records. */
export function checkChunk(chunk: TraceChunk): void {
  if (!chunk || !(chunk.words instanceof Uint32Array) || !Number.isInteger(chunk.count) || chunk.count < 0 || chunk.words.length < chunk.count * 2) {
    throw new VmmError('EINVAL', 'a trace chunk must be { words: Uint32Array, count } with words.length >= 2 * count');
  }
}

/** Calls `touch(vpn)` for each user page that records [0, count) of `words` touch, in order. */
export function chunkTouches(words: Uint32Array, count: number, touch: (vpn: number) => void): void {
  for (let i = 0; i < count; i++) {
    const hi = words[2 * i + 1]!;
    const la = (hi & 0xffff) * TWO32 + words[2 * i]!;
    if (la < MMAP_MIN_ADDR || la >= TASK_SIZE) continue;
    const first = Math.floor(la / 4096);
    const last = Math.floor((la + ((hi >>> 18) & 0xfff)) / 4096);
    touch(first);
    if (last !== first && last * 4096 < TASK_SIZE) touch(last);
  }
}

/** Reads `source` once and calls `touch(vpn)` for each page touch; `strict`, `onProgress` and `signal` as replay's. */
export async function traceTouches(source: TouchSource, touch: (vpn: number) => void, strict = false, onProgress?: (bytesRead: number, totalBytes: number | undefined) => void, signal?: AbortSignal, format?: ReplayFormat): Promise<void> {
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
    for await (const c of abortable(source, signal, !(Symbol.asyncIterator in source))) {
      checkChunk(c);
      chunkTouches(c.words, c.count, touch);
    }
    return;
  }
  const reader = await untilAborted(openTrace(source, { strict, ...(onProgress ? { onProgress } : {}), ...(format ? { format } : {}) }), signal, (r) => r.close(), signal !== undefined && (await readsEndSoon(source)));
  // A regular file's or bytes' reads end soon (an abort waits for one); a pipe's may not.
  const bounded = reader.totalBytes !== undefined;
  try {
    for await (const c of abortable(reader.chunks(), signal, bounded)) chunkTouches(c.words, c.count, touch);
  } finally {
    if (bounded) await reader.close();
    else void reader.close().catch(() => undefined);
  }
}

/** The page touches of `source` as virtual page numbers, in order. */
export async function pageTouches(source: TouchSource, strict = false, onProgress?: (bytesRead: number, totalBytes: number | undefined) => void, signal?: AbortSignal, format?: ReplayFormat): Promise<Float64Array> {
  let out = new Float64Array(1 << 16);
  let n = 0;
  await traceTouches(
    source,
    (v) => {
      if (n === out.length) {
        const g = new Float64Array(out.length * 2);
        g.set(out);
        out = g;
      }
      out[n++] = v;
    },
    strict,
    onProgress,
    signal,
    format,
  );
  return out.subarray(0, n);
}

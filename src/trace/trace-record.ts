/**
 * The packed trace record: one memory access in two little-endian uint32 words, lo then hi.
 * lo = low 32 bits of the 48-bit linear address; hi = address bits 32..47 | kind << 16 |
 * (size - 1) << 18, bits 30-31 zero. Chunks of these words go straight to Core.traceBatch,
 * so replay never allocates an object per access.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import type { TraceEvent } from './trace-events.js';

/** Access kinds as stored in a record (lackey letters: L, S, I, M). */
export const TraceKind = { LOAD: 0, STORE: 1, INSTR: 2, MODIFY: 3 } as const;

/** One of the TraceKind values. */
export type TraceKindValue = (typeof TraceKind)[keyof typeof TraceKind];

/** Largest access size a record can hold (12 bits of size - 1). */
export const MAX_ACCESS_SIZE = 4096;

/** Bytes per record on disk and in memory. */
export const RECORD_BYTES = 8;

/** Bits of the high word that must be zero in a valid record. */
export const RECORD_RESERVED_BITS = 0xc0000000;

const TWO32 = 4294967296;

/**
 * A batch of records: records 0..count-1 of `words` are valid (words.length >= 2 * count).
 * Readers reuse the buffer, so a chunk is valid only until the next one is requested.
 */
export interface TraceChunk {
  readonly words: Uint32Array;
  readonly count: number;
  /**
   * The events among the records (version-2 binary traces, ChampSim's CloudSuite address
   * spaces), in order; an event's `at` is how many of this chunk's records come before it. A
   * chunk may hold events and no record.
   */
  readonly events?: readonly TraceEvent[];
  /**
   * @internal Set only when the reader was opened with `deferRecordCheck`: the records are not
   * yet checked for reserved bits. A consumer that finds one calls this once; it checks and
   * compacts the chunk in place as the reader would have (skipping or throwing) and returns
   * the new count.
   */
  readonly recheck?: () => number;
}

/** Writes record `index` of `words`: a linear address 0 <= la < 2^48, a TraceKind 0..3 and a size 1..4096; EINVAL naming the argument otherwise. */
export function packRecord(words: Uint32Array, index: number, la: number, kind: number, size: number): void {
  // Public and never on a hot path (the readers pack records inline): every argument is checked.
  if (!(words instanceof Uint32Array)) throw new VmmError('EINVAL', `packRecord: words must be a Uint32Array, got ${describe(words)}`);
  if (!Number.isInteger(index) || index < 0 || index * 2 + 1 >= words.length) throw new VmmError('EINVAL', `packRecord: index must be an integer in [0, ${words.length >> 1}), got ${describe(index)}`);
  if (!Number.isInteger(la) || la < 0 || la >= 2 ** 48) throw new VmmError('EINVAL', `packRecord: la must be an integer in [0, 2^48), got ${describe(la)}`);
  if (kind !== 0 && kind !== 1 && kind !== 2 && kind !== 3) throw new VmmError('EINVAL', `packRecord: kind must be a TraceKind (0 load, 1 store, 2 instruction, 3 modify), got ${describe(kind)}`);
  if (!Number.isInteger(size) || size < 1 || size > MAX_ACCESS_SIZE) throw new VmmError('EINVAL', `packRecord: size must be an integer in [1, ${MAX_ACCESS_SIZE}], got ${describe(size)}`);
  const i = index * 2;
  words[i] = la % TWO32;
  words[i + 1] = (Math.floor(la / TWO32) & 0xffff) | ((kind & 3) << 16) | (((size - 1) & 0xfff) << 18);
}

/** The 48-bit linear address of record `index` (exact as a number). */
export function recordLa(words: Uint32Array, index: number): number {
  return (words[index * 2 + 1]! & 0xffff) * TWO32 + words[index * 2]!;
}

/** The TraceKind of record `index`. */
export function recordKind(words: Uint32Array, index: number): number {
  return (words[index * 2 + 1]! >>> 16) & 3;
}

/** The access size in bytes (1..4096) of record `index`. */
export function recordSize(words: Uint32Array, index: number): number {
  return ((words[index * 2 + 1]! >>> 18) & 0xfff) + 1;
}

/**
 * A compressed pool in front of the swap device, like Linux's zswap. A page being swapped out
 * keeps its swap slot (zswap entries are keyed by it) but its bytes go to the pool instead of
 * the device: a page that is one 8-byte word repeated is kept as that pattern alone
 * (same_filled_pages); any other page is compressed with raw DEFLATE at level 1 from Node's
 * built-in zlib — no dependency, deterministic output for a given zlib, and on this machine
 * about 4–5x on typical program data at tens of microseconds per page (see docs/reclaim.md).
 * A page that does not compress below a page is refused (reject_compress_poor). The pool's
 * compressed bytes are limited to max_pool_percent of memory; once the limit is reached the
 * pool refuses pages until it is back under accept_threshold_percent of it, and writes its
 * oldest entries back to the device (zswpwb) to get there, as Linux's shrink worker does.
 * Loads are exclusive (the entry is freed and the page comes back dirty), as since Linux 6.9.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { PAGE_SIZE } from '../address.js';
import { VmmError } from '../errors.js';

/** zswap's parameters (the module parameters of the same names). */
export interface ZswapOptions {
  /** Pool limit in percent of memory (default 20, Linux's max_pool_percent). */
  maxPoolPercent?: number;
  /** After hitting the limit, accept again below this percent of it (default 90). */
  acceptThresholdPercent?: number;
}

/** Counters of the pool, named after /sys/kernel/debug/zswap and /proc/vmstat. */
export interface ZswapStats {
  /** Pages in the pool. */
  stored_pages: number;
  /** Of them, kept as a repeated word. */
  same_filled_pages: number;
  /** Compressed bytes held (pool_total_size). */
  pool_total_size: number;
  /** Pages stored / loaded / written back to the device. */
  zswpout: number;
  zswpin: number;
  zswpwb: number;
  /** Stores refused because the pool was at its limit, or because the page did not compress. */
  reject_reclaim_fail: number;
  reject_compress_poor: number;
  /** stored_pages * 4096 / pool_total_size (1 when empty; same-filled pages count as 8 bytes). */
  compression_ratio: number;
}

type Entry = Uint8Array | bigint;

/** The compressed pool. `writeBack(slot, bytes)` stores a page on the device when the pool sheds it. */
export class Zswap {
  private readonly entries = new Map<number, Entry>();
  private readonly limit: number;
  private readonly acceptBelow: number;
  private full = false;
  private bytes = 0;
  private sameFilled = 0;
  private readonly counts = { zswpout: 0, zswpin: 0, zswpwb: 0, reject_reclaim_fail: 0, reject_compress_poor: 0 };
  private readonly page = new Uint8Array(PAGE_SIZE);

  constructor(
    memoryBytes: number,
    options: ZswapOptions,
    private readonly writeBack: (slot: number, bytes: Uint8Array) => void,
  ) {
    const max = options.maxPoolPercent ?? 20;
    const acc = options.acceptThresholdPercent ?? 90;
    if (!Number.isInteger(max) || max < 1 || max > 100) throw new VmmError('EINVAL', `zswap.maxPoolPercent must be an integer from 1 to 100, got ${String(max)}`);
    if (!Number.isInteger(acc) || acc < 1 || acc > 100) throw new VmmError('EINVAL', `zswap.acceptThresholdPercent must be an integer from 1 to 100, got ${String(acc)}`);
    this.limit = Math.floor((memoryBytes * max) / 100);
    this.acceptBelow = Math.floor((this.limit * acc) / 100);
  }

  /** Takes the page's bytes for `slot`; false when refused (the caller writes it to the device). */
  store(slot: number, bytes: Uint8Array, offset = 0): boolean {
    const page = bytes.subarray(offset, offset + PAGE_SIZE);
    if (this.full && this.bytes >= this.acceptBelow) {
      this.counts.reject_reclaim_fail++;
      return false;
    }
    this.full = false;
    const pattern = sameFilled(page);
    let entry: Entry;
    let size: number;
    if (pattern !== undefined) {
      entry = pattern;
      size = 8;
    } else {
      const c = deflateRawSync(page, { level: 1 });
      if (c.length >= PAGE_SIZE) {
        this.counts.reject_compress_poor++;
        return false;
      }
      entry = new Uint8Array(c.buffer, c.byteOffset, c.length);
      size = c.length;
    }
    if (this.bytes + size > this.limit) {
      this.full = true;
      this.counts.reject_reclaim_fail++;
      this.shrink();
      return false;
    }
    this.invalidate(slot);
    this.entries.set(slot, entry);
    this.bytes += size;
    if (typeof entry === 'bigint') this.sameFilled++;
    this.counts.zswpout++;
    return true;
  }

  /** True when `slot`'s page is in the pool. */
  has(slot: number): boolean {
    return this.entries.has(slot);
  }

  /** Decompresses `slot`'s page into `into` and, when `exclusive` (no other entry holds the slot), frees the entry; false when not in the pool. */
  load(slot: number, into: Uint8Array, offset = 0, exclusive = true): boolean {
    const e = this.entries.get(slot);
    if (e === undefined) return false;
    decode(e, into, offset);
    if (exclusive) this.invalidate(slot);
    this.counts.zswpin++;
    return true;
  }

  /** Drops `slot`'s entry (its swap slot was freed). */
  invalidate(slot: number): void {
    const e = this.entries.get(slot);
    if (e === undefined) return;
    this.entries.delete(slot);
    this.bytes -= typeof e === 'bigint' ? 8 : e.length;
    if (typeof e === 'bigint') this.sameFilled--;
  }

  /** The pool's counters. */
  stats(): ZswapStats {
    const n = this.entries.size;
    return {
      stored_pages: n,
      same_filled_pages: this.sameFilled,
      pool_total_size: this.bytes,
      ...this.counts,
      compression_ratio: this.bytes === 0 ? 1 : (n * PAGE_SIZE) / this.bytes,
    };
  }

  /** Writes the oldest entries back to the device until the pool is under the accept threshold. */
  private shrink(): void {
    for (const [slot, e] of this.entries) {
      if (this.bytes < this.acceptBelow) break;
      decode(e, this.page, 0);
      // Written first, then dropped: a writeback that fails (the device full) keeps the page here.
      this.writeBack(slot, this.page);
      this.invalidate(slot);
      this.counts.zswpwb++;
    }
  }
}

/** The repeated 8-byte word of a same-filled page, or undefined. */
function sameFilled(page: Uint8Array): bigint | undefined {
  if (page.byteOffset % 4 !== 0) return undefined; // vmsim's page buffers are aligned; others just compress
  const w = new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / 4);
  const a = w[0]!;
  const b = w[1]!;
  for (let i = 2; i < w.length; i += 2) if (w[i] !== a || w[i + 1] !== b) return undefined;
  return (BigInt(b) << 32n) | BigInt(a);
}

function decode(e: Entry, into: Uint8Array, offset: number): void {
  if (typeof e === 'bigint') {
    const v = new DataView(into.buffer, into.byteOffset + offset, PAGE_SIZE);
    for (let i = 0; i < PAGE_SIZE; i += 8) v.setBigUint64(i, e, true);
    return;
  }
  const out = inflateRawSync(e);
  into.set(out, offset);
}

/**
 * A swap device: page-sized slots holding the bytes of evicted pages. Held in host memory by
 * default (allocated a megabyte at a time as slots are first written, so an unused device
 * costs nothing), or in a real file for experiments larger than host RAM. A file gets the
 * header mkswap writes (version 1, last_page, "SWAPSPACE2" at the end of page 0), so
 * `file(1)` recognises it as a Linux swap file.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readSync, statSync, statfsSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { totalmem } from 'node:os';
import { VmmError } from '../errors.js';
import { PAGE_SIZE } from '../address.js';
import { SwapSlots } from './swap-slots.js';
import { isZeroPage } from './zero-page.js';

/** The core's copy of frames[start, +count) to dst at dstOffset, all-zero frames flagged in zero[] (Frames.copyOut). */
export type FrameCopy = (frames: Float64Array, start: number, count: number, dst: Uint8Array, dstOffset: number, zero: Uint8Array) => void;

/** Slots per host-memory chunk (1 MiB). */
const CHUNK_PAGES = 256;
const MAGIC = 'SWAPSPACE2';

/** Where a device keeps its pages. */
export interface SwapDeviceOptions {
  /** Bytes (a multiple of 4096, at least two pages). */
  size: number;
  /** Path of a swap file to create (default: host memory). An existing file is overwritten only if it already is a swap file. */
  file?: string;
}

/** The slots and their storage. */
export class SwapDevice {
  readonly slots: SwapSlots;
  /** The swap file's path, if it has one. */
  readonly file: string | undefined;
  private readonly chunks: Array<Uint8Array | undefined> = [];
  /**
   * Slots (in host memory) whose page was all zeros: no copy kept. A machine's untouched pages
   * are zero, and copying them would commit host memory for nothing (a host page fault per page).
   */
  private zeros: Uint8Array | undefined;
  private fd = -1;
  private zeroOut = new Uint8Array(64);
  private stage = new Uint8Array(0);

  constructor(options: SwapDeviceOptions) {
    const { size, file } = options;
    if (!Number.isSafeInteger(size) || size % PAGE_SIZE !== 0 || size < 2 * PAGE_SIZE) {
      throw new VmmError('EINVAL', `swap size must be a whole number of 4 KiB pages, at least 2 (the header and one slot), got ${size} bytes`);
    }
    this.file = file;
    if (file === undefined) {
      if (size > totalmem()) throw new VmmError('ENOMEM', `swap size ${size} bytes is larger than this host's memory (${totalmem()} bytes); give swap.file to keep it on disk`);
      this.slots = new SwapSlots(size / PAGE_SIZE);
      this.zeros = new Uint8Array(this.slots.pages);
      return;
    }
    if (typeof file !== 'string' || file === '') throw new VmmError('EINVAL', `swap.file must be a path, got ${String(file)}`);
    if (existsSync(file) && statSync(file).size > 0 && !isSwapFile(file)) {
      throw new VmmError('EEXIST', `swap.file ${file} exists and is not a swap file; refusing to overwrite it`);
    }
    let free: number;
    try {
      const fs = statfsSync(existsSync(file) ? file : dirname(file));
      free = fs.bavail * fs.bsize;
    } catch (e) {
      throw new VmmError('ENOENT', `swap.file ${file}: ${(e as Error).message}`);
    }
    // The file is sparse, but a device that could never be filled is refused up front.
    if (size > free + (existsSync(file) ? statSync(file).size : 0)) throw new VmmError('ENOMEM', `swap size ${size} bytes is larger than the free space where ${file} lives (${free} bytes)`);
    this.slots = new SwapSlots(size / PAGE_SIZE);
    this.fd = openSync(file, 'w+');
    ftruncateSync(this.fd, size);
    writeSync(this.fd, header(this.slots.pages), 0, PAGE_SIZE, 0);
  }

  /** Bytes of the device, header page included. */
  get size(): number {
    return this.slots.pages * PAGE_SIZE;
  }

  /** Stores one page's bytes (`page`, 4096 bytes from `offset`) in `slot`. */
  write(slot: number, page: Uint8Array, offset = 0): void {
    if (this.fd >= 0) {
      writeSync(this.fd, page, offset, PAGE_SIZE, slot * PAGE_SIZE);
      return;
    }
    const zeros = this.zeros!;
    if (isZeroPage(page, offset)) {
      zeros[slot] = 1;
      return;
    }
    zeros[slot] = 0;
    const c = slot / CHUNK_PAGES | 0;
    let chunk = this.chunks[c];
    if (!chunk) this.chunks[c] = chunk = new Uint8Array(CHUNK_PAGES * PAGE_SIZE);
    chunk.set(page.subarray(offset, offset + PAGE_SIZE), (slot % CHUNK_PAGES) * PAGE_SIZE);
  }

  /**
   * Stores the frames frames[0..count) in slots[0..count) (in-memory device only) through
   * `copy` — the core's copy of frames into a buffer, flagging all-zero frames — a run of
   * neighbouring slots of one chunk per call, with no view or JS copy per page.
   */
  writeFrames(slots: Float64Array, frames: Float64Array, count: number, copy: FrameCopy): void {
    if (this.fd >= 0) throw new VmmError('EINVAL', 'writeFrames: a file device takes its pages one by one (write)');
    if (this.zeroOut.length < count) this.zeroOut = new Uint8Array(Math.max(count, 2 * this.zeroOut.length));
    const zero = this.zeroOut;
    const zeros = this.zeros!;
    for (let i = 0; i < count; ) {
      const first = slots[i]!;
      const c = first / CHUNK_PAGES | 0;
      let j = i + 1;
      while (j < count && slots[j] === first + (j - i) && (slots[j]! / CHUNK_PAGES | 0) === c) j++;
      const at = (first - c * CHUNK_PAGES) * PAGE_SIZE;
      const chunk = this.chunks[c];
      if (chunk) copy(frames, i, j - i, chunk, at, zero);
      else {
        // No chunk yet: stage the run, and make the chunk only if a page is not zeros (zero pages commit nothing).
        if (this.stage.length < (j - i) * PAGE_SIZE) this.stage = new Uint8Array(Math.min(CHUNK_PAGES, Math.max(j - i, 2 * (this.stage.length / PAGE_SIZE))) * PAGE_SIZE);
        copy(frames, i, j - i, this.stage, 0, zero);
        let data = false;
        for (let k = i; k < j; k++) data ||= zero[k] === 0;
        if (data) (this.chunks[c] = new Uint8Array(CHUNK_PAGES * PAGE_SIZE)).set(this.stage.subarray(0, (j - i) * PAGE_SIZE), at);
      }
      for (let k = i; k < j; k++) zeros[slots[k]!] = zero[k]!;
      i = j;
    }
  }

  /** Reads `slot`'s bytes into `into` at `offset`. */
  read(slot: number, into: Uint8Array, offset = 0): void {
    if (this.fd >= 0) {
      readSync(this.fd, into, offset, PAGE_SIZE, slot * PAGE_SIZE);
      return;
    }
    const chunk = this.zeros![slot] === 1 ? undefined : this.chunks[slot / CHUNK_PAGES | 0];
    const at = (slot % CHUNK_PAGES) * PAGE_SIZE;
    if (chunk) into.set(chunk.subarray(at, at + PAGE_SIZE), offset);
    else into.fill(0, offset, offset + PAGE_SIZE);
  }

  /**
   * The host-memory chunk holding `slot`'s bytes (at `pageOffset(slot)`), so a reader can copy
   * them straight to where they go; undefined for a file device or a slot of zeros.
   */
  pageView(slot: number): Uint8Array | undefined {
    if (this.fd >= 0 || this.zeros![slot] === 1) return undefined;
    return this.chunks[slot / CHUNK_PAGES | 0];
  }

  /** The byte offset of `slot`'s page in its pageView. */
  pageOffset(slot: number): number {
    return (slot % CHUNK_PAGES) * PAGE_SIZE;
  }

  /** True when `slot` holds a page of zeros the device keeps no copy of (a reader whose target is zero already may skip the read). */
  holdsZeros(slot: number): boolean {
    return this.zeros !== undefined && this.zeros[slot] === 1;
  }

  /** Releases the storage (the file stays, as a swap file does). Idempotent. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.chunks.length = 0;
  }
}

/** Page 0 as mkswap writes it (union swap_header: info at 1024, magic in the last 10 bytes). */
function header(pages: number): Uint8Array {
  const h = new Uint8Array(PAGE_SIZE);
  const v = new DataView(h.buffer);
  v.setUint32(1024, 1, true); // version
  v.setUint32(1028, pages - 1, true); // last_page
  v.setUint32(1032, 0, true); // nr_badpages
  h.set(new TextEncoder().encode(MAGIC), PAGE_SIZE - MAGIC.length);
  return h;
}

function isSwapFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const tail = new Uint8Array(MAGIC.length);
    readSync(fd, tail, 0, MAGIC.length, PAGE_SIZE - MAGIC.length);
    return new TextDecoder().decode(tail) === MAGIC;
  } finally {
    closeSync(fd);
  }
}

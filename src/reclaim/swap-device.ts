/**
 * A swap device: page-sized slots holding the bytes of evicted pages. Held in host memory by
 * default (allocated a megabyte at a time as slots are first written, so an unused device
 * costs nothing), or in a real file for experiments larger than host RAM. A file gets the
 * header mkswap writes (version 1, last_page, "SWAPSPACE2" at the end of page 0), so
 * `file(1)` recognises it as a Linux swap file.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, statSync, statfsSync, writeSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { totalmem } from 'node:os';
import { VmmError, type ErrnoCode } from '../errors.js';
import { lockSwapFile, type SwapFileLock } from './swap-lock.js';
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
  /**
   * Path of a swap file to create (default: host memory). An existing file is overwritten only
   * if it already is a swap file and no other machine (in any process) uses it (else EBUSY).
   */
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
  private lock: SwapFileLock | undefined;
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
    const st = statOf(file);
    if (st) checkKind(st, file);
    if (st && st.size > 0 && !isSwapFile(file)) {
      throw new VmmError('EEXIST', `swap.file ${file} exists and is not a swap file; refusing to overwrite it`);
    }
    let free: number;
    try {
      const fs = statfsSync(st ? file : dirname(file));
      free = fs.bavail * fs.bsize;
    } catch (e) {
      throw new VmmError('ENOENT', `swap.file ${file}: ${(e as Error).message}`, { cause: e });
    }
    // The file is sparse, but a device that could never be filled is refused up front.
    if (size > free + (st?.size ?? 0)) throw new VmmError('ENOMEM', `swap size ${size} bytes is larger than the free space where ${file} lives (${free} bytes)`);
    this.slots = new SwapSlots(size / PAGE_SIZE);
    // No truncation before the lock is held (the file may be another machine's), and no open
    // that could block (a FIFO put there since the check): O_NONBLOCK, then the kind again.
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
    } catch (e) {
      throw hostError(e, `swap.file ${file}: cannot open it`);
    }
    try {
      checkKind(fstatSync(fd), file);
      this.lock = lockSwapFile(fd, file);
      try {
        ftruncateSync(fd, 0); // the old slots' contents go (as mkswap leaves none)
        ftruncateSync(fd, size);
        this.fd = fd;
        this.write(0, header(this.slots.pages));
      } catch (e) {
        this.fd = -1;
        this.lock.release();
        throw e;
      }
    } catch (e) {
      closeSync(fd);
      throw e instanceof VmmError ? e : hostError(e, `swap.file ${file}: cannot prepare it`);
    }
  }

  /** Bytes of the device, header page included. */
  get size(): number {
    return this.slots.pages * PAGE_SIZE;
  }

  /** Stores one page's bytes (`page`, 4096 bytes from `offset`) in `slot`. */
  write(slot: number, page: Uint8Array, offset = 0): void {
    if (this.fd >= 0) {
      let n: number;
      try {
        n = writeSync(this.fd, page, offset, PAGE_SIZE, slot * PAGE_SIZE);
      } catch (e) {
        throw hostError(e, `swap.file ${this.file}: writing slot ${slot} failed`);
      }
      if (n !== PAGE_SIZE) throw new VmmError('EIO', `swap.file ${this.file}: short write of slot ${slot} (${n} of ${PAGE_SIZE} bytes)`);
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
      let n: number;
      try {
        n = readSync(this.fd, into, offset, PAGE_SIZE, slot * PAGE_SIZE);
      } catch (e) {
        throw hostError(e, `swap.file ${this.file}: reading slot ${slot} failed`);
      }
      // Fewer bytes than a page: the file was cut under the machine (truncated by someone else). Never zeros.
      if (n !== PAGE_SIZE) throw new VmmError('EIO', `swap.file ${this.file}: short read of slot ${slot} (${n} of ${PAGE_SIZE} bytes; was the file truncated?)`);
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

  /** Releases the storage and the file (which stays, as a swap file does) for another machine. Idempotent. */
  close(): void {
    if (this.fd >= 0) {
      this.lock?.release();
      closeSync(this.fd);
    }
    this.fd = -1;
    this.lock = undefined;
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

/** The file's stat (following links), or undefined when there is none. */
function statOf(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw hostError(e, `swap.file ${file}: cannot stat it`);
  }
}

/** A swap file must be a regular file: a directory is EISDIR, a FIFO, device or socket EINVAL (swapon wants a regular file or a block device). */
function checkKind(st: Stats, file: string): void {
  if (st.isDirectory()) throw new VmmError('EISDIR', `swap.file ${file} is a directory; name a file in it`);
  if (!st.isFile()) throw new VmmError('EINVAL', `swap.file ${file} is not a regular file (a FIFO, device or socket cannot hold swap slots)`);
}

/** Errnos a host I/O error keeps as they are; any other is EIO. */
const KEPT: ReadonlySet<string> = new Set<ErrnoCode>(['ENOSPC', 'EACCES', 'EPERM', 'ENOENT', 'EISDIR', 'ENOMEM', 'EBUSY']);

/** A host I/O error as a VmmError: the errno when vmsim has it (ENOSPC, EACCES, ...), else EIO; the host's error is the cause. */
function hostError(e: unknown, what: string): VmmError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const errno = (code !== undefined && KEPT.has(code) ? code : 'EIO') as ErrnoCode;
  return new VmmError(errno, `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

function isSwapFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw hostError(e, `swap.file ${path}: cannot open it`);
  }
  try {
    const tail = new Uint8Array(MAGIC.length);
    readSync(fd, tail, 0, MAGIC.length, PAGE_SIZE - MAGIC.length);
    return new TextDecoder().decode(tail) === MAGIC;
  } catch (e) {
    throw hostError(e, `swap.file ${path}: cannot read it`);
  } finally {
    closeSync(fd);
  }
}

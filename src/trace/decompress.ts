/**
 * Compressed traces: the compression is told by the first bytes (never by the file name), and
 * each codec streams, so a trace of many gigabytes decompresses in constant memory.
 *   gzip  1f 8b              Node's zlib
 *   xz    fd 37 7a 58 5a 00  the system's `xz -dc` in a child process when there is one (liblzma
 *                            natively: 2.2x faster than the WebAssembly build here), else
 *                            xz-decompress (liblzma's decoder compiled to WebAssembly: no native
 *                            build, streams); either on a worker thread (xz-worker.ts)
 *   zstd  28 b5 2f fd        fzstd (pure JS; fed one block at a time here, so output streams a block at a time)
 * Formats vmsim does not read (bzip2, lz4, zip, 7z, lzma) are refused by name with what to do instead.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TraceFormatError } from './trace-error.js';
import { xzOnWorker } from './xz-worker.js';

/** A compression vmsim reads. */
export type Compression = 'gzip' | 'xz' | 'zstd';

const MAGIC: Array<{ name: Compression | 'bzip2' | 'lz4' | 'zip' | '7z' | 'lzma'; bytes: number[]; tool?: string }> = [
  { name: 'gzip', bytes: [0x1f, 0x8b] },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68], tool: 'bzip2 -dc' },
  { name: 'lz4', bytes: [0x04, 0x22, 0x4d, 0x18], tool: 'lz4 -dc' },
  { name: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04], tool: 'unzip -p' },
  { name: '7z', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], tool: '7z x -so' },
  { name: 'lzma', bytes: [0x5d, 0x00, 0x00], tool: 'xz --format=lzma -dc' },
];

/** Bytes needed to tell every compression apart. */
export const SNIFF_BYTES = 6;

/** The compression `head` starts with, or undefined; throws TraceFormatError for a compression vmsim does not read. */
export function detectCompression(head: Uint8Array, source: string): Compression | undefined {
  for (const m of MAGIC) {
    if (head.length < m.bytes.length || !m.bytes.every((b, i) => head[i] === b)) continue;
    if (m.tool === undefined) return m.name as Compression;
    throw new TraceFormatError(source, {}, `compressed with ${m.name}, which vmsim does not read (it reads gzip, xz and zstd); decompress it into a pipe: ${m.tool} ${source} | vmsim replay -`);
  }
  return undefined;
}

/** A decompressed byte stream and where in the compressed input an error was raised. */
export interface Decompressed {
  body: AsyncIterator<Buffer>;
  /** Compressed bytes the decoder had consumed (gzip), for error messages; undefined when unknown. */
  consumed(): number | undefined;
}

/** Streams `input` (compressed bytes) through the decoder for `kind`. */
export function decompress(kind: Compression, input: AsyncIterable<Buffer>, source: string): Decompressed {
  if (kind === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    // pipeline forwards read errors to gunzip and closes the input if gunzip is destroyed.
    pipeline(Readable.from(input, { objectMode: false }), gunzip, () => {});
    return { body: gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>, consumed: () => gunzip.bytesWritten };
  }
  if (kind === 'zstd') return { body: zstdStream(input, source), consumed: () => undefined };
  // On a worker thread, so decompression runs while the replay does (xz-worker.ts).
  return { body: xzOnWorker(input, source, xzProgram()), consumed: () => undefined };
}

/** Which xz decoder runs: the system's xz when there is one ('auto'), or always the WebAssembly one. */
let xzChoice: 'auto' | 'wasm' = 'auto';
let xzFound: string | null | undefined;

/** @internal Picks the xz decoder (tests run both). */
export function useXzDecoder(choice: 'auto' | 'wasm'): void {
  xzChoice = choice;
}

/** The system's xz, if there is one on PATH (looked up once, without running it: a process start costs more than the lookup). */
function xzProgram(): string | undefined {
  if (xzChoice === 'wasm') return undefined;
  if (xzFound === undefined) {
    xzFound = null;
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      try {
        accessSync(join(dir, 'xz'), constants.X_OK);
        xzFound = join(dir, 'xz');
        break;
      } catch {
        // not here
      }
    }
  }
  return xzFound ?? undefined;
}

const load = createRequire(import.meta.url);

/** zstd's default limit on a frame's window when decompressing (ZSTD_WINDOWLOG_LIMIT_DEFAULT: 2^27): larger needs `zstd -d --memory=`. */
const ZSTD_WINDOW_LIMIT = 2 ** 27;
/** The largest block a frame may hold (Block_Maximum_Size: 128 KiB, or the window when smaller). */
const ZSTD_BLOCK_MAX = 128 * 1024;

/**
 * zstd through fzstd, one block at a time: the frame and block headers are read here, so each
 * push hands the decoder one whole block and at most one block of output (128 KiB) exists
 * before it is passed on — a few kilobytes of RLE blocks that decompress to gigabytes stay a
 * stream (fzstd turns everything it is given at once into output at once). A frame whose window
 * exceeds zstd's default limit is refused before the decoder allocates it.
 */
async function* zstdStream(input: AsyncIterable<Buffer>, source: string): AsyncGenerator<Buffer, void, undefined> {
  const { Decompress } = load('fzstd') as typeof import('fzstd');
  let out: Buffer[] = [];
  const d = new Decompress((data) => {
    if (data.length > 0) out.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });
  const push = (b: Uint8Array, final: boolean) => {
    try {
      d.push(b, final);
    } catch (e) {
      throw codecError('zstd', e, source);
    }
    // fzstd keeps an empty remainder per push that ends on a block boundary (fields c, l of
    // fzstd 0.1): drop them, or one small object per block would pile up over a long trace.
    const st = d as unknown as { c?: unknown[]; l?: number };
    if (st.l === 0 && Array.isArray(st.c) && st.c.length > 64) st.c.length = 0;
  };
  const bad = (why: string) => new TraceFormatError(source, {}, `bad zstd data (${why})`);
  const pending = new Pending();
  // What comes next: a frame's start, its header, a block, a frame's checksum, or a skippable frame's rest.
  let state: 'frame' | 'block' = 'frame';
  let blockMax = ZSTD_BLOCK_MAX;
  let checksum = 0;
  const yieldSlice = timeSlicer();
  const step = (): boolean => {
    if (state === 'frame') {
      if (pending.length < 4) return false;
      const magic = pending.u32(0);
      if ((magic & 0xfffffff0) === 0x184d2a50) {
        // A skippable frame: its size, then that many bytes nobody decodes.
        if (pending.length < 8) return false;
        const size = pending.u32(4);
        if (pending.length < 8 + size) return false;
        pending.take(8 + size);
        return true;
      }
      if (magic !== 0xfd2fb528) throw bad('not a zstd frame');
      if (pending.length < 6) return false;
      const fhd = pending.byte(4);
      const single = (fhd >> 5) & 1;
      const fcsFlag = fhd >> 6;
      const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
      const dictBytes = [0, 1, 2, 4][fhd & 3]!;
      const headerBytes = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
      if (pending.length < headerBytes) return false;
      let window: number;
      if (single) {
        window = 0;
        for (let i = fcsBytes - 1; i >= 0; i--) window = window * 256 + pending.byte(5 + dictBytes + i);
        if (fcsFlag === 1) window += 256;
      } else {
        const wd = pending.byte(5);
        const base = 2 ** (10 + (wd >> 3));
        window = base + (base / 8) * (wd & 7);
      }
      if (window > ZSTD_WINDOW_LIMIT) {
        throw new TraceFormatError(source, {}, `a zstd frame asks for a window of ${Math.round(window / 2 ** 20)} MiB, more than the ${ZSTD_WINDOW_LIMIT / 2 ** 20} MiB zstd decompresses by default; vmsim stops there to stay in bounded memory (decompress it first: zstd -d --memory=${Math.ceil(window / 2 ** 20)}MB ${source})`);
      }
      blockMax = Math.min(ZSTD_BLOCK_MAX, Math.max(window, 1));
      checksum = (fhd >> 2) & 1 ? 4 : 0;
      push(pending.take(headerBytes), false);
      state = 'block';
      return true;
    }
    if (pending.length < 3) return false;
    const h = pending.byte(0) | (pending.byte(1) << 8) | (pending.byte(2) << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) throw bad('reserved block type');
    if (size > blockMax) throw bad(`a block of ${size} bytes, more than the frame's ${blockMax}`);
    const bytes = 3 + (type === 1 ? 1 : size) + (last ? checksum : 0);
    if (pending.length < bytes) return false;
    push(pending.take(bytes), false);
    if (last) state = 'frame';
    return true;
  };
  for await (const piece of input) {
    pending.add(piece);
    while (step()) {
      if (out.length > 0) {
        yield* out;
        out = [];
        await yieldSlice();
      }
    }
  }
  if (pending.length > 0 || state !== 'frame') throw bad('the data ends inside a frame: truncated');
  push(new Uint8Array(0), true);
  yield* out;
}

/** Input bytes not consumed yet: pieces as they came, read across piece boundaries. */
class Pending {
  private pieces: Buffer[] = [];
  private at = 0;
  length = 0;
  add(b: Buffer): void {
    if (b.length === 0) return;
    this.pieces.push(b);
    this.length += b.length;
  }
  byte(i: number): number {
    let k = 0;
    let j = this.at + i;
    while (j >= this.pieces[k]!.length) j -= this.pieces[k++]!.length;
    return this.pieces[k]![j]!;
  }
  u32(i: number): number {
    return (this.byte(i) | (this.byte(i + 1) << 8) | (this.byte(i + 2) << 16) | (this.byte(i + 3) << 24)) >>> 0;
  }
  /** The next n bytes (a view when they lie in one piece, else a copy), consumed. */
  take(n: number): Uint8Array {
    const first = this.pieces[0]!;
    let out: Uint8Array;
    if (this.at + n <= first.length) out = first.subarray(this.at, this.at + n);
    else {
      out = new Uint8Array(n);
      let filled = 0;
      let k = 0;
      let from = this.at;
      while (filled < n) {
        const p = this.pieces[k++]!;
        const c = Math.min(n - filled, p.length - from);
        out.set(p.subarray(from, from + c), filled);
        filled += c;
        from = 0;
      }
    }
    this.length -= n;
    this.at += n;
    while (this.pieces.length > 0 && this.at >= this.pieces[0]!.length) this.at -= this.pieces.shift()!.length;
    return out;
  }
}

/**
 * An await that lets the event loop run (timers, I/O, signal handlers) once the caller has
 * worked for ~20 ms without it: a decoder fed from memory otherwise runs on microtasks alone,
 * and Ctrl-C or SIGTERM would wait until the whole stream was decoded.
 */
function timeSlicer(): () => Promise<void> | void {
  let since = performance.now();
  return () => {
    const now = performance.now();
    if (now - since < 20) return;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

/** A decoder's complaint as a TraceFormatError; I/O errors (with a string code) pass. */
function codecError(codec: string, e: unknown, source: string): unknown {
  if (e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' && !(e instanceof TraceFormatError)) return e;
  return new TraceFormatError(source, {}, `bad ${codec} data (${e instanceof Error ? e.message : String(e)})`);
}

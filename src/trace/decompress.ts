/**
 * Compressed traces: the compression is told by the first bytes (never by the file name), and
 * each codec streams, so a trace of many gigabytes decompresses in constant memory.
 *   gzip  1f 8b              Node's zlib
 *   xz    fd 37 7a 58 5a 00  the system's `xz -dc` in a child process when there is one (liblzma
 *                            natively, on the other core: 2.2x faster than the WebAssembly build
 *                            here, and a ChampSim replay is bound by it), else xz-decompress
 *                            (liblzma's decoder compiled to WebAssembly: no native build, streams)
 *   zstd  28 b5 2f fd        fzstd (pure JS, streams; the author's fflate is the common pure-JS zlib)
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

async function* zstdStream(input: AsyncIterable<Buffer>, source: string): AsyncGenerator<Buffer, void, undefined> {
  const { Decompress } = load('fzstd') as typeof import('fzstd');
  let out: Buffer[] = [];
  const d = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });
  const push = (b: Uint8Array, final: boolean) => {
    try {
      d.push(b, final);
    } catch (e) {
      throw codecError('zstd', e, source);
    }
  };
  let last: Buffer | undefined;
  // fzstd must be told which push is the last: hold one piece back.
  for await (const piece of input) {
    if (last) push(last, false);
    last = piece;
    if (out.length) {
      yield* out;
      out = [];
    }
  }
  push(last ?? new Uint8Array(0), true);
  yield* out;
}

/** A decoder's complaint as a TraceFormatError; I/O errors (with a string code) pass. */
function codecError(codec: string, e: unknown, source: string): unknown {
  if (e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' && !(e instanceof TraceFormatError)) return e;
  return new TraceFormatError(source, {}, `bad ${codec} data (${e instanceof Error ? e.message : String(e)})`);
}

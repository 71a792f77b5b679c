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
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TraceFormatError } from './trace-error.js';

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
  const xz = xzProgram();
  return { body: xz ? xzProcess(xz, input, source) : xzStream(input, source), consumed: () => undefined };
}

/** Which xz decoder runs: the system's xz when there is one ('auto'), or always the WebAssembly one. */
let xzChoice: 'auto' | 'wasm' = 'auto';
let xzFound: string | null | undefined;

/** @internal Picks the xz decoder (tests run both). */
export function useXzDecoder(choice: 'auto' | 'wasm'): void {
  xzChoice = choice;
}

/** The system's xz, if it runs (looked up once). */
function xzProgram(): string | undefined {
  if (xzChoice === 'wasm') return undefined;
  if (xzFound === undefined) {
    const r = spawnSync('xz', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    xzFound = r.status === 0 ? 'xz' : null;
  }
  return xzFound ?? undefined;
}

/** `xz -dc` in a child process: the compressed bytes into its input, the decompressed ones out. */
async function* xzProcess(xz: string, input: AsyncIterable<Buffer>, source: string): AsyncGenerator<Buffer, void, undefined> {
  const child = spawn(xz, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let said = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (said += d));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let readError: unknown;
  // xz stops reading at corrupt data (EPIPE then): its own message says why.
  pipeline(Readable.from(input, { objectMode: false }), child.stdin, (e) => {
    if (e && (e as NodeJS.ErrnoException).code !== 'EPIPE' && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') readError = e;
  });
  let done = false;
  try {
    for await (const b of child.stdout as AsyncIterable<Buffer>) yield b;
    const code = await exit;
    done = true;
    if (readError) throw readError;
    if (code !== 0) throw new TraceFormatError(source, {}, `bad xz data (${said.trim().replace(/^xz: \(stdin\): /, '') || `xz exited with ${code}`})`);
  } finally {
    if (!done) child.kill();
  }
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

async function* xzStream(input: AsyncIterable<Buffer>, source: string): AsyncGenerator<Buffer, void, undefined> {
  const { XzReadableStream } = load('xz-decompress') as typeof import('xz-decompress');
  const web = Readable.toWeb(Readable.from(input, { objectMode: false })) as unknown as ReadableStream<Uint8Array>;
  const xz = new XzReadableStream(web);
  const reader = xz.getReader();
  try {
    for (;;) {
      let r: { done: boolean; value?: Uint8Array | undefined };
      try {
        r = await reader.read();
      } catch (e) {
        throw codecError('xz', e, source);
      }
      if (r.done || !r.value) return;
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    }
  } finally {
    reader.releaseLock();
    await xz.cancel().catch(() => {});
  }
}

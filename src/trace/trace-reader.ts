/**
 * Opens a trace (file path, byte stream or in-memory bytes), detects its format from the
 * first bytes (gzip, xz or zstd; binary "VMSTRACE", a plain list of addresses, else lackey text) and streams it as chunks
 * of packed records. Files are read in 1 MiB pieces, never whole, so multi-gigabyte traces
 * replay in constant memory; nothing seeks, so FIFOs, /dev/stdin and `<(zcat t.gz)` work.
 * Input that is not a trace is refused with a hint, before any record is handed on.
 */
import { open, stat } from 'node:fs/promises';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import type { TraceChunk } from './trace-record.js';
import { TraceFormatError } from './trace-error.js';
import { LackeyParser } from './lackey-parser.js';
import { AddressListParser, sniffAddressList } from './address-list-parser.js';
import { BinaryTraceDecoder, hasTraceMagic, headerVersion, TRACE_HEADER_BYTES, TRACE_VERSION } from './binary-trace.js';
import { ChampSimDecoder, champsimHeadProblem, sniffChampSim, CHAMPSIM_RECORD_BYTES, type ChampSimVariant } from './champsim.js';
import { binaryFileReader } from './binary-file-reader.js';
import { decompress, detectCompression, SNIFF_BYTES, type Compression, type Decompressed } from './decompress.js';
import type { OpenTraceOptions, TraceFormat, TraceReader, TraceStats } from './trace-reader-types.js';
import { notATrace, checkLooksLikeText, looksBinary, NO_RECORD_LINES, SNIFF_TEXT_BYTES } from './not-a-trace.js';

export type { OpenTraceOptions, TraceStats, TraceReader } from './trace-reader-types.js';

/** Bytes per file read: big reads keep per-read overhead far below the parse cost. */
const READ_BYTES = 1 << 20;

/** Opens a trace; rejects with VmmError ENOENT when a path does not exist. */
export async function openTrace(
  input: string | NodeJS.ReadableStream | Uint8Array,
  options: OpenTraceOptions = {},
): Promise<TraceReader> {
  let source: string;
  let totalBytes: number | undefined;
  let pieces: AsyncIterable<unknown> | Iterable<unknown>;
  /** Closes the file we opened: the read stream's own close comes a tick after it is destroyed, and closing the reader must leave no descriptor open. */
  let closeFile: (() => Promise<void>) | undefined;
  if (typeof input === 'string') {
    const src = (source = options.source ?? input);
    // A FIFO, a terminal or /dev/stdin has no size and cannot seek: it is read once, in order.
    const regular = await isRegularFile(input);
    const fh = await open(input).catch((e: unknown) => Promise.reject(mapError(e, src)));
    if (regular) {
      try {
        totalBytes = (await fh.stat()).size;
        // An uncompressed binary trace is read straight into the chunks; anything else streams.
        const head = new Uint8Array(TRACE_HEADER_BYTES);
        const { bytesRead: got } = await fh.read(head, 0, TRACE_HEADER_BYTES, 0);
        if (got === TRACE_HEADER_BYTES && headerVersion(head) === TRACE_VERSION) return binaryFileReader(fh, head, src, totalBytes, options, (e) => mapError(e, src));
      } catch (e) {
        await fh.close();
        throw mapError(e, src);
      }
    }
    pieces = fh.createReadStream(regular ? { highWaterMark: READ_BYTES, start: 0 } : { highWaterMark: READ_BYTES });
    closeFile = () => fh.close().catch(() => undefined);
  } else if (input instanceof Uint8Array) {
    source = options.source ?? '<buffer>';
    totalBytes = input.length;
    pieces = slices(input);
  } else if (input !== null && typeof input === 'object' && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    source = options.source ?? '<stream>';
    pieces = input as AsyncIterable<unknown>;
  } else {
    throw new VmmError('EINVAL', `trace input must be a path, a readable stream or a Uint8Array, got ${describe(input)}`);
  }

  let bytesRead = 0;
  const onProgress = options.onProgress;
  const raw = new ByteSource(
    (async function* () {
      try {
        for await (const piece of pieces) {
          const b = toBuffer(piece);
          bytesRead += b.length;
          onProgress?.(bytesRead, totalBytes);
          yield b;
        }
      } finally {
        await closeFile?.();
      }
    })(),
  );

  let body = raw;
  let dec: Decompressed | undefined;
  try {
    const compression = detectCompression(await raw.peek(SNIFF_BYTES), source);
    if (compression) {
      dec = decompress(compression, raw, source);
      body = new ByteSource(dec.body);
    }
    const head = await body.peek(SNIFF_TEXT_BYTES);
    const common = { compression: compression ?? 'none', source, totalBytes, body, raw, options, bytesRead: () => bytesRead, head, dec } as const;
    const forced = options.format && options.format !== 'auto' ? options.format : undefined;
    if (forced) {
      if (forced !== 'champsim' && forced !== 'champsim-cloudsuite') throw new VmmError('EINVAL', `format must be 'auto', 'champsim' or 'champsim-cloudsuite', got ${describe(forced)}`);
      if (head.length === 0) checkLooksLikeText(head, source, compression);
      const bad = champsimHeadProblem(head, forced);
      if (bad) throw wrongChampSimLayout(source, forced, head, bad);
      return makeReader({ ...common, format: forced, events: forced === 'champsim-cloudsuite' });
    }
    if (hasTraceMagic(head)) return makeReader({ ...common, format: 'binary', events: headerVersion(head) >= 2 });
    // Binary data without vmsim's magic: ChampSim's instruction records, told by their fields.
    const champsim = looksBinary(head) ? sniffChampSim(head) : undefined;
    if (champsim) return makeReader({ ...common, format: champsim, events: champsim === 'champsim-cloudsuite' });
    checkLooksLikeText(head, source, compression, looksBinary(head) ? almostChampSim(head) : undefined);
    // Text: lackey's (and the course simulators') lines, or a plain list of addresses.
    const list = sniffAddressList(head);
    return makeReader({ format: list ? 'addresses' : 'lackey', radix: list?.radix ?? 16, compression: compression ?? 'none', source, totalBytes, body, raw, options, bytesRead: () => bytesRead, head, dec, events: false });
  } catch (e) {
    await body.close().catch(() => {});
    await raw.close().catch(() => {});
    throw mapError(e, source, dec);
  }
}

interface ReaderParts {
  format: TraceFormat;
  /** Of bare numbers in an address list. */
  radix?: 10 | 16;
  compression: Compression | 'none';
  source: string;
  totalBytes: number | undefined;
  body: ByteSource;
  raw: ByteSource;
  options: OpenTraceOptions;
  bytesRead: () => number;
  /** The first bytes of the (decompressed) contents, to explain what a non-trace is. */
  head: Buffer;
  dec: Decompressed | undefined;
  /** True for a version-2 binary trace, whose chunks may carry events. */
  events: boolean;
}

function makeReader(parts: ReaderParts): TraceReader {
  const { format, compression, source, totalBytes, body, raw, options, bytesRead, head, dec, events } = parts;
  const decoderOptions = { source, strict: options.strict, chunkRecords: options.chunkRecords, onSkip: options.onSkip };
  const lackey = format === 'lackey' ? new LackeyParser(decoderOptions) : undefined;
  const binary = format === 'binary' ? new BinaryTraceDecoder(decoderOptions) : undefined;
  const list = format === 'addresses' ? new AddressListParser(parts.radix ?? 16, decoderOptions) : undefined;
  const champsim = format === 'champsim' || format === 'champsim-cloudsuite' ? new ChampSimDecoder(format, decoderOptions) : undefined;
  const text = lackey ?? list;
  const decoder = (lackey ?? binary ?? list ?? champsim)!;
  let started = false;
  const close = async (): Promise<void> => {
    await body.close();
    await raw.close();
  };
  return {
    format,
    gzip: compression === 'gzip',
    compression,
    events,
    source,
    ...(totalBytes !== undefined ? { totalBytes } : {}),
    chunks(): AsyncIterableIterator<TraceChunk> {
      if (started) throw new VmmError('EINVAL', `chunks() of trace ${source} was already called`);
      started = true;
      return (async function* () {
        try {
          for await (const buf of body) {
            for (const chunk of decoder.feed(buf)) yield chunk;
            // Text with no access line among its first lines is not a trace: say so before reading gigabytes.
            if (text && text.records === 0 && text.skipped === 0 && text.lines > NO_RECORD_LINES) throw notATrace(source, head, text);
          }
          for (const chunk of decoder.finish()) yield chunk;
          if (text && text.records === 0) throw notATrace(source, head, text);
        } catch (e) {
          throw mapError(e, source, dec);
        } finally {
          await close();
        }
      })();
    },
    stats(): TraceStats {
      return {
        lines: text?.lines ?? 0,
        records: decoder.records,
        skipped: decoder.skipped,
        ignoredLines: text?.ignoredLines ?? 0,
        bytesRead: bytesRead(),
        events: binary?.eventCount ?? champsim?.eventCount ?? 0,
        ...(champsim ? { instructions: champsim.instructions } : {}),
      };
    },
    close,
  };
}

/** An async byte iterator that can look at its first bytes before handing them on. */
class ByteSource implements AsyncIterable<Buffer> {
  private readonly head: Buffer[] = [];
  private ended = false;
  /** The one close: every caller (the reader's close, a pipeline tearing its input down) waits for the same. */
  private closing: Promise<void> | undefined;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Up to n first bytes (fewer only at end of input); they are still yielded later. */
  async peek(n: number): Promise<Buffer> {
    let have = 0;
    for (const b of this.head) have += b.length;
    while (have < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else if (r.value.length > 0) {
        this.head.push(r.value);
        have += r.value.length;
      }
    }
    return Buffer.concat(this.head, Math.min(have, n));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      while (this.head.length > 0) yield this.head.shift()!;
      while (!this.ended) {
        const r = await this.it.next();
        if (r.done) this.ended = true;
        else yield r.value;
      }
    } finally {
      await this.close();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.ended) await this.it.return?.();
    })();
    return this.closing;
  }
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new VmmError('EINVAL', `trace path ${path} is a directory`);
    return st.isFile();
  } catch (e) {
    throw mapError(e, path);
  }
}

/** Turns file-system and zlib errors into the library's errors (gzip's with the compressed byte offset); others pass through. */
function mapError(e: unknown, source: string, dec?: Decompressed): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof VmmError || e instanceof TraceFormatError) return e;
  if (code === 'ENOENT') return new VmmError('ENOENT', `trace file ${source} does not exist`);
  if (code === 'EACCES') return new VmmError('EACCES', `trace file ${source} is not readable`);
  if (code === 'EISDIR') return new VmmError('EINVAL', `trace path ${source} is a directory`);
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const at = dec?.consumed();
    const where = at === undefined ? '' : code === 'Z_BUF_ERROR' ? ` at compressed byte ${at} (the file is truncated)` : ` after compressed byte ${at}`;
    return new TraceFormatError(source, {}, `bad gzip data${where}: ${(e as Error).message}`);
  }
  return e;
}

function* slices(bytes: Uint8Array): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += READ_BYTES) {
    const n = Math.min(READ_BYTES, bytes.length - i);
    yield Buffer.from(bytes.buffer, bytes.byteOffset + i, n);
  }
}

function toBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.length);
  if (typeof piece === 'string') return Buffer.from(piece, 'latin1');
  throw new VmmError('EINVAL', `trace stream yielded ${describe(piece)}, expected bytes`);
}

/** A forced ChampSim layout that the file's first records do not fit: refused at the first that does not, with what would fit. */
function wrongChampSimLayout(source: string, variant: ChampSimVariant, head: Uint8Array, bad: { byteOffset: number; reason: string }): TraceFormatError {
  const other: ChampSimVariant = variant === 'champsim' ? 'champsim-cloudsuite' : 'champsim';
  const fits = sniffChampSim(head) === other || (other === 'champsim-cloudsuite' && champsimHeadProblem(head, other) === undefined);
  const hint = fits ? `; its records read as ${CHAMPSIM_RECORD_BYTES[other]}-byte ones: --format ${other}` : head.length < CHAMPSIM_RECORD_BYTES[variant] ? '' : '; records of another size, or not a ChampSim trace';
  return new TraceFormatError(source, { byteOffset: bad.byteOffset }, `is not a trace of ChampSim's ${CHAMPSIM_RECORD_BYTES[variant]}-byte records (--format ${variant}): ${bad.reason}${hint}`);
}

/**
 * For binary data that detection refused: where it stops reading as ChampSim records when its
 * first record does read as one (a trace of another record size), to say so with the offset.
 */
function almostChampSim(head: Uint8Array): string | undefined {
  for (const v of ['champsim', 'champsim-cloudsuite'] as const) {
    const bad = champsimHeadProblem(head, v);
    if (bad && bad.byteOffset > 0) return `its first record reads as ChampSim's ${CHAMPSIM_RECORD_BYTES[v]}-byte input_instr${v === 'champsim' ? '' : ' (CloudSuite)'} but the one at byte ${bad.byteOffset} does not (${bad.reason}): records of another size?`;
  }
  return undefined;
}

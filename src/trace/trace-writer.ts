/**
 * Writes binary traces, and converts any readable trace to one. The binary form is what
 * long replays should use: it loads with a memory copy per chunk instead of a parse.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { TraceChunk } from './trace-record.js';
import type { TraceFormatError } from './trace-error.js';
import { encodeChunk, encodeHeader, encodeRecords, TRACE_EVENTS_VERSION, TRACE_VERSION } from './binary-trace.js';
import { openTrace } from './trace-reader.js';
import { trackTemp, untrackTemp } from '../temp-files.js';
import type { TraceFormat } from './trace-reader-types.js';

/** Options for writeBinaryTrace. */
export interface WriteTraceOptions {
  /** Gzip the output; defaults to true when the path ends in '.gz'. */
  gzip?: boolean;
  /** Write a version-2 trace that keeps the chunks' events (default: version 1, accesses only). */
  events?: boolean;
}

/** What a write produced. */
export interface WriteTraceResult {
  /** Records written. */
  records: number;
  /** Event records written (version 2). */
  events: number;
  /** Bytes in the output file (compressed size when gzipped). */
  bytes: number;
}

/** Options for convertTrace. */
export interface ConvertTraceOptions {
  /** Throw on the first malformed input record instead of skipping it. */
  strict?: boolean;
  /** Gzip the output; defaults to true when the output path ends in '.gz'. */
  gzip?: boolean;
  /** Called for each skipped input record in non-strict mode. */
  onSkip?: (err: TraceFormatError) => void;
  /** Progress over the input's raw bytes. */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** How to read the input: 'auto' (default), or ChampSim's records ('champsim', 'champsim-cloudsuite'). */
  format?: 'auto' | 'champsim' | 'champsim-cloudsuite';
  /** Write the accesses alone (a version-1 trace), leaving out a version-2 input's events (threads, calls, processes). */
  accessesOnly?: boolean;
}

/** What a conversion produced. */
export interface ConvertTraceResult extends WriteTraceResult {
  /** Malformed input records skipped. */
  skipped: number;
  /** Input lines that were not records (lackey). */
  ignoredLines: number;
  /** The input's name (path, '<stream>' or '<buffer>'), format and compression. */
  source: string;
  format: TraceFormat;
  compression: 'none' | 'gzip' | 'xz' | 'zstd';
  /** Raw bytes read from the input (compressed bytes when compressed). */
  bytesRead: number;
}

/**
 * Writes `body` (optionally gzipped) to `path` through a temporary file renamed at the end, so
 * a failure (or `check` throwing once all is written) leaves no half file; returns the bytes
 * written. The temporary is tracked, so an interrupted command removes it too.
 */
export async function writeFileAtomically(path: string, body: Readable, gzip: boolean, check?: () => void): Promise<number> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  trackTemp(tmp);
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  try {
    const stages: (Readable | Transform)[] = gzip ? [body, createGzip()] : [body];
    await pipeline([...stages, out]);
    check?.();
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    untrackTemp(tmp);
  }
  return out.bytesWritten;
}

/** Streams chunks to a binary trace file; a temp file renamed at the end means failures leave no half file. */
export async function writeBinaryTrace(
  path: string,
  chunks: AsyncIterable<TraceChunk> | Iterable<TraceChunk>,
  options: WriteTraceOptions = {},
): Promise<WriteTraceResult> {
  let records = 0;
  let events = 0;
  const keep = options.events === true;
  // Each chunk is copied as it is encoded: the producer may reuse its buffer for the next one.
  const bodies = Readable.from(
    (async function* () {
      yield encodeHeader(keep ? TRACE_EVENTS_VERSION : TRACE_VERSION);
      for await (const chunk of chunks) {
        records += chunk.count;
        if (keep) {
          events += chunk.events?.length ?? 0;
          yield* encodeChunk(chunk);
        } else if (chunk.count > 0) yield encodeRecords(chunk);
      }
    })(),
    { objectMode: false },
  );
  const bytes = await writeFileAtomically(path, bodies, options.gzip ?? path.endsWith('.gz'));
  return { records, events, bytes };
}

/** Converts a lackey or binary trace (a path, a stream or bytes; optionally compressed) to a binary trace file; writes nothing when the input is not a trace. */
export async function convertTrace(
  inputPath: string | NodeJS.ReadableStream | Uint8Array,
  outputPath: string,
  options: ConvertTraceOptions = {},
): Promise<ConvertTraceResult> {
  const reader = await openTrace(inputPath, {
    ...(options.format ? { format: options.format } : {}),
    strict: options.strict,
    onSkip: options.onSkip,
    onProgress: options.onProgress,
  });
  const gzip = options.gzip ?? outputPath.endsWith('.gz');
  const { records, events, bytes } = await writeBinaryTrace(outputPath, reader.chunks(), { gzip, events: reader.events && options.accessesOnly !== true });
  const st = reader.stats();
  return { records, events, skipped: st.skipped, ignoredLines: st.ignoredLines, bytes, source: reader.source, format: reader.format, compression: reader.compression, bytesRead: st.bytesRead };
}

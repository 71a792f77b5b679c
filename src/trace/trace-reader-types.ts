/** The shapes of an opened trace and of openTrace's options, shared by the readers (trace-reader.ts, binary-file-reader.ts). */
import type { TraceChunk } from './trace-record.js';
import type { TraceFormatError } from './trace-error.js';
import type { Compression } from './decompress.js';

/** Options for openTrace. */
export interface OpenTraceOptions {
  /** Throw on the first malformed record instead of skipping it. */
  strict?: boolean;
  /** Records per chunk (default 65536). */
  chunkRecords?: number;
  /** Called for each skipped record in non-strict mode. */
  onSkip?: (err: TraceFormatError) => void;
  /** Called after each piece read from the input (raw bytes: compressed ones for gzip). */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** Name for error messages; defaults to the path, '<stream>' or '<buffer>'. */
  source?: string;
  /**
   * @internal For replay, whose core scans every chunk for reserved bits anyway: a binary
   * trace file's chunks skip the reader's own scan and carry `recheck` instead.
   */
  deferRecordCheck?: boolean;
}

/** Counters of a trace read so far. */
export interface TraceStats {
  /** Text lines seen (0 for binary traces). */
  lines: number;
  /** Records produced. */
  records: number;
  /** Malformed records skipped (non-strict mode). */
  skipped: number;
  /** Text lines that are not records (0 for binary traces). */
  ignoredLines: number;
  /** Raw bytes read from the input (compressed bytes for gzip). */
  bytesRead: number;
}

/** An opened trace. */
export interface TraceReader {
  /** Format of the (decompressed) contents: lackey text, vmsim's binary records, or a plain list of addresses (one a line). */
  readonly format: 'lackey' | 'binary' | 'addresses';
  /** True when the input was gzip-compressed. */
  readonly gzip: boolean;
  /** How the input was compressed ('none', 'gzip', 'xz' or 'zstd'), told by its first bytes. */
  readonly compression: Compression | 'none';
  /** File name as given, '<stream>' or '<buffer>'. */
  readonly source: string;
  /** Input size in bytes when known (file size for paths, length for bytes). */
  readonly totalBytes?: number;
  /**
   * The records, chunk by chunk; callable once. Chunk buffers are reused: a chunk is valid
   * only until the next one is requested, so copy what you keep. Leaving the loop early closes the input.
   */
  chunks(): AsyncIterableIterator<TraceChunk>;
  /** Counters so far (final once chunks() is exhausted). */
  stats(): TraceStats;
  /** Closes the input without reading the rest (not needed after chunks() ends). */
  close(): Promise<void>;
}

/** The shapes of an opened trace and of openTrace's options, shared by the readers (trace-reader.ts, binary-file-reader.ts). */
import type { TraceChunk } from './trace-record.js';
import type { TraceFormatError } from './trace-error.js';
import type { Compression } from './decompress.js';

/** What a trace's (decompressed) contents are. */
export type TraceFormat = 'lackey' | 'binary' | 'addresses' | 'champsim' | 'champsim-cloudsuite';

/** Options for openTrace. */
export interface OpenTraceOptions {
  /**
   * 'auto' (default): told by the contents. 'champsim' or 'champsim-cloudsuite': read as
   * ChampSim's 64-byte (CloudSuite's 96-byte) instruction records whatever the first records look like.
   */
  format?: 'auto' | 'champsim' | 'champsim-cloudsuite';
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
  /** Event records read (version-2 binary traces; CloudSuite's address-space switches; 0 otherwise). */
  events: number;
  /** Instructions (ChampSim records) read, for ChampSim traces. */
  instructions?: number;
}

/** An opened trace. */
export interface TraceReader {
  /** Format of the (decompressed) contents: lackey text, vmsim's binary records, or a plain list of addresses (one a line). */
  readonly format: TraceFormat;
  /** True when the input was gzip-compressed. */
  readonly gzip: boolean;
  /** How the input was compressed ('none', 'gzip', 'xz' or 'zstd'), told by its first bytes. */
  readonly compression: Compression | 'none';
  /** True when chunks may carry events (a version-2 binary trace). */
  readonly events: boolean;
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

/** What replay reads a trace from. */
import type { TraceChunk } from '../trace/trace-record.js';

/** A trace: a file path (lackey text, binary, either gzipped), its bytes, a readable stream, or chunks of packed records. */
export type TraceInput = string | Uint8Array | NodeJS.ReadableStream | Iterable<TraceChunk> | AsyncIterable<TraceChunk>;

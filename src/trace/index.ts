/** Trace input/output for replay: packed records, lackey and binary readers, writers, a synthetic trace. */
export { TraceKind, MAX_ACCESS_SIZE, RECORD_BYTES, packRecord, recordLa, recordKind, recordSize } from './trace-record.js';
export type { TraceChunk, TraceKindValue } from './trace-record.js';
export { TraceFormatError } from './trace-error.js';
export { LackeyParser, DEFAULT_CHUNK_RECORDS } from './lackey-parser.js';
export type { TraceDecoderOptions, LackeyParserOptions } from './lackey-parser.js';
export { BinaryTraceDecoder, encodeHeader, encodeRecords, hasTraceMagic, TRACE_MAGIC, TRACE_VERSION, TRACE_HEADER_BYTES } from './binary-trace.js';
export { openTrace } from './trace-reader.js';
export type { TraceReader, OpenTraceOptions, TraceStats } from './trace-reader.js';
export type { TraceFormat } from './trace-reader-types.js';
export type { TraceEvent, NewTraceEvent, EventPlace, ThreadEvent, SyscallEvent, ImageEvent, MapEvent, MapKind, EndEvent, NoteEvent } from './trace-events.js';
export { writeBinaryTrace, convertTrace } from './trace-writer.js';
export type { WriteTraceOptions, WriteTraceResult, ConvertTraceOptions, ConvertTraceResult } from './trace-writer.js';
export { syntheticLackeyTrace } from './synthetic-trace.js';
export type { SyntheticTraceOptions } from './synthetic-trace.js';
export { recordLackey } from './lackey-recorder.js';
export type { LackeyRecording, RecordLackeyOptions } from './lackey-recorder.js';
export type { Compression } from './decompress.js';

/** Shared helpers for the trace tests: records as plain objects, and a slow reference parser. */
import { recordKind, recordLa, recordSize, type TraceChunk } from '../../src/trace/trace-record.js';

export interface Rec {
  la: number;
  kind: number;
  size: number;
}

/** Copies the records out of a chunk (chunk buffers are reused by the readers). */
export function recs(chunk: TraceChunk): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < chunk.count; i++) out.push({ la: recordLa(chunk.words, i), kind: recordKind(chunk.words, i), size: recordSize(chunk.words, i) });
  return out;
}

/** Collects all records from a sequence of chunks. */
export function collect(chunks: Iterable<TraceChunk>, into: Rec[] = []): Rec[] {
  for (const c of chunks) into.push(...recs(c));
  return into;
}

/** Reference lackey parser: regexes and BigInt, obviously right, slow. Valid lines only. */
export function referenceParse(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split('\n')) {
    // lackey's "I  addr,size" / " L addr,size", and the course simulators' "L addr" (size 1), 0x allowed.
    const m = /^[ \t]*([ILSM])[ \t]+(?:0[xX])?([0-9a-fA-F]{1,16})(?:,([0-9]+))?[ \t\r]*$/.exec(line);
    if (!m) continue;
    const v = BigInt('0x' + m[2]);
    const size = m[3] === undefined ? 1 : Number(m[3]);
    const top = v >> 47n;
    if ((top !== 0n && top !== 0x1ffffn) || size < 1 || size > 4096) continue;
    const kind = { I: 2, L: 0, S: 1, M: 3 }[m[1]!]!;
    out.push({ la: Number(v & 0xffffffffffffn), kind, size });
  }
  return out;
}

/**
 * Telling a trace from what is not one. A file that is not a trace must not replay as "0
 * records" with success: empty input, binary data that is neither a vmsim binary trace nor a
 * compression vmsim reads, and text without a single access line are errors that say what the
 * input looks like and how to record a real trace.
 */
import { TraceFormatError } from './trace-error.js';
/** What the not-a-trace message needs of a text parser. */
interface TextCounts {
  readonly lines: number;
  readonly skipped: number;
}

/** Bytes of the (decompressed) start of the input that the checks look at. */
export const SNIFF_TEXT_BYTES = 4096;
/** Lines of text without any access line after which the input is refused (valgrind's banner is ~10 lines). */
export const NO_RECORD_LINES = 10_000;

const RECORD_HOW = 'record one with: valgrind --tool=lackey --trace-mem=yes --log-file=trace.out PROGRAM';

/** True when `head` is binary data rather than text: a NUL byte, or over 5% control bytes. */
export function looksBinary(head: Uint8Array): boolean {
  let control = 0;
  for (const b of head) {
    // NUL never occurs in text; other C0 controls (not tab, LF, VT, FF, CR) and DEL hardly do.
    if (b === 0) return true;
    if ((b < 32 && b !== 9 && b !== 10 && b !== 11 && b !== 12 && b !== 13) || b === 127) control++;
  }
  return control * 20 > head.length;
}

/** Throws unless `head` (the first bytes) could start a text trace: empty input and binary data are refused. */
export function checkLooksLikeText(head: Uint8Array, source: string, compression: string | undefined, binaryHint?: string): void {
  const inside = compression ? ` (after ${compression} decompression)` : '';
  if (head.length === 0) throw new TraceFormatError(source, {}, `is empty${inside}: no memory accesses to replay; ${RECORD_HOW}`);
  if (looksBinary(head)) binary(source, inside, binaryHint);
}

function binary(source: string, inside: string, hint: string | undefined): never {
  throw new TraceFormatError(
    source,
    {},
    `is binary data${inside}, not a trace: neither a vmsim binary trace (which starts with "VMSTRACE") nor ChampSim's instruction records (64 bytes, or CloudSuite's 96; --format champsim or --format champsim-cloudsuite names the layout) nor gzip, xz or zstd around one, nor lackey text${hint ? `; ${hint}` : ''}; ${RECORD_HOW}`,
  );
}

/** The error for text in which no line is an access: what the text looks like, and how to get a trace. */
export function notATrace(source: string, head: Uint8Array, parser: TextCounts): TraceFormatError {
  const text = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1');
  if (/^==\d+== (Lackey|Command:|Counted \d+ call)/m.test(text) || /guest instrs:/.test(text)) {
    return new TraceFormatError(source, {}, `is a valgrind lackey log recorded without --trace-mem=yes: it has counts but no memory accesses; ${RECORD_HOW}`);
  }
  if (/^==\d+== /m.test(text)) {
    return new TraceFormatError(source, {}, `is a valgrind log of another tool, without memory accesses (is this a lackey --trace-mem=yes trace?); ${RECORD_HOW}`);
  }
  const seen = `${parser.lines} line(s)`;
  if (parser.skipped > 0) {
    return new TraceFormatError(source, {}, `has no valid access line: ${parser.skipped} of ${seen} look like accesses but are malformed (--strict shows the first)`);
  }
  return new TraceFormatError(
    source,
    {},
    `has no memory access line in ${parser.lines < NO_RECORD_LINES ? seen : `its first ${NO_RECORD_LINES} lines`} (lines like "I  0400d7d4,8" or " L 7ff0001b8,8"): is this a lackey --trace-mem=yes trace? ${RECORD_HOW}`,
  );
}

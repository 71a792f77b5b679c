/** The error a malformed trace raises: where it is (lackey line or binary byte offset) and why. */

/** Bad trace input; `line` (1-based, lackey) or `byteOffset` (binary) locates it in `source`. */
export class TraceFormatError extends Error {
  /** Errno-style code, as VmmError has, so callers can treat both alike. */
  readonly code = 'EINVAL' as const;
  /** 1-based line number in a lackey trace. */
  readonly line?: number;
  /** Byte offset in a binary trace (of the decompressed bytes for gzip input). */
  readonly byteOffset?: number;
  /** File name as given, or '<stream>' / '<buffer>'. */
  readonly source: string;
  /** Why the input is bad, without the location (e.g. 'bad address "0x zz"'). */
  readonly reason: string;

  constructor(source: string, where: { line?: number; byteOffset?: number }, reason: string) {
    const at = where.line !== undefined ? ` line ${where.line}` : where.byteOffset !== undefined ? ` byte ${where.byteOffset}` : '';
    super(`${source}${at}: ${reason}`);
    this.name = 'TraceFormatError';
    this.source = source;
    this.reason = reason;
    if (where.line !== undefined) this.line = where.line;
    if (where.byteOffset !== undefined) this.byteOffset = where.byteOffset;
  }
}

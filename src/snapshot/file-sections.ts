/**
 * The binary body of a snapshot file: sections `u32 kind, u32 flags, u32 rawBytes, u32 storedBytes`
 * followed by the stored bytes (raw DEFLATE when flags bit 0 is set). Kinds: STATE (the machine's
 * objects and the core's numbers), INDEX (which frame is which stored page), PAGES (a chunk of up
 * to 256 stored pages, in index order).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SnapshotError } from './snapshot-error.js';

export const SectionKind = { STATE: 1, INDEX: 2, PAGES: 3 } as const;
/** Bytes of a section's head. */
export const SECTION_HEAD = 16;
/** Pages per PAGES section. */
export const CHUNK_PAGES = 256;

/** A section's bytes: `payload` compressed when that pays (else stored raw). */
export function encodeSection(kind: number, payload: Uint8Array, compress: boolean): Buffer[] {
  let stored: Uint8Array = payload;
  let flags = 0;
  if (compress && payload.length > 0) {
    const z = deflateRawSync(payload, { level: 1 });
    if (z.length < payload.length) {
      stored = z;
      flags = 1;
    }
  }
  const head = Buffer.alloc(SECTION_HEAD);
  head.writeUInt32LE(kind, 0);
  head.writeUInt32LE(flags, 4);
  head.writeUInt32LE(payload.length, 8);
  head.writeUInt32LE(stored.length, 12);
  return [head, Buffer.from(stored.buffer, stored.byteOffset, stored.length)];
}

/** Pages of a chunk compress? A sample of 4 pages decides (DEFLATE of random bytes runs at ~35 MB/s, of a simulation's pages at GB/s). */
export function worthCompressing(pages: Uint8Array): boolean {
  const sample = pages.subarray(0, Math.min(pages.length, 4 * 4096));
  return deflateRawSync(sample, { level: 1 }).length < sample.length * 0.9;
}

/** One section read back. */
export interface Section {
  readonly kind: number;
  readonly flags: number;
  readonly rawBytes: number;
  readonly stored: Uint8Array;
}

/** The sections of a body (already checked against its CRC). */
export function readSections(body: Uint8Array, path: string): Section[] {
  const out: Section[] = [];
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.length) {
    if (body.length - at < SECTION_HEAD) throw new SnapshotError('EIO', `${path}: a section at body offset ${at} is cut short`);
    const kind = dv.getUint32(at, true);
    const flags = dv.getUint32(at + 4, true);
    const rawBytes = dv.getUint32(at + 8, true);
    const storedBytes = dv.getUint32(at + 12, true);
    at += SECTION_HEAD;
    if (storedBytes > body.length - at || (flags & ~1) !== 0 || kind < 1 || kind > 3) throw new SnapshotError('EIO', `${path}: a malformed section at body offset ${at - SECTION_HEAD}`);
    out.push({ kind, flags, rawBytes, stored: body.subarray(at, at + storedBytes) });
    at += storedBytes;
  }
  return out;
}

/** A section's payload. */
export function sectionPayload(s: Section, path: string): Uint8Array {
  let p = s.stored;
  if (s.flags & 1) {
    try {
      p = inflateRawSync(s.stored);
    } catch (e) {
      throw new SnapshotError('EIO', `${path}: a compressed section does not decompress`, { cause: e });
    }
  }
  if (p.length !== s.rawBytes) throw new SnapshotError('EIO', `${path}: a section holds ${p.length} bytes, its head says ${s.rawBytes}`);
  return p;
}

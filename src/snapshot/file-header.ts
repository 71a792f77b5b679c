/**
 * The text header of a snapshot file (docs/snapshots.md, "File format"): lines a person can read
 * (`head -n 12 warm.vmsnap`), ending with a CRC of the lines before it and an empty line; the
 * binary body follows. Parsing checks everything that can be checked before the body is
 * read: the magic line, the format and vmsim versions, the header's CRC, the body's length.
 */
import { crc32 } from 'node:zlib';
import { SnapshotError } from './snapshot-error.js';

/** The first line of every snapshot file. */
export const MAGIC = 'vmsim snapshot';
/** The format this code writes and reads. */
export const FORMAT_VERSION = 1;

/** What the header says. */
export interface SnapshotHeader {
  readonly format: number;
  /** The vmsim version that wrote it (a snapshot holds that version's objects: another version refuses it). */
  readonly vmsim: string;
  readonly backend: 'native' | 'js';
  readonly memoryBytes: number;
  readonly cpus: number;
  /** Pages stored, duplicates stored once, unchanged since the parent (informational). */
  readonly pages: { stored: number; duplicates: number; sameAsParent: number; nonZero: number };
  /** The parent of a diff snapshot: its path as written, its body's length and CRC. */
  readonly parent?: { path: string; bodyBytes: number; bodyCrc: number };
  readonly bodyBytes: number;
  readonly bodyCrc: number;
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** The header's bytes. */
export function formatHeader(h: SnapshotHeader): Buffer {
  const lines = [
    `${MAGIC} ${h.format}`,
    `vmsim: ${h.vmsim}`,
    `backend: ${h.backend}`,
    `memory: ${h.memoryBytes} bytes`,
    `cpus: ${h.cpus}`,
    `pages: ${h.pages.nonZero} non-zero, ${h.pages.stored} stored, ${h.pages.duplicates} duplicates, ${h.pages.sameAsParent} as parent`,
    `parent: ${h.parent ? `${h.parent.bodyBytes} ${hex8(h.parent.bodyCrc)} ${JSON.stringify(h.parent.path)}` : '-'}`,
    `body: ${h.bodyBytes} bytes, crc32 ${hex8(h.bodyCrc)}`,
  ];
  const text = lines.map((l) => l + '\n').join('');
  return Buffer.from(`${text}header-crc32: ${hex8(crc32(text))}\n\n`, 'utf8');
}

/** The header at the start of a file's bytes and where its text ends; SnapshotError for anything wrong. */
export function parseHeader(bytes: Uint8Array, path: string): { header: SnapshotHeader; textEnd: number } {
  const bad = (why: string, code: 'EINVAL' | 'EIO' = 'EIO'): never => {
    throw new SnapshotError(code, `${path}: ${why}`);
  };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString('latin1');
  if (!text.startsWith(MAGIC + ' ')) bad('not a vmsim snapshot file', 'EINVAL');
  const end = text.indexOf('\n\n');
  if (end < 0) bad(bytes.length < 4096 ? 'truncated in its header' : 'its header does not end', 'EIO');
  const lines = text.slice(0, end).split('\n');
  const format = Number(/^vmsim snapshot (\d+)$/.exec(lines[0]!)?.[1]);
  if (format !== FORMAT_VERSION) bad(`snapshot format ${lines[0]!.slice(MAGIC.length + 1)}; this vmsim reads format ${FORMAT_VERSION}`, 'EINVAL');
  const crcLine = lines[lines.length - 1]!;
  const body = lines.slice(0, -1).map((l) => l + '\n').join('');
  const m = /^header-crc32: ([0-9a-f]{8})$/.exec(crcLine);
  if (!m || parseInt(m[1]!, 16) !== crc32(body)) bad('its header is corrupted (CRC mismatch)');
  const field = (name: string): string => {
    const l = lines.find((x) => x.startsWith(name + ': '));
    return l === undefined ? bad(`its header has no ${name} line`) : l.slice(name.length + 2);
  };
  const vmsim = field('vmsim');
  const backend = field('backend');
  if (backend !== 'native' && backend !== 'js') bad(`unknown backend ${backend}`);
  const memoryBytes = Number(/^(\d+) bytes$/.exec(field('memory'))?.[1]);
  const cpus = Number(field('cpus'));
  const pm = /^(\d+) non-zero, (\d+) stored, (\d+) duplicates, (\d+) as parent$/.exec(field('pages'));
  const bm = /^(\d+) bytes, crc32 ([0-9a-f]{8})$/.exec(field('body'));
  const parentText = field('parent');
  const pp = /^(\d+) ([0-9a-f]{8}) (".*")$/.exec(parentText);
  if (!Number.isSafeInteger(memoryBytes) || !Number.isSafeInteger(cpus) || !pm || !bm || (parentText !== '-' && !pp)) bad('its header is malformed');
  const bodyBytes = Number(bm![1]);
  return {
    header: {
      format,
      vmsim,
      backend: backend as 'native' | 'js',
      memoryBytes,
      cpus,
      pages: { nonZero: Number(pm![1]), stored: Number(pm![2]), duplicates: Number(pm![3]), sameAsParent: Number(pm![4]) },
      ...(pp ? { parent: { bodyBytes: Number(pp[1]), bodyCrc: parseInt(pp[2]!, 16), path: JSON.parse(pp[3]!) as string } } : {}),
      bodyBytes,
      bodyCrc: parseInt(bm![2]!, 16),
    },
    textEnd: end + 2,
  };
}

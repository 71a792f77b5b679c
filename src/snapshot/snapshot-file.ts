/**
 * Snapshot files (docs/snapshots.md, "File format"): a text header, then the machine's state
 * and its pages — zero pages left out, a page whose bytes equal an earlier one's stored once,
 * chunks of 256 pages compressed with raw DEFLATE (zlib level 1) unless a sample says they will
 * not compress. A diff names only the frames whose bytes differ from its parent's, compared
 * byte for byte as the parent is read, so page tables and kernel pages are covered like any
 * other. A file is written beside its name and renamed into place (a failed save leaves
 * nothing); a load checks the header, the versions, the length and the body's CRC before it
 * decodes anything, so a bad file is refused whole.
 */
import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { packageVersion } from '../package-info.js';
import { SnapshotError } from './snapshot-error.js';
import { Snapshot } from './snapshot.js';
import type { CoreImage } from './core-image.js';
import { FORMAT_VERSION, formatHeader, parseHeader } from './file-header.js';
import { CHUNK_PAGES, encodeSection, readSections, sectionPayload, SectionKind, worthCompressing } from './file-sections.js';
import { decodeState, encodeState } from './state-codec.js';
import { FileRamImage, ZERO_SLOT } from './file-ram-image.js';

let version: string | undefined;
/** This vmsim's version (read once: package.json). */
const thisVersion = (): string => (version ??= packageVersion());

/** Where the body starts: the header is padded with zero bytes to here. */
export const BODY_OFFSET = 4096;
/** Frames read from the image at a time (one 2 MiB window). */
const STEP = 512;
/** Candidates compared for one page's fingerprint before it is stored anyway. */
const MAX_CANDIDATES = 8;

/** Options of save. */
export interface SaveOptions {
  /** A snapshot file this one is a diff of: only frames whose bytes differ from the parent's are stored. Loading it needs the parent, unchanged, at the same place (relative paths are kept relative). */
  parent?: string;
}

/** What a save wrote. */
export interface SaveInfo {
  /** Bytes of the file. */
  readonly bytes: number;
  /** Frames whose bytes are not all zero. */
  readonly nonZeroPages: number;
  /** Pages stored (after duplicates and pages unchanged since the parent). */
  readonly storedPages: number;
  readonly duplicatePages: number;
  readonly sameAsParentPages: number;
}

/** Writes `snap` to `path`. */
export function saveSnapshotFile(snap: Snapshot<unknown>, path: string, options: SaveOptions = {}): SaveInfo {
  if (typeof path !== 'string' || path === '') throw new SnapshotError('EINVAL', `path must be a file path, got ${String(path)}`);
  const kept = snap.graph.kept;
  if (kept.length > 0) throw new SnapshotError('EINVAL', `cannot save to a file: ${kept[0]!.path} is a callback (code, not state); a file holds no code (snapshot in memory, or leave the callback out)`);
  const parentPath = options.parent;
  if (parentPath !== undefined && (typeof parentPath !== 'string' || parentPath === '')) throw new SnapshotError('EINVAL', `options.parent must be a snapshot file's path, got ${String(parentPath)}`);
  const parent = parentPath !== undefined ? openSnapshotFile(parentPath) : undefined;
  const core = snap.core;
  if (parent && parent.header.memoryBytes !== core.memoryBytes) throw new SnapshotError('EINVAL', `options.parent ${parentPath}: a machine of ${parent.header.memoryBytes} bytes, this one has ${core.memoryBytes}`);
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let pos = BODY_OFFSET;
    let crc = 0;
    const out = (bufs: Buffer[]) => {
      for (const b of bufs) {
        let done = 0;
        while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
        pos += b.length;
        crc = crc32(b, crc);
      }
    };
    out(encodeSection(SectionKind.STATE, encodeState(snap.graph, core), true));
    const pages = writePages(core, parent?.ram, out);
    out(encodeSection(SectionKind.INDEX, new Uint8Array(pages.index.buffer, 0, pages.count * 8), true));
    const header = formatHeader({
      format: FORMAT_VERSION,
      vmsim: thisVersion(),
      backend: core.backend,
      memoryBytes: core.memoryBytes,
      cpus: core.cpus.length,
      pages: { nonZero: pages.nonZero, stored: pages.stored, duplicates: pages.duplicates, sameAsParent: pages.sameAsParent },
      ...(parent ? { parent: { path: relativeParent(path, parentPath!), bodyBytes: parent.header.bodyBytes, bodyCrc: parent.header.bodyCrc } } : {}),
      bodyBytes: pos - BODY_OFFSET,
      bodyCrc: crc,
    });
    if (header.length > BODY_OFFSET) throw new SnapshotError('EINVAL', `the header is longer than ${BODY_OFFSET} bytes (the parent's path is too long)`);
    const head = Buffer.alloc(BODY_OFFSET);
    header.copy(head);
    writeSync(fd, head, 0, BODY_OFFSET, 0);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    return { bytes: pos, nonZeroPages: pages.nonZero, storedPages: pages.stored, duplicatePages: pages.duplicates, sameAsParentPages: pages.sameAsParent };
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof SnapshotError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new SnapshotError(err.code === 'ENOSPC' ? 'ENOSPC' : err.code === 'EACCES' ? 'EACCES' : err.code === 'ENOENT' ? 'ENOENT' : err.code === 'EISDIR' ? 'EISDIR' : 'EIO', `cannot write ${path}: ${err.message}`, { cause: e });
  } finally {
    parent?.ram.release();
  }
}

/** The parent as the child names it: relative to the child's directory when it was given relative. */
function relativeParent(child: string, parent: string): string {
  return isAbsolute(parent) ? parent : relative(dirname(resolve(child)), resolve(parent)) || parent;
}

interface PageCounts {
  index: Uint32Array;
  count: number;
  nonZero: number;
  stored: number;
  duplicates: number;
  sameAsParent: number;
}

/** Writes the PAGES sections; returns the index (pairs pfn, slot) and the counts. */
function writePages(core: CoreImage, parent: FileRamImage | undefined, out: (b: Buffer[]) => void): PageCounts {
  const total = core.memoryBytes / 4096;
  const buf = new Uint8Array(STEP * 4096);
  const words = new Int32Array(buf.buffer);
  const pbuf = new Uint8Array(STEP * 4096);
  const one = new Uint8Array(4096);
  const chunk = new Uint8Array(CHUNK_PAGES * 4096);
  let inChunk = 0;
  const r: PageCounts = { index: new Uint32Array(1024), count: 0, nonZero: 0, stored: 0, duplicates: 0, sameAsParent: 0 };
  const byPrint = new Map<number, number[]>();
  const slotPfn: number[] = [];
  const add = (pfn: number, slot: number) => {
    if (r.count * 2 + 2 > r.index.length) {
      const g = new Uint32Array(r.index.length * 2);
      g.set(r.index);
      r.index = g;
    }
    r.index[r.count * 2] = pfn;
    r.index[r.count * 2 + 1] = slot;
    r.count++;
  };
  const flush = () => {
    if (inChunk === 0) return;
    const p = chunk.subarray(0, inChunk * 4096);
    out(encodeSection(SectionKind.PAGES, p, worthCompressing(p)));
    inChunk = 0;
  };
  /** The bytes of stored page `slot` (in the chunk being filled, or read again from the image). */
  const slotBytes = (slot: number): Uint8Array => {
    const first = r.stored - inChunk;
    if (slot >= first) return chunk.subarray((slot - first) * 4096, (slot - first + 1) * 4096);
    core.ram.read(slotPfn[slot]!, 1, one);
    return one;
  };
  for (let first = 0; first < total; first += STEP) {
    const n = Math.min(STEP, total - first);
    const mine = !core.used || anyBit(core.used, first, n);
    const theirs = parent !== undefined && anyBit(parent.used, first, n);
    if (!mine && !theirs) continue;
    if (mine) core.ram.read(first, n, buf);
    else buf.fill(0);
    if (theirs) parent!.read(first, n, pbuf);
    for (let k = 0; k < n; k++) {
      const pfn = first + k;
      const at = k * 4096;
      const page = buf.subarray(at, at + 4096);
      const print = fingerprint(words, k * 1024);
      if (print !== 0) r.nonZero++;
      if (theirs && Buffer.compare(page, pbuf.subarray(at, at + 4096)) === 0) {
        if (print !== 0) r.sameAsParent++;
        continue;
      }
      if (print === 0) {
        // All zeros: left out, or named as zero in a diff whose parent had bytes here.
        if (theirs) add(pfn, ZERO_SLOT);
        continue;
      }
      const cands = byPrint.get(print);
      let dup = -1;
      if (cands) {
        for (let c = cands.length - 1, tried = 0; c >= 0 && tried < MAX_CANDIDATES; c--, tried++) {
          if (Buffer.compare(page, slotBytes(cands[c]!)) === 0) {
            dup = cands[c]!;
            break;
          }
        }
      }
      if (dup >= 0) {
        add(pfn, dup);
        r.duplicates++;
        continue;
      }
      const slot = r.stored++;
      slotPfn.push(pfn);
      if (cands) cands.push(slot);
      else byPrint.set(print, [slot]);
      chunk.set(page, inChunk * 4096);
      inChunk++;
      add(pfn, slot);
      if (inChunk === CHUNK_PAGES) flush();
    }
  }
  flush();
  return r;
}

/** A hash of a page's 1024 words, 0 exactly when they are all zero. */
function fingerprint(w: Int32Array, at: number): number {
  let i = at;
  const end = at + 1024;
  while (i < end && w[i] === 0) i++;
  if (i === end) return 0;
  let h = 0x811c9dc5 ^ (i - at);
  for (; i < end; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
  return h === 0 ? 1 : h;
}

function anyBit(bits: Uint32Array, first: number, n: number): boolean {
  for (let f = first; f < first + n; f += 32) if (bits[f >>> 5] !== 0) return true;
  return false;
}

/** An opened snapshot file: header, decoded state, and its RAM image (parents opened too). */
interface OpenFile {
  header: ReturnType<typeof parseHeader>['header'];
  ram: FileRamImage;
  state: ReturnType<typeof decodeState>;
}

/** Opens and checks a snapshot file (and its parents), decoding its state; nothing is built yet. */
function openSnapshotFile(path: string, depth = 0): OpenFile {
  if (depth > 64) throw new SnapshotError('EINVAL', `${path}: a chain of more than 64 parents`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SnapshotError(err.code === 'ENOENT' ? 'ENOENT' : err.code === 'EISDIR' ? 'EISDIR' : err.code === 'EACCES' ? 'EACCES' : 'EIO', `cannot read snapshot ${path}: ${err.message}`, { cause: e });
  }
  const { header, textEnd } = parseHeader(bytes, path);
  if (bytes.length < BODY_OFFSET) throw new SnapshotError('EIO', `${path}: truncated in its header's padding`);
  for (let i = textEnd; i < BODY_OFFSET; i++) if (bytes[i] !== 0) throw new SnapshotError('EIO', `${path}: its header's padding is corrupted`);
  if (bytes.length - BODY_OFFSET < header.bodyBytes) throw new SnapshotError('EIO', `${path}: truncated: its body has ${bytes.length - BODY_OFFSET} of ${header.bodyBytes} bytes`);
  if (bytes.length - BODY_OFFSET > header.bodyBytes) throw new SnapshotError('EIO', `${path}: ${bytes.length - BODY_OFFSET - header.bodyBytes} bytes follow its body`);
  if (header.vmsim !== thisVersion()) throw new SnapshotError('EINVAL', `${path} was written by vmsim ${header.vmsim}; this is vmsim ${thisVersion()}, whose machines may differ (take the snapshot again with this version)`);
  const body = bytes.subarray(BODY_OFFSET);
  if (crc32(body) !== header.bodyCrc) throw new SnapshotError('EIO', `${path}: its contents are corrupted (CRC mismatch)`);
  let parent: OpenFile | undefined;
  if (header.parent) {
    const pp = isAbsolute(header.parent.path) ? header.parent.path : resolve(dirname(path), header.parent.path);
    parent = openSnapshotFile(pp, depth + 1);
    if (parent.header.bodyBytes !== header.parent.bodyBytes || parent.header.bodyCrc !== header.parent.bodyCrc) throw new SnapshotError('EINVAL', `${path} is a diff of ${pp}, which has changed since (its contents are not the parent's any more)`);
    if (parent.header.memoryBytes !== header.memoryBytes) throw new SnapshotError('EIO', `${path}: its parent ${pp} is a machine of another size`);
  }
  const sections = readSections(body, path);
  const state = sections.filter((s) => s.kind === SectionKind.STATE);
  const index = sections.filter((s) => s.kind === SectionKind.INDEX);
  if (state.length !== 1 || index.length !== 1) throw new SnapshotError('EIO', `${path}: it needs one state and one index section`);
  const ip = sectionPayload(index[0]!, path);
  if (ip.length % 8 !== 0) throw new SnapshotError('EIO', `${path}: its page index is malformed`);
  const ram = new FileRamImage(header.memoryBytes / 4096, new Uint32Array(ip.buffer.slice(ip.byteOffset, ip.byteOffset + ip.length)), sections.filter((s) => s.kind === SectionKind.PAGES), parent?.ram, path);
  return { header, ram, state: decodeState(sectionPayload(state[0]!, path), path) };
}

/** The parent a snapshot file names (a diff's), or undefined for a whole one; reads only its header (SnapshotError for a file that is not a snapshot). */
export function snapshotParent(path: string): string | undefined {
  let fd = -1;
  const head = Buffer.alloc(BODY_OFFSET);
  let n = 0;
  try {
    fd = openSync(path, 'r');
    for (let r = 1; r > 0 && n < BODY_OFFSET; n += r) r = readSync(fd, head, n, BODY_OFFSET - n, n);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SnapshotError(err.code === 'ENOENT' ? 'ENOENT' : err.code === 'EACCES' ? 'EACCES' : 'EIO', `cannot read snapshot ${path}: ${err.message}`, { cause: e });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return parseHeader(head.subarray(0, n), path).header.parent?.path;
}

/** The snapshot a file holds (checked whole first). */
export function loadSnapshotFile<M = unknown>(path: string): Snapshot<M> {
  if (typeof path !== 'string' || path === '') throw new SnapshotError('EINVAL', `path must be a snapshot file's path, got ${String(path)}`);
  const f = openSnapshotFile(path);
  const c = f.state.core;
  if (c.memoryBytes !== f.header.memoryBytes || c.cpus.length !== f.header.cpus) throw new SnapshotError('EIO', `${path}: its state does not match its header`);
  const image: CoreImage = { ...c, used: f.ram.used, ram: f.ram };
  return new Snapshot<M>(f.state.graph, image);
}

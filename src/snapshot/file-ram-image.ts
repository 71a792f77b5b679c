/**
 * The RAM of a snapshot file as a RamImage: which frame is which stored page (the INDEX), the
 * PAGES sections decompressed on demand (a few kept), and for a diff snapshot its parent's
 * image for every frame the diff does not name.
 */
import type { RamImage } from '../core/core-state.js';
import { sectionPayload, CHUNK_PAGES, type Section } from './file-sections.js';
import { SnapshotError } from './snapshot-error.js';

/** Index slot value: the frame is all zeros (named in a diff: it was not zero in the parent). */
export const ZERO_SLOT = 0xffffffff;
const ZERO = -1;
const PARENT = -2;
const KEEP = 4;

export class FileRamImage implements RamImage {
  /** Per frame: its stored page, ZERO, or PARENT (a diff's frames it does not name). */
  private readonly slotOf: Int32Array;
  private readonly cache = new Map<number, Uint8Array>();
  /** Frames that may hold non-zero bytes (a bitmap in 32-bit words): what a restore copies. */
  readonly used: Uint32Array;
  private released = false;

  constructor(
    readonly frames: number,
    index: Uint32Array,
    private readonly chunks: readonly Section[],
    private readonly parent: FileRamImage | undefined,
    private readonly path: string,
  ) {
    this.slotOf = new Int32Array(frames).fill(parent ? PARENT : ZERO);
    this.used = parent ? parent.used.slice() : new Uint32Array(Math.ceil(frames / 32));
    const stored = chunks.reduce((n, c) => n + c.rawBytes / 4096, 0);
    for (let i = 0; i < index.length; i += 2) {
      const pfn = index[i]!;
      const slot = index[i + 1]!;
      if (pfn >= frames || (slot !== ZERO_SLOT && slot >= stored)) throw new SnapshotError('EIO', `${path}: its page index names frame ${pfn} or page ${slot}, beyond the machine`);
      if (slot === ZERO_SLOT) this.slotOf[pfn] = ZERO;
      else {
        this.slotOf[pfn] = slot;
        this.used[pfn >>> 5]! |= 1 << (pfn & 31);
      }
    }
  }

  read(pfn: number, count: number, out: Uint8Array): void {
    if (this.released) throw new SnapshotError('EINVAL', 'the snapshot has been released');
    for (let k = 0; k < count; k++) {
      const f = pfn + k;
      const s = this.slotOf[f]!;
      const at = k * 4096;
      if (s === ZERO) out.fill(0, at, at + 4096);
      else if (s === PARENT) this.parent!.read(f, 1, out.subarray(at, at + 4096));
      else {
        const c = Math.floor(s / CHUNK_PAGES);
        const o = (s % CHUNK_PAGES) * 4096;
        out.set(this.chunk(c).subarray(o, o + 4096), at);
      }
    }
  }

  private chunk(c: number): Uint8Array {
    let p = this.cache.get(c);
    if (p) return p;
    const s = this.chunks[c] ?? (() => { throw new SnapshotError('EIO', `${this.path}: page chunk ${c} is missing`); })();
    p = sectionPayload(s, this.path);
    if (this.cache.size >= KEEP) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(c, p);
    return p;
  }

  release(): void {
    this.released = true;
    this.cache.clear();
  }
}

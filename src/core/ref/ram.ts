/** Simulated RAM for the reference core: 1 GiB chunks created on first use (V8 callocs them lazily). */
import { CHUNK_BYTES } from '../constants.js';
import { VmmError } from '../../errors.js';

/** Byte-addressable RAM with 64-bit entry access as two 32-bit words. */
export class Ram {
  private readonly chunks: (Uint8Array | undefined)[];
  private readonly words: (Uint32Array | undefined)[];

  constructor(readonly bytes: number) {
    const n = Math.ceil(bytes / CHUNK_BYTES);
    this.chunks = new Array(n).fill(undefined);
    this.words = new Array(n).fill(undefined);
  }

  /** Copies of the chunks created so far (undefined: never touched, all zeros): a snapshot's RAM. */
  copyChunks(): (Uint8Array | undefined)[] {
    return this.chunks.map((c) => c?.slice());
  }

  /** Puts copies of a snapshot's chunks in place (RAM must be fresh). */
  loadChunks(chunks: ReadonlyArray<Uint8Array | undefined>): void {
    chunks.forEach((c, i) => {
      if (c) this.chunk(i).set(c);
    });
  }

  /** Creates every chunk and writes it, so the host commits all of it now. */
  commitAll(): void {
    for (let i = 0; i < this.chunks.length; i++) this.chunk(i).fill(0);
  }

  /** The chunk view, created on first use and the same object afterwards. */
  chunk(i: number): Uint8Array {
    let c = this.chunks[i];
    if (!c) {
      try {
        c = new Uint8Array(Math.min(CHUNK_BYTES, this.bytes - i * CHUNK_BYTES));
      } catch (e) {
        // V8 throws a RangeError when the host cannot give the buffer.
        throw new VmmError('ENOMEM', `could not allocate host memory for simulated RAM chunk ${i}: ${(e as Error).message}`);
      }
      this.chunks[i] = c;
      this.words[i] = new Uint32Array(c.buffer, c.byteOffset, c.length >>> 2);
    }
    return c;
  }

  private wordView(pa: number): Uint32Array {
    const i = Math.floor(pa / CHUNK_BYTES);
    if (!this.words[i]) this.chunk(i);
    return this.words[i]!;
  }

  /** Low word of the 8-byte entry at physical address `pa`. */
  lo(pa: number): number {
    return this.wordView(pa)[(pa % CHUNK_BYTES) / 4]!;
  }

  /** High word of the 8-byte entry at `pa`. */
  hi(pa: number): number {
    return this.wordView(pa)[(pa % CHUNK_BYTES) / 4 + 1]!;
  }

  /** Writes both words of the entry at `pa`. */
  set(pa: number, lo: number, hi: number): void {
    const w = this.wordView(pa);
    const i = (pa % CHUNK_BYTES) / 4;
    w[i] = lo;
    w[i + 1] = hi;
  }

  /** Zeroes the frame `pfn`. */
  zeroFrame(pfn: number): void {
    const pa = pfn * 4096;
    const i = Math.floor(pa / CHUNK_BYTES);
    this.chunk(i).fill(0, pa % CHUNK_BYTES, (pa % CHUNK_BYTES) + 4096);
  }

  /** Copies frame `src` onto frame `dst`. */
  copyFrame(dst: number, src: number): void {
    const s = src * 4096;
    const d = dst * 4096;
    const sc = this.chunk(Math.floor(s / CHUNK_BYTES));
    const dc = this.chunk(Math.floor(d / CHUNK_BYTES));
    dc.set(sc.subarray(s % CHUNK_BYTES, (s % CHUNK_BYTES) + 4096), d % CHUNK_BYTES);
  }

  /** True when all 512 entries of the table at frame `pfn` are zero. */
  tableEmpty(pfn: number): boolean {
    const pa = pfn * 4096;
    const w = this.wordView(pa);
    const base = (pa % CHUNK_BYTES) / 4;
    for (let i = 0; i < 1024; i++) if (w[base + i] !== 0) return false;
    return true;
  }
}

/**
 * A file's bytes on the simulated disk: sparse, one 4 KiB block per page that was ever written
 * (or given at creation), every other page a hole that reads as zeros. The page cache reads
 * blocks in and writes them back; the disk counts both (pgpgin, pgpgout). Blocks live in host
 * memory; a file created from a buffer keeps one copy of it and slices its blocks from it.
 */

const PAGE = 4096;

/** The blocks of one file. */
export class DiskBlocks {
  private readonly blocks = new Map<number, Uint8Array>();

  /** Pages with a block (the file's allocated size, st_blocks / 8). */
  get allocated(): number {
    return this.blocks.size;
  }

  /** Gives the file `data` (copied once) as its first data.length bytes. */
  load(data: Uint8Array): void {
    const copy = data.slice();
    for (let off = 0; off < copy.length; off += PAGE) {
      const end = Math.min(off + PAGE, copy.length);
      let zero = true;
      for (let i = off; i < end && zero; i++) zero = copy[i] === 0;
      if (zero) continue; // a page of zeros is a hole: it costs nothing
      if (end - off === PAGE) this.blocks.set(off / PAGE, copy.subarray(off, end));
      else {
        const b = new Uint8Array(PAGE);
        b.set(copy.subarray(off, end));
        this.blocks.set(off / PAGE, b);
      }
    }
  }

  /** Copies page `index` into dst at offset (zeros for a hole). */
  read(index: number, dst: Uint8Array, offset: number): void {
    const b = this.blocks.get(index);
    if (b) dst.set(b, offset);
    else dst.fill(0, offset, offset + PAGE);
  }

  /** Page `index`'s 4096 bytes (to be copied, not kept or changed), or undefined for a hole: a read in one lookup. */
  block(index: number): Uint8Array | undefined {
    return this.blocks.get(index);
  }

  /** True when page `index` is a hole. */
  isHole(index: number): boolean {
    return !this.blocks.has(index);
  }

  /** Stores page `index` from src at offset. */
  write(index: number, src: Uint8Array, offset: number): void {
    let b = this.blocks.get(index);
    // A block sliced from a loaded buffer is replaced, not written through (the buffer may be shared by its neighbours only).
    if (!b || b.byteOffset % PAGE !== 0 || b.buffer.byteLength !== PAGE) {
      b = new Uint8Array(PAGE);
      this.blocks.set(index, b);
    }
    b.set(src.subarray(offset, offset + PAGE));
  }

  /** Truncation to `size` bytes: blocks past the end go, the tail of the last page is zeroed. */
  truncate(size: number): void {
    const keep = Math.ceil(size / PAGE);
    for (const i of [...this.blocks.keys()]) if (i >= keep) this.blocks.delete(i);
    const tail = size % PAGE;
    if (tail !== 0) {
      const b = this.blocks.get(keep - 1);
      if (b) {
        const copy = new Uint8Array(PAGE);
        copy.set(b.subarray(0, tail));
        this.blocks.set(keep - 1, copy);
      }
    }
  }

  /** A hole punched over pages [first, first + count) (fallocate PUNCH_HOLE): their blocks go, they read as zeros. */
  punch(first: number, count: number): void {
    // Whichever is fewer: the pages of the hole, or the blocks there are (a 1 TiB file's hole, a small one's).
    if (count <= this.blocks.size) for (let i = first; i < first + count; i++) this.blocks.delete(i);
    else for (const i of [...this.blocks.keys()]) if (i >= first && i < first + count) this.blocks.delete(i);
  }

  /** Drops every block (the file is gone). */
  clear(): void {
    this.blocks.clear();
  }
}

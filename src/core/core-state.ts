/**
 * A core's state as a snapshot holds it (docs/snapshots.md): reference counts, each CPU's CR3
 * and pending hierarchy touch, the selected CPU, and RAM frozen as an image. Everything but the
 * RAM image is plain numbers, the same for both backends; the TLB arrays and counters are the
 * machine's (TypeScript's) and travel with the rest of its state.
 */

/** What a core's capture() returns. */
export interface CoreCapture {
  /** Reference count of every frame (0: free; frame 0 reads 1). */
  readonly refs: Uint32Array;
  /** The native core's bitmap of frames ever handed out (64-bit words as pairs of 32-bit ones); undefined for the js core. */
  readonly used?: Uint32Array;
  /** The CPU the core's CPU-level calls act on. */
  readonly selected: number;
  /** Per CPU: CR3's root frame (-1 before the first load) and tag, and its hierarchy's pending faulted touch (0: none). */
  readonly cpus: ReadonlyArray<{ readonly root: number; readonly tag: number; readonly pending: number }>;
  /** The frozen RAM: the backend's own handle (ramImage() reads it). */
  readonly ram: unknown;
}

/** A core built from a capture (CoreConfig.from): its `ram` a handle of the same backend, or undefined for zeroed RAM the caller fills. */
export interface CoreRestore {
  readonly refs: Uint32Array;
  readonly used?: Uint32Array;
  readonly selected: number;
  readonly cpus: ReadonlyArray<{ readonly root: number; readonly tag: number }>;
  readonly ram?: unknown;
}

/** Frozen RAM, read a run of frames at a time. */
export interface RamImage {
  /** Copies frames [pfn, pfn + count) into out (count * 4096 bytes). */
  read(pfn: number, count: number, out: Uint8Array): void;
  /** Lets the image's host memory go now (a later read throws). */
  release(): void;
}

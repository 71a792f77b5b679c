/**
 * Simulated time. The machine has no wall clock: time is what its programs do. Every memory
 * access of the simulated CPU (a load, a store or a fetch, hit or miss) lasts one nanosecond,
 * every 64 bytes read(2) or write(2) copy through the page cache (a cache line) one more, and
 * `machine.sleep(ms)` lets the rest pass (a process sleeping or waiting). The flusher's
 * periods (dirty_writeback_centisecs) and the age of dirty data (dirty_expire_centisecs) are
 * measured on this clock. Kernel work (faults, reclaim, I/O) takes no time: a deterministic
 * clock that a trace advances as its accesses do.
 */

/** Nanoseconds in a centisecond (the unit of the dirty_* sysctls). */
export const NS_PER_CENTISEC = 10_000_000;

/** The machine's simulated clock. */
export class SimClock {
  /** Time added by sleeps and by the bytes read(2)/write(2) copied. */
  private extra = 0;

  constructor(
    /** Memory accesses the CPU made so far (its read, write and execute counters). */
    private readonly accesses: () => number,
  ) {}

  /** Nanoseconds since the machine was built. */
  now(): number {
    return this.accesses() + this.extra;
  }

  /** Lets `ns` nanoseconds pass. */
  advance(ns: number): void {
    this.extra += ns;
  }

  /** A copy of `bytes` bytes by read(2) or write(2): one nanosecond per cache line. */
  copied(bytes: number): void {
    this.extra += Math.ceil(bytes / 64);
  }
}

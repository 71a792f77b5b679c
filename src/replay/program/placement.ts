/**
 * Where a recorded program's threads run: a new thread goes to the lowest-numbered CPU that
 * runs no live thread; when every CPU runs one, to the CPU running the fewest (the lowest
 * numbered of those), which it then time-shares. A thread stays on its CPU (no migration);
 * its CPU frees up when it ends. Threads are placed in the order the trace starts them, so
 * the placement is the same on every replay of a trace.
 */
export class Placement {
  /** Live threads per CPU. */
  private readonly live: number[];

  constructor(readonly cpus: number) {
    this.live = new Array<number>(cpus).fill(0);
  }

  /** The CPU for a new thread. */
  place(): number {
    let best = 0;
    for (let c = 0; c < this.cpus; c++) {
      if (this.live[c] === 0) {
        best = c;
        break;
      }
      if (this.live[c]! < this.live[best]!) best = c;
    }
    this.live[best]!++;
    return best;
  }

  /** A thread goes on `cpu` (one that keeps the CPU it had: an execve's caller). */
  take(cpu: number): number {
    this.live[cpu]!++;
    return cpu;
  }

  /** A thread on `cpu` ended. */
  release(cpu: number): void {
    if (this.live[cpu]! > 0) this.live[cpu]!--;
  }

  /** Live threads on each CPU. */
  counts(): readonly number[] {
    return this.live;
  }
}

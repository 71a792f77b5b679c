/** A progress bar on stderr for long runs: drawn only on a terminal, throttled, cleared at the end. */

/** What the bar writes to. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** Redraws at most every `minIntervalMs`; writes nothing at all unless the stream is a TTY. */
export class ProgressBar {
  private last = -Infinity;
  private drawn = false;
  private readonly start: number;
  private readonly now: () => number;

  constructor(private readonly o: { stream: ProgressStream; total?: number | undefined; label?: string; minIntervalMs?: number; rateUnit?: string; now?: () => number }) {
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Shows `done` units of `total` (bytes, rows, ...). */
  update(done: number): void {
    if (!this.o.stream.isTTY) return;
    const t = this.now();
    if (t - this.last < (this.o.minIntervalMs ?? 100)) return;
    this.last = t;
    const label = this.o.label ?? '';
    const total = this.o.total;
    let text: string;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, done / total);
      const cols = Math.max(10, Math.min(40, (this.o.stream.columns ?? 80) - label.length - 20));
      const fill = Math.round(frac * cols);
      text = `${label}[${'#'.repeat(fill)}${'.'.repeat(cols - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
    } else {
      text = `${label}${done} done`;
    }
    const secs = (t - this.start) / 1000;
    if (this.o.rateUnit && secs > 0) text += ` ${(done / secs / 1e6).toFixed(1)} M${this.o.rateUnit}/s`;
    this.o.stream.write(`\r${text}`);
    this.drawn = true;
  }

  /** Clears the line if anything was drawn. */
  finish(): void {
    if (!this.drawn) return;
    this.o.stream.write(`\r${' '.repeat(Math.min(79, (this.o.stream.columns ?? 80) - 1))}\r`);
    this.drawn = false;
  }
}

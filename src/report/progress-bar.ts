/** A progress bar on stderr for long runs: drawn only on a terminal, throttled, cleared at the end. */
import { formatBytes, formatCount, formatDuration } from './table.js';

/** What the bar writes to: a NodeJS.WriteStream or anything shaped like one. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** How a ProgressBar draws. */
export interface ProgressBarOptions {
  stream: ProgressStream;
  /** Units expected; unknown (or 0) shows a count instead of a bar. */
  total?: number | undefined;
  /** Text before the bar, e.g. 'replay '. */
  label?: string;
  /** What is counted, for "N units done" and the rate; default 'units'. */
  unit?: string;
  /** Least time between redraws; default 100. */
  minIntervalMs?: number;
  /** Show the time since the start after the count ("1.2M accesses, 12.3 s"). */
  elapsed?: boolean;
  /** Clock in milliseconds; default performance.now (tests inject one). */
  now?: () => number;
}

const SPINNER = ['|', '/', '-', '\\'];

/** 1234 → "1.2k", 5 → "5.0": rates need few digits. */
function si(v: number): string {
  const prefixes = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  while (v >= 999.95 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)}${prefixes[i]}`;
}

/** An amount of `unit` as people write it: bytes as "58.4 MiB", anything else as "1.2k configs". */
function amount(v: number, unit: string): string {
  return unit === 'B' ? formatBytes(Math.round(v)) : `${si(v)} ${unit}`;
}

/** Redraws at most every `minIntervalMs`; writes nothing at all unless the stream is a TTY. */
export class ProgressBar {
  private last = -Infinity;
  private frame = 0;
  /** Longest line drawn since the last clear: shorter redraws and finish() must cover it. */
  private drawnWidth = 0;
  private readonly start: number;
  private readonly now: () => number;

  constructor(private readonly o: ProgressBarOptions) {
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Shows `done` units (of `total` when known): "\r" + label + bar + percent + rate, on one line. */
  update(done: number): void {
    const stream = this.o.stream;
    if (!stream.isTTY) return;
    const t = this.now();
    if (t - this.last < (this.o.minIntervalMs ?? 100)) return;
    this.last = t;
    const label = this.o.label ?? '';
    const unit = this.o.unit ?? 'units';
    // Staying short of the last column keeps the terminal from wrapping, which would break '\r' redraws.
    const maxLen = Math.max(1, (stream.columns || 80) - 1);
    const secs = (t - this.start) / 1000;
    const rate = secs > 0 ? ` ${amount(Math.max(0, done) / secs, unit)}/s` : '';
    const total = this.o.total;
    let text: string;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, Math.max(0, done / total));
      const percent = ` ${String(Math.floor(frac * 100)).padStart(3)}%`;
      // On a narrow terminal the rate goes first, then the bar shrinks (to 10), then the line is cut.
      const room = maxLen - label.length - 2 - percent.length;
      const suffix = room - rate.length >= 10 ? percent + rate : percent;
      const cols = Math.max(10, Math.min(40, room - (suffix.length - percent.length)));
      const fill = Math.floor(frac * cols);
      text = `${label}[${'#'.repeat(fill)}${'.'.repeat(cols - fill)}]${suffix}`;
    } else {
      const count = unit === 'B' ? formatBytes(done) : `${formatCount(done)} ${unit}`;
      text = `${label}${SPINNER[this.frame++ % SPINNER.length]} ${count}${this.o.elapsed ? `, ${formatDuration(t - this.start)}` : ' done'}${rate}`;
    }
    text = text.slice(0, maxLen);
    stream.write(`\r${text.padEnd(this.drawnWidth)}`);
    this.drawnWidth = Math.max(this.drawnWidth, text.length);
  }

  /** Clears the line ("\r", spaces, "\r") if anything was drawn; later updates draw afresh. */
  finish(): void {
    if (this.drawnWidth === 0) return;
    this.o.stream.write(`\r${' '.repeat(this.drawnWidth)}\r`);
    this.drawnWidth = 0;
    this.last = -Infinity;
  }
}

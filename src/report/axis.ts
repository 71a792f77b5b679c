/** Chart axes: the scale (linear, log2, log10), its ticks, and tick labels formatted alike along the axis. */
import { numLabel } from './xml.js';

/** How tick labels read: fractions as percentages, SI-suffixed counts (200k), sizes (16, 1K, 4K), or plain numbers. */
export type TickFormat = 'percent' | 'si' | 'size' | 'number';

/** What an axis shows. */
export interface AxisSpec {
  /** The axis title, with its unit: "TLB miss rate (% of lookups)". */
  label: string;
  /** Default linear; log2 for sizes (ticks at powers of two), log10 for rates spanning decades. Log axes need values > 0. */
  scale?: 'linear' | 'log2' | 'log10';
  /** Default 'number'. */
  format?: TickFormat;
  /** Ticks at exactly these values, every one labelled (e.g. every swept size). */
  ticks?: readonly number[];
  /** A linear x axis that starts at 0 rather than at the least value (y axes always do). */
  fromZero?: boolean;
}

/** An axis laid out over the data: its domain in transformed units, ticks and their labels. */
export interface Axis {
  spec: AxisSpec;
  /** value → transformed value (log2/log10 or itself). */
  t: (v: number) => number;
  /** Domain in transformed units. */
  lo: number;
  hi: number;
  ticks: number[];
  labels: string[];
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above v (v > 0). */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  // Tolerance: 2.5 * 0.01 may round a hair below 0.125 / 5.
  for (const m of [1, 2, 2.5, 5]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** Tick values covering [lo, hi] (about 5 intervals) on multiples of a nice step. */
export function niceTicks(lo: number, hi: number, intervals = 5): number[] {
  const step = niceCeil((hi - lo) / intervals);
  // The tolerance keeps a bound that is a multiple of step (up to rounding) from growing an extra interval.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const out: number[] = [];
  for (let k = first; k <= last; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

const isPow2 = (x: number) => x > 0 && 2 ** Math.round(Math.log2(x)) === x;

/** Fewest decimals (0..8) that write every value exactly (to 1e-9 of the largest). */
function commonDecimals(values: readonly number[]): number {
  const scale = Math.max(1e-300, ...values.map(Math.abs));
  for (let d = 0; d <= 8; d++) if (values.every((v) => Math.abs(Number(v.toFixed(d)) - v) <= 1e-9 * scale)) return d;
  return 8;
}

/** 12345 → "12,345" (whole numbers of five digits and more get separators). */
function grouped(s: string): string {
  const [int, frac] = s.split('.');
  const g = int!.replace(/^-/, '').length >= 5 ? int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : int!;
  return frac !== undefined ? `${g}.${frac}` : g;
}

/** Powers of two as sizes: 16, 64, 1K, 4K, 1M, 1G; other values as they are. */
export function sizeLabel(x: number): string {
  if (isPow2(x)) {
    if (x >= 2 ** 30) return `${x / 2 ** 30}G`;
    if (x >= 2 ** 20) return `${x / 2 ** 20}M`;
    if (x >= 2 ** 10) return `${x / 2 ** 10}K`;
  }
  return grouped(numLabel(x));
}

/**
 * Labels for `ticks` in `format`, alike along the axis: one number of decimals for all of them
 * (0%, 2.5%, 5.0%), one SI prefix for all (0, 200k, 400k). On a log axis each label has the
 * decimals it needs (0.01%, 0.1%, 1%).
 */
export function tickLabels(ticks: readonly number[], format: TickFormat = 'number', log = false): string[] {
  if (format === 'size') return ticks.map(sizeLabel);
  const scaled = format === 'percent' ? ticks.map((v) => v * 100) : ticks;
  let div = 1;
  let suffix = '';
  if (format === 'si') {
    const m = Math.max(0, ...ticks.map(Math.abs));
    for (const [d, s] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
      if (m >= d) {
        div = d;
        suffix = s;
        break;
      }
    }
  }
  const vals = scaled.map((v) => v / div);
  const unit = format === 'percent' ? '%' : '';
  if (log) return vals.map((v) => `${grouped(numLabel(Number(v.toPrecision(6))))}${v === 0 ? '' : suffix}${unit}`);
  const d = commonDecimals(vals);
  return vals.map((v) => (v === 0 && format === 'si' ? '0' : `${grouped((Object.is(Number(v.toFixed(d)), -0) ? 0 : v).toFixed(d))}${v === 0 ? '' : suffix}${unit}`));
}

/**
 * Lays out an axis over `values`: a linear axis from 0 (`fromZero`, or the least value) to a nice
 * bound at or above the largest; a log2 axis over the data with ticks at its powers of two; a
 * log10 axis over whole decades.
 */
export function buildAxis(spec: AxisSpec, values: readonly number[], fromZero: boolean): Axis {
  const scale = spec.scale ?? 'linear';
  const format = spec.format ?? 'number';
  if (scale === 'log2' || scale === 'log10') {
    const t = scale === 'log2' ? Math.log2 : Math.log10;
    const vs = values.length ? values : [1, scale === 'log2' ? 2 : 10];
    let lo = Math.min(...vs.map(t));
    let hi = Math.max(...vs.map(t));
    let ticks: number[];
    if (spec.ticks) ticks = [...spec.ticks];
    else if (scale === 'log2') {
      ticks = [];
      for (let e = Math.ceil(lo - 1e-9); e <= Math.floor(hi + 1e-9); e++) ticks.push(2 ** e);
      if (ticks.length === 0) ticks = [...new Set(vs)].sort((a, b) => a - b);
    } else {
      lo = Math.floor(lo + 1e-9);
      hi = Math.max(lo + 1, Math.ceil(hi - 1e-9));
      ticks = [];
      for (let e = lo; e <= hi; e++) ticks.push(Number((10 ** e).toPrecision(12)));
    }
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    return { spec, t, lo, hi, ticks, labels: tickLabels(ticks, format, true) };
  }
  const t = (v: number) => v;
  if (spec.ticks) {
    const ticks = [...spec.ticks];
    const all = [...values, ...ticks];
    let lo = Math.min(...all);
    let hi = Math.max(...all);
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    return { spec, t, lo, hi, ticks, labels: tickLabels(ticks, format) };
  }
  const dataLo = values.length ? Math.min(...values) : 0;
  const dataHi = values.length ? Math.max(...values) : 1;
  const lo0 = fromZero ? Math.min(0, dataLo) : dataLo;
  const hi0 = fromZero ? Math.max(0, dataHi) : dataHi;
  if (lo0 === hi0) {
    // One value (or all zero): a unit range around it, so it sits on a labelled axis.
    const ticks = lo0 === 0 ? niceTicks(0, format === 'percent' ? 0.01 : 1) : niceTicks(Math.min(0, lo0), Math.max(0, hi0) * 1.2);
    return { spec, t, lo: ticks[0]!, hi: ticks[ticks.length - 1]!, ticks, labels: tickLabels(ticks, format) };
  }
  if (fromZero) {
    const ticks = niceTicks(lo0, hi0);
    return { spec, t, lo: ticks[0]!, hi: ticks[ticks.length - 1]!, ticks, labels: tickLabels(ticks, format) };
  }
  // An x axis spans the data exactly; its ticks are the nice values inside.
  const ticks = niceTicks(lo0, hi0).filter((v) => v >= lo0 - 1e-9 * (hi0 - lo0) && v <= hi0 + 1e-9 * (hi0 - lo0));
  return { spec, t, lo: lo0, hi: hi0, ticks, labels: tickLabels(ticks, format) };
}

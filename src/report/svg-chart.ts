/** A line chart as a standalone SVG 1.1 document: what `vmsim sweep --plot` draws. */

/** One line of the chart. */
export interface ChartSeries {
  name: string;
  points: ReadonlyArray<{ x: number; y: number }>;
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic x axis with ticks at powers of two (TLB sizes); x must be > 0. */
  xLog2?: boolean;
  /** y values are fractions, labelled as percentages (0.125 → "12.5%"). */
  yPercent?: boolean;
  /** Logarithmic y axis with ticks at powers of ten; y must be > 0. */
  yLog10?: boolean;
  /** Tick (and label) every one of these x values, e.g. every swept value. */
  xTicks?: readonly number[];
  /** x values are indices 0..n-1 labelled with these names (e.g. CPU presets). */
  xCategories?: readonly string[];
  series: ReadonlyArray<ChartSeries>;
  /** Pixels; default 720. */
  width?: number;
  /** Pixels; default 440. */
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for XML content and attribute values; characters XML 1.0 forbids even escaped become U+FFFD. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above v (v > 0). */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  // Tolerance: 2.5 * 0.01 may round a hair below 0.125 / 5.
  for (const m of [1, 2, 2.5, 5]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** Tick values from lo to hi (at most about 5 intervals), on multiples of a nice step covering [lo, hi]. */
function niceTicks(lo: number, hi: number): number[] {
  const step = niceCeil((hi - lo) / 5);
  // The tolerance keeps a bound that is a multiple of step (up to rounding) from growing an extra interval.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const out: number[] = [];
  for (let k = first; k <= last; k++) out.push(k * step);
  return out;
}

/** A number without float noise: 5.000000000000001 → "5", 0.1 + 0.2 → "0.3". */
function numLabel(v: number): string {
  const r = Number(v.toPrecision(12));
  return Object.is(r, -0) ? '0' : String(r);
}

/** Powers of two as sizes: 16, 64, 1K, 4K, 1M, 1G. */
function sizeLabel(x: number): string {
  if (x >= 2 ** 30) return `${x / 2 ** 30}G`;
  if (x >= 2 ** 20) return `${x / 2 ** 20}M`;
  if (x >= 2 ** 10) return `${x / 2 ** 10}K`;
  return numLabel(x);
}

/** Pixel coordinates with two decimals at most, so output is short and deterministic. */
const px2 = (v: number) => numLabel(Math.round(v * 100) / 100);

const isPow2 = (x: number) => x > 0 && 2 ** Math.round(Math.log2(x)) === x;

/** The chart as SVG 1.1 text (same spec → same bytes). Throws a TypeError naming the series and point index of a non-finite value (or, on a log axis, x ≤ 0). */
export function lineChartSvg(spec: ChartSpec): string {
  const W = spec.width ?? 720;
  const H = spec.height ?? 440;
  const m = { l: 70, r: spec.series.length > 1 ? 170 : 30, t: 40, b: 55 };
  if (!Number.isFinite(W) || !Number.isFinite(H) || W <= m.l + m.r || H <= m.t + m.b) throw new TypeError(`chart size ${W}x${H} leaves no room to plot`);
  spec.series.forEach((s, si) =>
    s.points.forEach((p, pi) => {
      const where = `series ${si} (${JSON.stringify(s.name)}) point ${pi}`;
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new TypeError(`${where} is not finite (x ${p.x}, y ${p.y})`);
      if (spec.xLog2 && p.x <= 0) throw new TypeError(`${where}: x ${p.x} cannot go on a log2 axis`);
      if (spec.yLog10 && p.y <= 0) throw new TypeError(`${where}: y ${p.y} cannot go on a log10 axis`);
    }),
  );
  const pts = spec.series.flatMap((s) => s.points);
  const fx = (x: number) => (spec.xLog2 ? Math.log2(x) : x);

  // x: the data's range (one value is widened so it lands mid-axis).
  let x0 = pts.length ? Math.min(...pts.map((p) => fx(p.x))) : 0;
  let x1 = pts.length ? Math.max(...pts.map((p) => fx(p.x))) : 1;
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  let xTicks: number[];
  if (spec.xTicks || spec.xCategories) {
    xTicks = spec.xTicks ? [...spec.xTicks] : spec.xCategories!.map((_, i) => i);
  } else if (spec.xLog2) {
    xTicks = [...new Set(pts.map((p) => p.x).filter(isPow2))].sort((a, b) => a - b);
    // No power of two among the data: use those inside its range instead.
    if (xTicks.length === 0) for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) xTicks.push(2 ** e);
  } else {
    xTicks = niceTicks(x0, x1).filter((x) => x >= x0 - 1e-9 * (x1 - x0) && x <= x1 + 1e-9 * (x1 - x0));
  }

  // y: from 0 (or below, for negative data) to a nice bound at or above the largest y.
  const fy = (y: number) => (spec.yLog10 ? Math.log10(y) : y);
  let yTicks: number[];
  if (spec.yLog10) {
    const e0 = pts.length ? Math.floor(Math.min(...pts.map((p) => Math.log10(p.y)))) : -3;
    const e1 = pts.length ? Math.max(e0 + 1, Math.ceil(Math.max(...pts.map((p) => Math.log10(p.y))))) : 0;
    yTicks = [];
    for (let e = e0; e <= e1; e++) yTicks.push(10 ** e);
  } else {
    const yLoData = Math.min(0, ...pts.map((p) => p.y));
    const yHiData = Math.max(0, ...pts.map((p) => p.y));
    yTicks = yHiData === yLoData ? [0, 0.2, 0.4, 0.6, 0.8, 1] : niceTicks(yLoData, yHiData);
  }
  const y0 = fy(yTicks[0]!);
  const y1 = fy(yTicks[yTicks.length - 1]!);

  const plotW = W - m.l - m.r;
  const plotH = H - m.t - m.b;
  const sx = (x: number) => m.l + ((fx(x) - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => H - m.b - ((fy(y) - y0) / (y1 - y0)) * plotH;
  const xLabel = (x: number) => (spec.xCategories ? (spec.xCategories[x] ?? numLabel(x)) : spec.xLog2 ? sizeLabel(x) : numLabel(x));
  const yLabel = (y: number) => (spec.yPercent ? `${numLabel(y * 100)}%` : numLabel(y));
  // Crowded power-of-two ticks keep every mark but label only every k-th (about 45 px per label); given ticks are all labelled.
  const labelEvery = spec.xTicks || spec.xCategories ? 1 : Math.max(1, Math.ceil(xTicks.length / Math.max(1, Math.floor(plotW / 45))));

  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<text x="${px2(W / 2)}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`);
  for (const y of yTicks) {
    const Y = px2(sy(y));
    o.push(`<line x1="${m.l - 5}" y1="${Y}" x2="${W - m.r}" y2="${Y}" stroke="${y === 0 && !spec.yLog10 ? '#000000' : '#e0e0e0'}"/>`);
    o.push(`<text x="${m.l - 8}" y="${Y}" text-anchor="end" dominant-baseline="middle">${escapeXml(yLabel(y))}</text>`);
  }
  o.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#000000"/>`);
  o.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#000000"/>`);
  xTicks.forEach((x, i) => {
    const X = px2(sx(x));
    o.push(`<line x1="${X}" y1="${H - m.b}" x2="${X}" y2="${H - m.b + 5}" stroke="#000000"/>`);
    if (i % labelEvery === 0) o.push(`<text x="${X}" y="${H - m.b + 18}" text-anchor="middle">${escapeXml(xLabel(x))}</text>`);
  });
  o.push(`<text x="${px2(m.l + plotW / 2)}" y="${H - 12}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  const ly = px2(m.t + plotH / 2);
  o.push(`<text x="18" y="${ly}" text-anchor="middle" transform="rotate(-90 18 ${ly})">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    if (s.points.length === 0) return;
    o.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${s.points.map((p) => `${px2(sx(p.x))},${px2(sy(p.y))}`).join(' ')}"/>`);
    for (const p of s.points) o.push(`<circle cx="${px2(sx(p.x))}" cy="${px2(sy(p.y))}" r="3" fill="${colour}"/>`);
  });
  if (spec.series.length > 1) {
    // Empty series are listed too, so a missing line is visibly missing rather than unnamed.
    spec.series.forEach((s, i) => {
      const colour = PALETTE[i % PALETTE.length]!;
      const y = m.t + 10 + i * 18;
      o.push(`<line x1="${W - m.r + 15}" y1="${y}" x2="${W - m.r + 35}" y2="${y}" stroke="${colour}" stroke-width="2"/>`);
      o.push(`<text x="${W - m.r + 40}" y="${y}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
    });
  }
  o.push('</svg>');
  return o.join('\n') + '\n';
}

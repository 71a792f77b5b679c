/** A line chart as a standalone SVG document: what `vmsim sweep --plot` draws. */

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
  /** Logarithmic x axis with ticks at powers of two (TLB sizes). */
  xLog2?: boolean;
  /** y values are fractions, labelled as percentages. */
  yPercent?: boolean;
  series: ReadonlyArray<ChartSeries>;
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** Escapes text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** 1, 2, 5 × 10^k at or above v. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function sizeLabel(x: number): string {
  if (x >= 2 ** 20 && x % 2 ** 20 === 0) return `${x / 2 ** 20}M`;
  if (x >= 1024 && x % 1024 === 0) return `${x / 1024}K`;
  return String(x);
}

const num = (v: number) => (Math.round(v * 100) / 100).toString();

/** The chart as SVG 1.1 text; deterministic. Throws a TypeError naming a non-finite (or, on a log axis, non-positive) point. */
export function lineChartSvg(spec: ChartSpec): string {
  const W = spec.width ?? 720;
  const H = spec.height ?? 440;
  const m = { l: 70, r: 170, t: 40, b: 55 };
  spec.series.forEach((s, si) =>
    s.points.forEach((p, pi) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new TypeError(`series ${JSON.stringify(s.name)} point ${pi} is not finite (x ${p.x}, y ${p.y})`);
      if (spec.xLog2 && p.x <= 0) throw new TypeError(`series ${JSON.stringify(s.name)} point ${pi}: x ${p.x} cannot go on a log axis`);
      void si;
    }),
  );
  const pts = spec.series.flatMap((s) => s.points);
  const fx = (x: number) => (spec.xLog2 ? Math.log2(x) : x);
  let x0 = pts.length ? Math.min(...pts.map((p) => fx(p.x))) : 0;
  let x1 = pts.length ? Math.max(...pts.map((p) => fx(p.x))) : 1;
  if (x0 === x1) {
    x0 -= 1;
    x1 += 1;
  }
  const yMax = niceCeil(Math.max(0, ...pts.map((p) => p.y)));
  const px = (x: number) => m.l + ((fx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`);
  // Axes.
  o.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#000"/>`);
  o.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#000"/>`);
  const xTicks = spec.xLog2 ? [...new Set(pts.map((p) => p.x).filter((x) => Number.isInteger(Math.log2(x))))].sort((a, b) => a - b) : [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  for (const x of xTicks) {
    const X = num(px(x));
    o.push(`<line x1="${X}" y1="${H - m.b}" x2="${X}" y2="${H - m.b + 5}" stroke="#000"/>`);
    o.push(`<text x="${X}" y="${H - m.b + 18}" text-anchor="middle">${escapeXml(spec.xLog2 ? sizeLabel(x) : String(x))}</text>`);
  }
  for (let k = 0; k <= 5; k++) {
    const y = (yMax * k) / 5;
    const Y = num(py(y));
    o.push(`<line x1="${m.l - 5}" y1="${Y}" x2="${W - m.r}" y2="${Y}" stroke="${k === 0 ? '#000' : '#e0e0e0'}"/>`);
    const label = spec.yPercent ? `${num(y * 100)}%` : num(y);
    o.push(`<text x="${m.l - 8}" y="${Y}" text-anchor="end" dominant-baseline="middle">${escapeXml(label)}</text>`);
  }
  o.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  o.push(`<text x="18" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(m.t + H - m.b) / 2})">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    if (s.points.length > 0) {
      o.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${s.points.map((p) => `${num(px(p.x))},${num(py(p.y))}`).join(' ')}"/>`);
      for (const p of s.points) o.push(`<circle cx="${num(px(p.x))}" cy="${num(py(p.y))}" r="3" fill="${colour}"/>`);
    }
    if (spec.series.length > 1) {
      const ly = m.t + 10 + i * 18;
      o.push(`<line x1="${W - m.r + 15}" y1="${ly}" x2="${W - m.r + 35}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
      o.push(`<text x="${W - m.r + 40}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
    }
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

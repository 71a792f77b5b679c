/** A grouped bar chart as a standalone SVG 1.1 document: values per category (a sweep across --cpu presets), one bar per series. */
import { buildAxis, tickLabels, type AxisSpec } from './axis.js';
import { identicalTo, seriesStyle } from './chart-style.js';
import { FONT, layoutLegend, titleBlock, wrapPx, type LegendItem } from './chart-layout.js';
import { textWidth } from './text-width.js';
import { escapeXml, px } from './xml.js';

/** One bar per category; undefined where the series has no value there. */
export interface BarSeries {
  name: string;
  values: ReadonlyArray<number | undefined>;
}

/** What to draw. */
export interface BarChartSpec {
  title: string;
  subtitle?: string;
  categories: readonly string[];
  /** The category axis's title ("cpu"). */
  xLabel: string;
  /** The value axis (linear from 0, or log10). */
  y: AxisSpec;
  series: ReadonlyArray<BarSeries>;
  legendTitle?: string;
  note?: string;
  /** Pixels; default 800. */
  width?: number;
  /** Pixels of the plot; default 340. */
  plotHeight?: number;
}

/** A value as its bar's label: three significant digits (64.0%, 0.0236%), in the axis's format. */
function valueLabel(v: number, y: AxisSpec): string {
  if (v === 0) return y.format === 'percent' ? '0%' : '0';
  if (y.format === 'percent') return `${(v * 100).toPrecision(3)}%`;
  if (y.format === 'number' || y.format === undefined) return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3);
  return tickLabels([Number(v.toPrecision(3))], y.format, true)[0]!;
}

/** The chart as SVG 1.1 text (same spec → same bytes). Throws a TypeError for a non-finite value, or one ≤ 0 on a log axis. */
export function barChartSvg(spec: BarChartSpec): string {
  const log = spec.y.scale === 'log10';
  spec.series.forEach((s, si) =>
    s.values.forEach((v, ci) => {
      if (v === undefined) return;
      const where = `series ${si} (${JSON.stringify(s.name)}) category ${ci} (${JSON.stringify(spec.categories[ci])})`;
      if (!Number.isFinite(v)) throw new TypeError(`${where} is not finite (${v})`);
      if (log && v <= 0) throw new TypeError(`${where}: ${v} cannot go on a log10 axis`);
    }),
  );
  const W = spec.width ?? 800;
  const plotH = spec.plotHeight ?? 340;
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  const ya = buildAxis(spec.y, values, true);
  const same = identicalTo(spec.series.map((s) => ({ points: s.values.map((v, i) => ({ x: i, y: v ?? NaN })) })));
  const items: LegendItem[] = spec.series.length < 2 ? [] : spec.series.map((s, i) => ({ label: s.name, style: seriesStyle(i), bar: true, ...(same[i]! >= 0 ? { note: `identical to ${spec.series[same[i]!]!.name}` } : {}) }));
  const yLines = wrapPx(spec.y.label, plotH - 10, FONT);
  const left = Math.ceil(Math.max(0, ...ya.labels.map((l) => textWidth(l, FONT)))) + 14 + yLines.length * 15 + 10;
  const head = titleBlock(spec.title, spec.subtitle, W);
  const legend = layoutLegend(items, spec.legendTitle, W, W - left - 20);
  const right = legend.placement === 'right' ? legend.width + 16 : 28;
  const plotW = W - left - right;
  const n = spec.categories.length;
  const groupW = plotW / Math.max(1, n);
  const k = Math.max(1, spec.series.length);
  const barW = Math.min(60, (groupW * 0.8) / k);
  // Value labels go above the bars, turned upright when wider than a bar.
  const labels = spec.series.map((s) => s.values.map((v) => (v === undefined ? 'n/a' : valueLabel(v, spec.y))));
  const widest = Math.max(0, ...labels.flat().map((l) => textWidth(l, FONT - 1)));
  const upright = widest + 4 > barW;
  // Room above the plot for the labels of the tallest bars (a label sits above its bar's top).
  const reach = (v: number | undefined, l: string) => (v === undefined ? 0 : (ya.t(v) - ya.lo) / (ya.hi - ya.lo)) * plotH + 6 + (upright ? textWidth(l, FONT - 1) : FONT);
  const headroom = Math.max(8, ...spec.series.flatMap((s, si) => s.values.map((v, ci) => reach(v, labels[si]![ci]!) - plotH)));
  const top = head.height + headroom;
  const catLabels = spec.categories.map((c) => wrapPx(c, groupW - 6, FONT));
  const catH = Math.max(...catLabels.map((l) => l.length)) * 15;
  const xLabelY = top + plotH + 10 + catH + 18;
  const noteLines = spec.note ? wrapPx(spec.note, W - 40, FONT - 1) : [];
  const legendTop = xLabelY + 16;
  const H = Math.ceil(legendTop + (legend.placement === 'below' ? legend.height + 10 : 0) + noteLines.length * 15 + 8);
  const sy = (y: number) => top + plotH - ((ya.t(y) - ya.lo) / (ya.hi - ya.lo)) * plotH;
  const base = log ? top + plotH : sy(0);

  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="${FONT}">`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(...head.svg);
  ya.ticks.forEach((y, i) => {
    const Y = px(sy(y));
    o.push(`<line x1="${left - 5}" y1="${Y}" x2="${px(left + plotW)}" y2="${Y}" stroke="#dddddd"/>`);
    o.push(`<text x="${left - 8}" y="${Y}" text-anchor="end" dominant-baseline="central">${escapeXml(ya.labels[i]!)}</text>`);
  });
  spec.series.forEach((s, si) => {
    const st = seriesStyle(si);
    s.values.forEach((v, ci) => {
      const x = left + ci * groupW + (groupW - k * barW) / 2 + si * barW;
      const label = labels[si]![ci]!;
      let yTop = base;
      if (v !== undefined) {
        yTop = Math.min(base, sy(v));
        o.push(`<rect x="${px(x + 1)}" y="${px(yTop)}" width="${px(barW - 2)}" height="${px(Math.max(0, base - yTop))}" fill="${st.colour}" stroke="#333333" stroke-width="0.5"/>`);
      }
      const cx = x + barW / 2;
      if (upright) o.push(`<text x="${px(cx)}" y="${px(yTop - 4)}" font-size="${FONT - 1}" dominant-baseline="central" transform="rotate(-90 ${px(cx)} ${px(yTop - 4)})">${escapeXml(label)}</text>`);
      else o.push(`<text x="${px(cx)}" y="${px(yTop - 5)}" font-size="${FONT - 1}" text-anchor="middle">${escapeXml(label)}</text>`);
    });
  });
  o.push(`<rect x="${left}" y="${px(top)}" width="${px(plotW)}" height="${plotH}" fill="none" stroke="#000000"/>`);
  catLabels.forEach((lines, ci) => lines.forEach((l, j) => o.push(`<text x="${px(left + (ci + 0.5) * groupW)}" y="${px(top + plotH + 18 + j * 15)}" text-anchor="middle">${escapeXml(l)}</text>`)));
  const cy = top + plotH / 2;
  yLines.forEach((l, i) => {
    const lx = 16 + i * 15;
    o.push(`<text x="${lx}" y="${px(cy)}" text-anchor="middle" transform="rotate(-90 ${lx} ${px(cy)})">${escapeXml(l)}</text>`);
  });
  o.push(`<text x="${px(left + plotW / 2)}" y="${px(xLabelY)}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  if (legend.placement === 'right') o.push(...legend.draw(left + plotW + 6, top));
  else if (legend.placement === 'below') o.push(...legend.draw(left, legendTop));
  noteLines.forEach((l, i) => o.push(`<text x="20" y="${px(H - 10 - (noteLines.length - 1 - i) * 15)}" font-size="${FONT - 1}" fill="#555555">${escapeXml(l)}</text>`));
  o.push('</svg>');
  return o.join('\n') + '\n';
}

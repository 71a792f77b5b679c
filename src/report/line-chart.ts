/**
 * A line chart as a standalone SVG 1.1 document: what curve, sweep and replay --series draw.
 * One plot, or panels stacked over one x axis when the series have different units (a miss
 * rate in %, walks per 1,000 accesses), each panel with its own y axis.
 */
import { buildAxis, type Axis, type AxisSpec } from './axis.js';
import { identicalTo, markerSvg, seriesStyle, type SeriesStyle } from './chart-style.js';
import { FONT, layoutLegend, titleBlock, wrapPx, type LegendItem } from './chart-layout.js';
import { textWidth } from './text-width.js';
import { escapeXml, px } from './xml.js';

/** One line of the chart. */
export interface ChartSeries {
  name: string;
  points: ReadonlyArray<{ x: number; y: number }>;
}

/** One plot of a chart with panels: its y axis and the series drawn against it. */
export interface ChartPanel {
  /** A heading over the panel, left-aligned ("L1 data TLB"). */
  title?: string;
  y: AxisSpec;
  series: ReadonlyArray<ChartSeries>;
}

/** What to draw. */
export interface LineChartSpec {
  title: string;
  /** A grey line under the title: the trace, the preset, what was fixed. */
  subtitle?: string;
  x: AxisSpec;
  /** The y axis of a chart of one plot (or give `panels`). */
  y?: AxisSpec;
  series?: ReadonlyArray<ChartSeries>;
  /** Plots stacked over the one x axis, each with its own y axis. */
  panels?: ReadonlyArray<ChartPanel>;
  /** The legend's heading: what tells the lines apart ("policy", "tlb-ways"). */
  legendTitle?: string;
  /** false: no legend (each panel's axis names its one series). Default: a legend for two or more series. */
  legend?: boolean;
  /** A grey line at the foot of the chart. */
  note?: string;
  /** Pixels; default 800. */
  width?: number;
  /** Pixels per panel; default 340 for one, 170 each for several. */
  panelHeight?: number;
}

/** Throws a TypeError naming the series and point of a value the axes cannot show. */
function check(panels: ReadonlyArray<ChartPanel>, x: AxisSpec): void {
  for (const p of panels) {
    p.series.forEach((s, si) =>
      s.points.forEach((pt, pi) => {
        const where = `series ${si} (${JSON.stringify(s.name)}) point ${pi}`;
        if (!Number.isFinite(pt.x) || !Number.isFinite(pt.y)) throw new TypeError(`${where} is not finite (x ${pt.x}, y ${pt.y})`);
        if (x.scale && x.scale !== 'linear' && pt.x <= 0) throw new TypeError(`${where}: x ${pt.x} cannot go on a ${x.scale} axis`);
        if (p.y.scale && p.y.scale !== 'linear' && pt.y <= 0) throw new TypeError(`${where}: y ${pt.y} cannot go on a ${p.y.scale} axis`);
      }),
    );
  }
}

/** The chart as SVG 1.1 text (same spec → same bytes). Throws a TypeError naming the series and point of a non-finite value (or, on a log axis, one ≤ 0). */
export function lineChartSvg(spec: LineChartSpec): string {
  const panels: ReadonlyArray<ChartPanel> = spec.panels ?? [{ y: spec.y ?? { label: '' }, series: spec.series ?? [] }];
  if (panels.length === 0) throw new TypeError('a chart needs at least one panel');
  check(panels, spec.x);
  const W = spec.width ?? 800;
  if (!Number.isFinite(W) || W < 200) throw new TypeError(`chart width ${W} leaves no room to plot`);

  // Styles by series name, so a series looks the same in every panel.
  const names: string[] = [];
  for (const p of panels) for (const s of p.series) if (!names.includes(s.name)) names.push(s.name);
  const style = (name: string): SeriesStyle => seriesStyle(names.indexOf(name));
  const notes = new Map<string, string>();
  for (const p of panels) {
    const same = identicalTo(p.series);
    same.forEach((j, i) => {
      if (j >= 0 && !notes.has(p.series[i]!.name)) notes.set(p.series[i]!.name, `identical to ${p.series[j]!.name} (drawn over it)`);
    });
  }
  const items: LegendItem[] = spec.legend === false || names.length < 2 && spec.legend !== true ? [] : names.map((n) => ({ label: n, style: style(n), ...(notes.has(n) ? { note: notes.get(n)! } : {}) }));

  const xAxis = buildAxis(spec.x, panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.x))), spec.x.fromZero ?? false);
  const yAxes = panels.map((p) => buildAxis(p.y, p.series.flatMap((s) => s.points.map((q) => q.y)), true));
  const panelH = spec.panelHeight ?? (panels.length === 1 ? 340 : 170);
  const yLabelLines = panels.map((p) => wrapPx(p.y.label, panelH - 10, FONT));
  const left = Math.ceil(Math.max(...yAxes.map((a) => Math.max(0, ...a.labels.map((l) => textWidth(l, FONT)))))) + 14 + Math.max(...yLabelLines.map((l) => l.length)) * 15 + 10;
  const head = titleBlock(spec.title, spec.subtitle, W);
  const legend = layoutLegend(items, spec.legendTitle, W, W - left - 20);
  const right = legend.placement === 'right' ? legend.width + 16 : 28;
  const plotW = W - left - right;
  const titled = panels.some((p) => p.title);
  const gap = titled ? 34 : 18;
  const plotsH = panels.length * panelH + (panels.length - 1) * gap;
  const top = head.height + (titled ? 16 : 0);
  const xLabelY = top + plotsH + 20 + 26;
  const noteLines = spec.note ? wrapPx(spec.note, W - 40, FONT - 1) : [];
  const legendTop = xLabelY + 16;
  const H = Math.ceil(legendTop + (legend.placement === 'below' ? legend.height + 10 : 0) + noteLines.length * 15 + 8);

  const sx = (x: number) => left + ((xAxis.t(x) - xAxis.lo) / (xAxis.hi - xAxis.lo)) * plotW;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="${FONT}">`);
  o.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(...head.svg);
  const xLabels = xTickLabels(xAxis, sx, plotW);
  panels.forEach((p, k) => {
    const y0 = top + k * (panelH + gap);
    const ya = yAxes[k]!;
    const sy = (y: number) => y0 + panelH - ((ya.t(y) - ya.lo) / (ya.hi - ya.lo)) * panelH;
    if (p.title) o.push(`<text x="${left}" y="${px(y0 - 7)}" font-weight="bold">${escapeXml(p.title)}</text>`);
    for (const x of xAxis.ticks) o.push(`<line x1="${px(sx(x))}" y1="${px(y0)}" x2="${px(sx(x))}" y2="${px(y0 + panelH)}" stroke="#eeeeee"/>`);
    ya.ticks.forEach((y, i) => {
      const Y = px(sy(y));
      o.push(`<line x1="${left - 5}" y1="${Y}" x2="${px(left + plotW)}" y2="${Y}" stroke="${y === 0 && ya.spec.scale !== 'log10' ? '#888888' : '#dddddd'}"/>`);
      o.push(`<text x="${left - 8}" y="${Y}" text-anchor="end" dominant-baseline="central">${escapeXml(ya.labels[i]!)}</text>`);
    });
    o.push(`<rect x="${left}" y="${px(y0)}" width="${px(plotW)}" height="${panelH}" fill="none" stroke="#000000"/>`);
    const lines = yLabelLines[k]!;
    const cy = y0 + panelH / 2;
    lines.forEach((l, i) => {
      const lx = 16 + i * 15;
      o.push(`<text x="${lx}" y="${px(cy)}" text-anchor="middle" transform="rotate(-90 ${lx} ${px(cy)})">${escapeXml(l)}</text>`);
    });
    for (const x of xAxis.ticks) o.push(`<line x1="${px(sx(x))}" y1="${px(y0 + panelH)}" x2="${px(sx(x))}" y2="${px(y0 + panelH + (k === panels.length - 1 ? 5 : 0))}" stroke="#000000"/>`);
    if (k === panels.length - 1) xLabels.forEach(([x, label]) => o.push(`<text x="${px(sx(x))}" y="${px(y0 + panelH + 18)}" text-anchor="middle">${escapeXml(label)}</text>`));
    // Solid first, dashed after: a dashed line drawn over another lets it show through its gaps.
    const markers = p.series.every((s) => s.points.length <= 40);
    for (const s of p.series) {
      if (s.points.length === 0) continue;
      const st = style(s.name);
      o.push(`<polyline fill="none" stroke="${st.colour}" stroke-width="2"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''} stroke-linejoin="round" points="${s.points.map((q) => `${px(sx(q.x))},${px(sy(q.y))}`).join(' ')}"/>`);
    }
    if (markers) for (const s of p.series) for (const q of s.points) o.push(markerSvg(style(s.name).marker, sx(q.x), sy(q.y), 4, style(s.name).colour));
  });
  o.push(`<text x="${px(left + plotW / 2)}" y="${px(xLabelY)}" text-anchor="middle">${escapeXml(spec.x.label)}</text>`);
  if (legend.placement === 'right') o.push(...legend.draw(left + plotW + 6, top));
  else if (legend.placement === 'below') o.push(...legend.draw(left, legendTop));
  noteLines.forEach((l, i) => o.push(`<text x="20" y="${px(H - 10 - (noteLines.length - 1 - i) * 15)}" font-size="${FONT - 1}" fill="#555555">${escapeXml(l)}</text>`));
  o.push('</svg>');
  return o.join('\n') + '\n';
}

/** The x ticks that get a label: all when they fit side by side, else every k-th. */
export function xTickLabels(axis: Axis, sx: (x: number) => number, plotW: number): Array<[number, string]> {
  const widths = axis.labels.map((l) => textWidth(l, FONT) + 10);
  const n = axis.ticks.length;
  let every = 1;
  const fits = (k: number) => {
    for (let i = k; i < n; i += k) if (sx(axis.ticks[i]!) - sx(axis.ticks[i - k]!) < (widths[i]! + widths[i - k]!) / 2) return false;
    return true;
  };
  while (every < n && !fits(every)) every++;
  void plotW;
  return axis.ticks.map((t, i) => [t, axis.labels[i]!] as [number, string]).filter((_, i) => i % every === 0);
}

/** The parts every chart shares: the title block and a legend sized to fit (beside the plot, or below it in columns). */
import { markerSvg, type SeriesStyle } from './chart-style.js';
import { textWidth } from './text-width.js';
import { escapeXml, px } from './xml.js';

export const FONT = 12;
const TITLE_FONT = 16;
const SUB_FONT = 12;
const ROW = 18;
const SWATCH = 30;

/** Lines of at most `width` px (a longer word stays whole). */
export function wrapPx(text: string, width: number, font: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    const next = line === '' ? w : `${line} ${w}`;
    if (line !== '' && textWidth(next, font) > width) {
      lines.push(line);
      line = w;
    } else line = next;
  }
  lines.push(line);
  return lines;
}

/** The title (wrapped to the width) and an optional grey subtitle; returns the SVG and the height used. */
export function titleBlock(title: string, subtitle: string | undefined, W: number): { svg: string[]; height: number } {
  const svg: string[] = [];
  let y = 8;
  for (const l of wrapPx(title, W - 40, TITLE_FONT)) {
    y += TITLE_FONT + 4;
    svg.push(`<text x="${px(W / 2)}" y="${y}" text-anchor="middle" font-size="${TITLE_FONT}" font-weight="bold">${escapeXml(l)}</text>`);
  }
  if (subtitle) {
    for (const l of wrapPx(subtitle, W - 40, SUB_FONT)) {
      y += SUB_FONT + 5;
      svg.push(`<text x="${px(W / 2)}" y="${y}" text-anchor="middle" font-size="${SUB_FONT}" fill="#444444">${escapeXml(l)}</text>`);
    }
  }
  return { svg, height: y + 14 };
}

/** One legend entry: the series' label and look; `bar` draws a filled box instead of a line and marker. */
export interface LegendItem {
  label: string;
  style: SeriesStyle;
  bar?: boolean;
  /** A second, grey line under the label (e.g. "identical to lru"). */
  note?: string;
}

/** A legend laid out: where it goes and its size; `draw(x, y)` puts its top-left corner there. */
export interface Legend {
  placement: 'right' | 'below' | 'none';
  width: number;
  height: number;
  draw(x: number, y: number): string[];
}

/**
 * Lays out the legend: beside the plot when its widest entry takes at most 30% of the chart's
 * width, else below the plot in as many columns as fit `belowWidth`. The chart grows to hold it,
 * so no entry is ever cut off.
 */
export function layoutLegend(items: readonly LegendItem[], title: string | undefined, W: number, belowWidth: number): Legend {
  if (items.length === 0) return { placement: 'none', width: 0, height: 0, draw: () => [] };
  const itemW = Math.max(...items.map((it) => SWATCH + 8 + Math.max(textWidth(it.label, FONT), it.note ? textWidth(it.note, FONT - 1) : 0)));
  const titleW = title ? textWidth(title, FONT) + 4 : 0;
  const rowH = (it: LegendItem) => (it.note ? ROW + 14 : ROW);
  const titleH = title ? ROW + 2 : 0;
  const right = Math.max(itemW, titleW) + 24 <= 0.3 * W;
  const swatch = (it: LegendItem, x: number, y: number) => {
    const s = it.style;
    if (it.bar) return [`<rect x="${px(x + 6)}" y="${px(y - 6)}" width="18" height="12" fill="${s.colour}" stroke="#333333" stroke-width="0.5"/>`];
    return [
      `<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + SWATCH)}" y2="${px(y)}" stroke="${s.colour}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      markerSvg(s.marker, x + SWATCH / 2, y, 4, s.colour),
    ];
  };
  const entry = (it: LegendItem, x: number, y: number) => [
    ...swatch(it, x, y),
    `<text x="${px(x + SWATCH + 8)}" y="${px(y)}" dominant-baseline="central">${escapeXml(it.label)}</text>`,
    ...(it.note ? [`<text x="${px(x + SWATCH + 8)}" y="${px(y + 14)}" dominant-baseline="central" font-size="${FONT - 1}" fill="#555555">${escapeXml(it.note)}</text>`] : []),
  ];
  const heading = (x: number, y: number) => (title ? [`<text x="${px(x)}" y="${px(y + 6)}" dominant-baseline="central" font-weight="bold">${escapeXml(title)}</text>`] : []);
  if (right) {
    const width = Math.max(itemW, titleW) + 24;
    const height = titleH + items.reduce((h, it) => h + rowH(it), 0);
    return {
      placement: 'right',
      width,
      height,
      draw: (x, y) => {
        const o = heading(x + 12, y);
        let yy = y + titleH + ROW / 2;
        for (const it of items) {
          o.push(...entry(it, x + 12, yy));
          yy += rowH(it);
        }
        return o;
      },
    };
  }
  const colW = Math.max(itemW, 60) + 18;
  const cols = Math.max(1, Math.min(items.length, Math.floor(belowWidth / colW)));
  const rows = Math.ceil(items.length / cols);
  const rowHeights = Array.from({ length: rows }, (_, r) => Math.max(...items.slice(r * cols, r * cols + cols).map(rowH)));
  const height = titleH + rowHeights.reduce((a, b) => a + b, 0);
  return {
    placement: 'below',
    width: cols * colW,
    height,
    draw: (x, y) => {
      const o = heading(x, y);
      let yy = y + titleH + ROW / 2;
      for (let r = 0; r < rows; r++) {
        items.slice(r * cols, r * cols + cols).forEach((it, c) => o.push(...entry(it, x + c * colW, yy)));
        yy += rowHeights[r]!;
      }
      return o;
    },
  };
}

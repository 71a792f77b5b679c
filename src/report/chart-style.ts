/**
 * How series are told apart when they overlap: each has a colour, a dash pattern and a marker
 * shape (so two lines drawn on top of each other still both show, and the chart reads in grey),
 * and a series identical to an earlier one says so in the legend.
 */
import { px } from './xml.js';

/** Okabe and Ito's colour-blind-safe palette (black last), then darker variants. */
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442', '#7f3c8d', '#3969ac', '#11a579', '#e73f74'];
/** Stroke dash patterns: solid first, then ever sparser patterns. */
const DASHES = ['', '7 4', '2 3', '9 3 2 3', '4 4', '12 4', '2 6', '7 3 2 3 2 3'];
/** Marker shapes, in order. */
export const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangle-down', 'cross', 'plus', 'star'] as const;
export type MarkerShape = (typeof MARKERS)[number];

/** One series' look. */
export interface SeriesStyle {
  colour: string;
  dash: string;
  marker: MarkerShape;
}

/**
 * The look of series i of n: a distinct colour, dash and marker for each (colours first; the
 * dash and marker cycles are offset so that no two of the first 12·8 share all three).
 */
export function seriesStyle(i: number): SeriesStyle {
  return { colour: PALETTE[i % PALETTE.length]!, dash: DASHES[i % DASHES.length]!, marker: MARKERS[(i + Math.floor(i / MARKERS.length)) % MARKERS.length]! };
}

/** An SVG element drawing `shape` centred at (x, y) with radius r: hollow (white inside), so markers on top of each other all show. */
export function markerSvg(shape: MarkerShape, x: number, y: number, r: number, colour: string): string {
  const st = `fill="#ffffff" stroke="${colour}" stroke-width="1.6"`;
  const poly = (pts: Array<[number, number]>) => `<polygon points="${pts.map(([a, b]) => `${px(x + a * r)},${px(y + b * r)}`).join(' ')}" ${st}/>`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${px(r)}" ${st}/>`;
    case 'square':
      return poly([[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]]);
    case 'triangle':
      return poly([[0, -1.15], [1.05, 0.75], [-1.05, 0.75]]);
    case 'triangle-down':
      return poly([[0, 1.15], [1.05, -0.75], [-1.05, -0.75]]);
    case 'diamond':
      return poly([[0, -1.25], [1.05, 0], [0, 1.25], [-1.05, 0]]);
    case 'star': {
      const pts: Array<[number, number]> = [];
      for (let k = 0; k < 10; k++) {
        const a = -Math.PI / 2 + (k * Math.PI) / 5;
        const rr = k % 2 === 0 ? 1.3 : 0.55;
        pts.push([Math.cos(a) * rr, Math.sin(a) * rr]);
      }
      return poly(pts);
    }
    case 'cross':
    case 'plus': {
      const d = shape === 'cross' ? r * 0.9 : r * 1.2;
      const [a, b] = shape === 'cross' ? [[-d, -d, d, d], [-d, d, d, -d]] : [[-d, 0, d, 0], [0, -d, 0, d]];
      const line = (l: number[]) => `<line x1="${px(x + l[0]!)}" y1="${px(y + l[1]!)}" x2="${px(x + l[2]!)}" y2="${px(y + l[3]!)}" stroke="${colour}" stroke-width="2"/>`;
      return `<g>${line(a!)}${line(b!)}</g>`;
    }
  }
}

/** Two point lists with the same x values and y values equal to one part in 10^9. */
function samePoints(a: ReadonlyArray<{ x: number; y: number }>, b: ReadonlyArray<{ x: number; y: number }>): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  return a.every((p, i) => p.x === b[i]!.x && Math.abs(p.y - b[i]!.y) <= 1e-9 * Math.max(Math.abs(p.y), Math.abs(b[i]!.y), 1e-300));
}

/** For each series, the index of the first earlier series with exactly its points (it hides under that one), else -1. */
export function identicalTo(series: ReadonlyArray<{ points: ReadonlyArray<{ x: number; y: number }> }>): number[] {
  return series.map((s, i) => {
    for (let j = 0; j < i; j++) if (samePoints(s.points, series[j]!.points)) return j;
    return -1;
  });
}

/** The line chart: well-formed SVG, escaped text, legends that fit, series told apart, identical series noted, panels, bad input. */
import { describe, expect, it } from 'vitest';
import { lineChartSvg, type LineChartSpec } from '../../src/report/index.js';
import { textWidth } from '../../src/report/text-width.js';
import { checkXml, count, texts } from './svg-helpers.js';

const tlbSpec = (): LineChartSpec => ({
  title: 'Miss <rate> & "TLB" \'sizes\'',
  subtitle: 'trace ls & co',
  x: { label: 'TLB entries', scale: 'log2', format: 'size' },
  y: { label: 'miss rate (% of lookups)', format: 'percent' },
  legendTitle: '--tlb-ways',
  series: [
    { name: 'direct', points: [16, 64, 256, 1024, 4096].map((x, i) => ({ x, y: 0.125 - i * 0.025 })) },
    { name: '4-way', points: [{ x: 48, y: 0.1 }, { x: 65536, y: 0.02 }, { x: 2 ** 20, y: 0.01 }] },
    { name: 'empty <none>', points: [] },
  ],
});

/** Every <text>'s x, y, anchor, font size and content, to check that each lies inside the picture. */
function textBoxes(svg: string): Array<{ x: number; y: number; anchor: string; size: number; text: string; rotated: boolean }> {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map((m) => {
    const a = m[1]!;
    const num = (k: string, d: number) => Number(new RegExp(` ${k}="([-\\d.]+)"`).exec(a)?.[1] ?? d);
    return { x: num('x', 0), y: num('y', 0), anchor: / text-anchor="(\w+)"/.exec(a)?.[1] ?? 'start', size: num('font-size', 12), text: unescape(m[2]!), rotated: a.includes('rotate(') };
  });
}

/** Throws unless every horizontal label lies within the width and height of the SVG. */
function expectInside(svg: string): void {
  const [W, H] = /width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number) as [number, number];
  for (const t of textBoxes(svg)) {
    if (t.rotated) continue;
    const w = textWidth(t.text, t.size);
    const left = t.anchor === 'middle' ? t.x - w / 2 : t.anchor === 'end' ? t.x - w : t.x;
    expect(left, t.text).toBeGreaterThanOrEqual(0);
    expect(left + w, t.text).toBeLessThanOrEqual(W);
    expect(t.y, t.text).toBeGreaterThan(0);
    expect(t.y, t.text).toBeLessThanOrEqual(H);
  }
}

describe('lineChartSvg', () => {
  it('is one well-formed <svg> document with the SVG namespace, a white background and escaped text', () => {
    const svg = lineChartSvg(tlbSpec());
    expect(checkXml(svg)).toBe('svg');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" version="1\.1" width="800" height="\d+"/);
    expect(svg).toContain('fill="#ffffff"');
    expect(svg).not.toMatch(/<rate>|& "/);
    expect(texts(svg)).toContain('Miss <rate> & "TLB" \'sizes\'');
    expect(texts(svg)).toContain('empty <none>');
  });

  it('draws one line per non-empty series and a marker per point, each series with its own colour, dash and marker', () => {
    const svg = lineChartSvg(tlbSpec());
    const lines = [...svg.matchAll(/<polyline fill="none" stroke="(#[0-9a-f]{6})" stroke-width="2"(?: stroke-dasharray="([\d ]+)")?/g)];
    expect(lines.length).toBe(2);
    expect(lines[0]![1]).not.toBe(lines[1]![1]);
    expect(lines[0]![2]).toBeUndefined(); // the first solid, the next dashed: a dashed line over another lets it show
    expect(lines[1]![2]).toBeDefined();
    // 8 points: a hollow circle for each of the first series' 5, a square (polygon) for the second's 3, plus one of each in the legend.
    expect(count(svg, /<circle /g)).toBe(5 + 1);
    expect(count(svg, /<polygon points="[^"]*" fill="#ffffff"/g)).toBe(3 + 2);
  });

  it('puts log2 ticks at the powers of two, labelled as sizes, and percentages with one number of decimals', () => {
    const t = texts(lineChartSvg(tlbSpec()));
    for (const l of ['16', '64', '1K', '64K', '1M']) expect(t).toContain(l);
    expect(t).toContain('12.5%');
    expect(t).toContain('0.0%');
    expect(t).toContain('miss rate (% of lookups)');
  });

  it('titles its legend, and lists every series (an empty one too) but none for a single series', () => {
    const t = texts(lineChartSvg(tlbSpec()));
    expect(t).toEqual(expect.arrayContaining(['--tlb-ways', 'direct', '4-way', 'empty <none>']));
    const single = texts(lineChartSvg({ title: 'T', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 'only-one', points: [{ x: 1, y: 2 }, { x: 2, y: 3 }] }] }));
    expect(single).not.toContain('only-one');
  });

  it('fits a legend of many long names: below the plot in columns, the picture taller, every label inside', () => {
    const series = Array.from({ length: 12 }, (_, i) => ({ name: `--cpu golden-cove, --l1d-policy random, ${i + 1}-way`, points: [1, 2, 4].map((x) => ({ x, y: i / 100 + x / 1000 })) }));
    const few = lineChartSvg({ ...tlbSpec(), series: series.slice(0, 2) });
    const many = lineChartSvg({ ...tlbSpec(), series });
    expectInside(few);
    expectInside(many);
    const h = (s: string) => Number(/height="(\d+)"/.exec(s)![1]);
    expect(h(many)).toBeGreaterThan(h(few));
    for (const s of series) expect(texts(many)).toContain(s.name);
    expectInside(lineChartSvg(tlbSpec()));
  });

  it('says so when a series is identical to another (it is drawn over it)', () => {
    const pts = [8, 16, 32].map((x) => ({ x, y: 1 / x }));
    const svg = lineChartSvg({ title: 'curve', x: { label: 'frames', scale: 'log2', format: 'size' }, y: { label: 'fault rate', format: 'percent' }, series: [{ name: 'lru', points: pts }, { name: 'clock', points: pts.map((p) => ({ ...p, y: p.y * 1.1 })) }, { name: 'LRU (Mattson)', points: pts.map((p) => ({ ...p })) }] });
    const t = texts(svg);
    expect(t).toContain('identical to lru (drawn over it)');
    expect(t.filter((x) => x.startsWith('identical')).length).toBe(1);
  });

  it('stacks panels over one x axis, each with its title and its own y axis and unit', () => {
    const pts = (f: (x: number) => number) => [1e5, 2e5, 3e5].map((x) => ({ x, y: f(x) }));
    const svg = lineChartSvg({
      title: 'over time',
      x: { label: 'accesses', format: 'si', fromZero: true },
      panels: [
        { title: 'L1 data TLB', y: { label: 'miss rate (% of its lookups)', format: 'percent' }, series: [{ name: 'l1d', points: pts(() => 0.002) }] },
        { title: 'misses', y: { label: 'per 1,000 accesses' }, series: [{ name: 'walks', points: pts((x) => x / 1e5) }] },
      ],
      legend: false,
    });
    expect(checkXml(svg)).toBe('svg');
    const t = texts(svg);
    expect(t).toEqual(expect.arrayContaining(['L1 data TLB', 'misses', 'per 1,000 accesses', '0', '100k', '300k', '0.20%']));
    // A y label longer than its panel is tall wraps onto a second line.
    expect(t).toEqual(expect.arrayContaining(['miss rate (% of its', 'lookups)']));
    expect(t).not.toContain('l1d'); // no legend: the panels say what they show
    expect(count(svg, /<polyline/g)).toBe(2);
    expectInside(svg);
  });

  it('is deterministic, and draws something for one point or no data at all', () => {
    expect(lineChartSvg(tlbSpec())).toBe(lineChartSvg(tlbSpec()));
    const one = lineChartSvg({ title: 'one', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', points: [{ x: 3, y: 4 }] }] });
    expect(count(one, /<polyline/g)).toBe(1);
    expect(count(one, /<circle /g)).toBe(1);
    const none = lineChartSvg({ title: 'nothing', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 'a', points: [] }, { name: 'b', points: [] }] });
    expect(checkXml(none)).toBe('svg');
    expect(count(none, /<polyline/g)).toBe(0);
  });

  it('throws a TypeError naming the series and point of a value it cannot place', () => {
    const spec = (y: number): LineChartSpec => ({ title: 't', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 'ok', points: [{ x: 1, y: 1 }] }, { name: 'bad one', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y }] }] });
    expect(() => lineChartSvg(spec(NaN))).toThrow(TypeError);
    expect(() => lineChartSvg(spec(NaN))).toThrow('series 1 ("bad one") point 2 is not finite (x 3, y NaN)');
    expect(() => lineChartSvg(spec(Infinity))).toThrow(/"bad one"\) point 2/);
    expect(() => lineChartSvg({ ...spec(1), x: { label: 'x', scale: 'log2' }, series: [{ name: 'z', points: [{ x: 0, y: 1 }] }] })).toThrow(/"z"\) point 0: x 0 cannot go on a log2 axis/);
    expect(() => lineChartSvg({ ...spec(1), y: { label: 'y', scale: 'log10' }, series: [{ name: 'z', points: [{ x: 1, y: 0 }] }] })).toThrow(/y 0 cannot go on a log10 axis/);
    expect(() => lineChartSvg({ ...spec(1), width: 100 })).toThrow(/width 100/);
  });
});

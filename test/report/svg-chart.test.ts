/** The SVG line chart: well-formed XML, escaped text, one line and one marker per point, log2 ticks, determinism, bad input. */
import { describe, expect, it } from 'vitest';
import { escapeXml, lineChartSvg, type ChartSpec } from '../../src/report/index.js';

/**
 * A tiny well-formedness check: tags nest and close, attributes are quoted, text holds no raw '<'
 * and every '&' starts an entity. Returns the root element's name; throws on the first problem.
 */
function checkXml(doc: string): string {
  const tag = /<(\/?)([A-Za-z][\w.:-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>/y;
  const badAmp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const stack: string[] = [];
  let root: string | undefined;
  let i = 0;
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt === -1 ? doc.length : lt);
    if (badAmp.test(text)) throw new Error(`bare & in text near ${i}`);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root near ${i}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(doc);
    if (!m) throw new Error(`malformed tag at ${lt}: ${doc.slice(lt, lt + 40)}`);
    const [whole, close, name, attrs, selfClose] = m;
    if (badAmp.test(attrs!)) throw new Error(`bare & in attributes of <${name}>`);
    if (close) {
      if (selfClose || attrs) throw new Error(`bad end tag </${name}>`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) {
        if (root !== undefined) throw new Error('two root elements');
        root = name;
      }
      if (!selfClose) stack.push(name!);
    }
    i = lt + whole!.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (root === undefined) throw new Error('no root element');
  return root;
}

/** The contents of every <text> element, unescaped, in document order. */
function texts(svg: string): string[] {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]!));
}

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

const tlbSpec = (): ChartSpec => ({
  title: 'Miss <rate> & "TLB" \'sizes\'',
  xLabel: 'TLB entries',
  yLabel: 'miss rate',
  xLog2: true,
  yPercent: true,
  series: [
    { name: 'direct', points: [16, 64, 256, 1024, 4096].map((x, i) => ({ x, y: 0.125 - i * 0.025 })) },
    { name: '4-way', points: [{ x: 48, y: 0.1 }, { x: 65536, y: 0.02 }, { x: 2 ** 20, y: 0.01 }] },
    { name: 'empty <none>', points: [] },
  ],
});

describe('checkXml (the test helper)', () => {
  it('accepts well-formed XML and rejects the usual mistakes', () => {
    expect(checkXml('<a x="1"><b/><c>t &amp; u</c></a>\n')).toBe('a');
    expect(() => checkXml('<a><b></a></b>')).toThrow('</a> closes <b>');
    expect(() => checkXml('<a><b>')).toThrow('unclosed <a> <b>');
    expect(() => checkXml('<a>x & y</a>')).toThrow('bare &');
    expect(() => checkXml('<a x=1/>')).toThrow('malformed tag');
    expect(() => checkXml('<a/><b/>')).toThrow('two root elements');
  });
});

describe('lineChartSvg', () => {
  it('is a single well-formed <svg> document with the SVG namespace and a white background', () => {
    const svg = lineChartSvg(tlbSpec());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="720" height="440"')).toBe(true);
    expect(svg.endsWith('</svg>\n')).toBe(true);
    expect(checkXml(svg)).toBe('svg');
    expect(svg).toContain('<rect x="0" y="0" width="720" height="440" fill="#ffffff"/>');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('escapes every text and keeps the raw characters out', () => {
    const svg = lineChartSvg(tlbSpec());
    expect(svg).toContain('>Miss &lt;rate&gt; &amp; &quot;TLB&quot; &apos;sizes&apos;</text>');
    expect(svg).toContain('>empty &lt;none&gt;</text>');
    expect(svg).not.toContain('<rate>');
    expect(texts(svg)[0]).toBe('Miss <rate> & "TLB" \'sizes\'');
    expect(escapeXml('a\u0001b')).toBe('a\uFFFDb');
  });

  it('draws one polyline per non-empty series, one circle per point, in distinct colours', () => {
    const svg = lineChartSvg(tlbSpec());
    expect(count(svg, /<polyline /g)).toBe(2);
    expect(count(svg, /<circle /g)).toBe(8);
    const strokes = [...svg.matchAll(/<polyline fill="none" stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    expect(strokes).toEqual(['#1f77b4', '#d62728']);
    expect(count(svg, /<circle [^>]*fill="#1f77b4"/g)).toBe(5);
    expect(count(svg, /<circle [^>]*fill="#d62728"/g)).toBe(3);
  });

  it('puts log2 ticks at the powers of two in the data, labelled with K and M, and y labels as percentages', () => {
    const spec = tlbSpec();
    const t = texts(lineChartSvg(spec));
    const fixed = new Set([spec.title, spec.xLabel, spec.yLabel, ...spec.series.map((s) => s.name)]);
    const percent = t.filter((s) => s.endsWith('%'));
    const xTicks = t.filter((s) => !fixed.has(s) && !s.endsWith('%'));
    // 48 is not a power of two: it is plotted but gets no tick.
    expect(xTicks).toEqual(['16', '64', '256', '1K', '4K', '64K', '1M']);
    // Largest y is 0.125: the axis ends exactly there, in nice steps.
    expect(percent).toEqual(['0%', '2.5%', '5%', '7.5%', '10%', '12.5%']);
  });

  it('lists every series, even an empty one, in a legend when there are several, and none for one series', () => {
    const t = texts(lineChartSvg(tlbSpec()));
    expect(t.slice(-3)).toEqual(['direct', '4-way', 'empty <none>']);
    const single = lineChartSvg({ title: 'T', xLabel: 'x', yLabel: 'y', series: [{ name: 'only-one', points: [{ x: 1, y: 2 }, { x: 2, y: 3 }] }] });
    expect(single).not.toContain('only-one');
  });

  it('is deterministic: the same spec gives the same bytes', () => {
    expect(lineChartSvg(tlbSpec())).toBe(lineChartSvg(tlbSpec()));
  });

  it('centres a single point and still draws its line and marker', () => {
    const svg = lineChartSvg({ title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 3, y: 4 }] }] });
    expect(checkXml(svg)).toBe('svg');
    expect(count(svg, /<polyline /g)).toBe(1);
    // Plot spans x 70..690 with one series (no legend margin); the point lands at 380.
    expect(svg).toContain('<circle cx="380" cy="40" r="3" fill="#1f77b4"/>');
    expect(texts(svg).filter((s) => /^[\d.]+$/.test(s))).toEqual(['0', '1', '2', '3', '4', '2', '2.5', '3', '3.5', '4']);
  });

  it('draws all-zero data on the baseline of a 0..1 axis', () => {
    const svg = lineChartSvg({ title: 'zero', xLabel: 'x', yLabel: 'y', yPercent: true, series: [{ name: 's', points: [{ x: 1, y: 0 }, { x: 2, y: 0 }] }] });
    expect(checkXml(svg)).toBe('svg');
    expect(texts(svg).filter((s) => s.endsWith('%'))).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
    const cys = [...svg.matchAll(/<circle cx="[^"]*" cy="([^"]*)"/g)].map((m) => m[1]);
    expect(cys).toEqual(['385', '385']);
  });

  it('draws axes for no data at all', () => {
    const svg = lineChartSvg({ title: 'nothing', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [] }, { name: 'b', points: [] }] });
    expect(checkXml(svg)).toBe('svg');
    expect(count(svg, /<polyline /g)).toBe(0);
    expect(count(svg, /<circle /g)).toBe(0);
    expect(texts(svg).slice(-2)).toEqual(['a', 'b']);
  });

  it('throws a TypeError naming the series and point index of a non-finite value', () => {
    const spec = (y: number): ChartSpec => ({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'ok', points: [{ x: 1, y: 1 }] }, { name: 'bad one', points: [{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y }] }] });
    expect(() => lineChartSvg(spec(NaN))).toThrow(TypeError);
    expect(() => lineChartSvg(spec(NaN))).toThrow('series 1 ("bad one") point 2 is not finite (x 3, y NaN)');
    expect(() => lineChartSvg(spec(Infinity))).toThrow(/"bad one"\) point 2/);
    expect(() => lineChartSvg({ ...spec(1), xLog2: true, series: [{ name: 'z', points: [{ x: 0, y: 1 }] }] })).toThrow(/"z"\) point 0: x 0 cannot go on a log2 axis/);
  });
});

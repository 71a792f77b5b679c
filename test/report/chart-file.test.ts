/** Chart files: the format follows the name and is checked before any work; .png is a real PNG; the width table matches the font. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chartFormat, lineChartSvg, writeChart } from '../../src/report/index.js';
import { textWidth } from '../../src/report/text-width.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-chart-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chart files', () => {
  it('take .svg and .png (any case) and refuse anything else, a missing directory or a directory', () => {
    expect(chartFormat(join(dir, 'a.svg'))).toBe('svg');
    expect(chartFormat(join(dir, 'a.PNG'))).toBe('png');
    expect(() => chartFormat(join(dir, 'a.jpg'))).toThrow('must end in .svg or .png (the format follows the name), not .jpg');
    expect(() => chartFormat(join(dir, 'a'))).toThrow(/must end in .svg or .png \(the format follows the name\)$/);
    expect(() => chartFormat(join(dir, 'no', 'a.svg'))).toThrow(/directory .*no does not exist/);
    mkdirSync(join(dir, 'd.svg'));
    expect(() => chartFormat(join(dir, 'd.svg'))).toThrow('is a directory');
  });

  it('write SVG text for .svg and a PNG of twice the size for .png', () => {
    const svg = lineChartSvg({ title: 't', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', points: [{ x: 1, y: 1 }, { x: 2, y: 3 }] }] });
    writeChart(join(dir, 'c.svg'), svg);
    writeChart(join(dir, 'c.png'), svg);
    expect(readFileSync(join(dir, 'c.svg'), 'utf8')).toBe(svg);
    const p = readFileSync(join(dir, 'c.png'));
    expect([...p.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const [w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number);
    expect([p.readUInt32BE(16), p.readUInt32BE(20)]).toEqual([2 * w!, 2 * h!]);
  });

  it("the text widths used for layout are the renderer's: each label's ink lies within its measured width", () => {
    const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as { Resvg: new (svg: string, o: object) => { getBBox(): { width: number } | undefined } };
    for (const t of ['L1 data TLB miss rate (% of its lookups)', 'LRU (Mattson, exact)', 'golden-cove', '0.0236%', 'WWWW']) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="200"><text x="10" y="120" font-family="DejaVu Sans" font-size="100">${t.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text></svg>`;
      const ink = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).getBBox()!.width;
      expect(ink, t).toBeLessThanOrEqual(textWidth(t, 100));
      expect(ink, t).toBeGreaterThan(textWidth(t, 100) - 25); // side bearings: a fraction of an em
    }
  });
});

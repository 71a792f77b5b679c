/** The grouped bar chart: a bar per value, labels with the values, legends with titles, identical series noted, log axes, bad input. */
import { describe, expect, it } from 'vitest';
import { barChartSvg, type BarChartSpec } from '../../src/report/index.js';
import { checkXml, count, texts } from './svg-helpers.js';

const spec = (): BarChartSpec => ({
  title: 'TLB miss rates by CPU preset — ls.lackey.gz',
  subtitle: '773,849 accesses',
  categories: ['skylake', 'golden-cove', 'zen3'],
  xLabel: 'CPU preset (--cpu)',
  y: { label: "miss rate (% of the level's lookups)", format: 'percent' },
  series: [
    { name: 'L1 data TLB', values: [0.00223, 0.000786, 0.00105] },
    { name: 'second-level TLB', values: [0.454, 0.921, 0.64] },
    { name: 'L2 instruction TLB', values: [undefined, undefined, 0.794] },
  ],
  legendTitle: 'level',
});

describe('barChartSvg', () => {
  it('draws a bar per value (none where a series has no value), the categories and the legend with its title', () => {
    const svg = barChartSvg(spec());
    expect(checkXml(svg)).toBe('svg');
    // Three bars per category but the two missing, plus three legend swatches.
    expect(count(svg, /<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#(?!ffffff)/g)).toBe(7 + 3);
    const t = texts(svg);
    expect(t).toEqual(expect.arrayContaining(['skylake', 'golden-cove', 'zen3', 'CPU preset (--cpu)', 'level', 'L1 data TLB', 'second-level TLB', 'L2 instruction TLB']));
  });

  it('labels every bar with its value, three significant digits in the axis format, and n/a where there is none', () => {
    const t = texts(barChartSvg(spec()));
    expect(t).toEqual(expect.arrayContaining(['0.223%', '0.0786%', '45.4%', '92.1%', '64.0%', '79.4%', 'n/a']));
  });

  it('on a log axis the bars rise from the bottom; zero cannot be placed', () => {
    const svg = barChartSvg({ ...spec(), y: { label: 'rate', format: 'percent', scale: 'log10' } });
    expect(texts(svg)).toEqual(expect.arrayContaining(['0.01%', '0.1%', '1%', '10%', '100%']));
    expect(() => barChartSvg({ ...spec(), y: { label: 'rate', scale: 'log10' }, series: [{ name: 'z', values: [1, 0, 1] }] })).toThrow(/series 0 \("z"\) category 1 \("golden-cove"\): 0 cannot go on a log10 axis/);
    expect(() => barChartSvg({ ...spec(), series: [{ name: 'n', values: [NaN] }] })).toThrow(TypeError);
  });

  it('says when a series is identical to another', () => {
    const t = texts(barChartSvg({ ...spec(), series: [{ name: 'lru', values: [1, 2, 3] }, { name: 'plru', values: [1, 2, 3] }] }));
    expect(t).toContain('identical to lru');
  });
});

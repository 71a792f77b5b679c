/** Chart axes: nice ticks, log axes, and tick labels formatted alike along an axis. */
import { describe, expect, it } from 'vitest';
import { buildAxis, niceTicks, sizeLabel, tickLabels } from '../../src/report/axis.js';

describe('tick labels', () => {
  it('use one number of decimals along a linear axis', () => {
    expect(tickLabels([0, 0.025, 0.05, 0.075, 0.1, 0.125], 'percent')).toEqual(['0.0%', '2.5%', '5.0%', '7.5%', '10.0%', '12.5%']);
    expect(tickLabels([0, 0.02, 0.04], 'percent')).toEqual(['0%', '2%', '4%']);
    expect(tickLabels([0, 0.5, 1, 1.5], 'number')).toEqual(['0.0', '0.5', '1.0', '1.5']);
    expect(tickLabels([0, 20000, 40000], 'number')).toEqual(['0', '20,000', '40,000']);
  });

  it('use one SI prefix along an axis, and none for zero', () => {
    expect(tickLabels([0, 200_000, 400_000, 600_000, 800_000], 'si')).toEqual(['0', '200k', '400k', '600k', '800k']);
    expect(tickLabels([0, 500_000, 1_000_000, 1_500_000], 'si')).toEqual(['0', '0.5M', '1.0M', '1.5M']);
    expect(tickLabels([0, 250, 500], 'si')).toEqual(['0', '250', '500']);
  });

  it('give each label of a log axis the decimals it needs', () => {
    expect(tickLabels([0.0001, 0.001, 0.01, 0.1, 1], 'percent', true)).toEqual(['0.01%', '0.1%', '1%', '10%', '100%']);
  });

  it('write powers of two as sizes, other values as they are', () => {
    expect([16, 64, 1024, 4096, 2 ** 20, 2 ** 30, 48, 1536].map(sizeLabel)).toEqual(['16', '64', '1K', '4K', '1M', '1G', '48', '1536']);
    expect(tickLabels([8, 48], 'size')).toEqual(['8', '48']);
  });
});

describe('axes', () => {
  it('nice ticks cover the range on multiples of 1, 2, 2.5 or 5', () => {
    expect(niceTicks(0, 0.115)).toEqual([0, 0.025, 0.05, 0.075, 0.1, 0.125]);
    expect(niceTicks(0, 7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
  });

  it('a y axis starts at 0; an x axis spans its data unless fromZero', () => {
    const y = buildAxis({ label: 'y', format: 'percent' }, [0.02, 0.05], true);
    expect([y.lo, y.hi, y.labels]).toEqual([0, 0.05, ['0%', '1%', '2%', '3%', '4%', '5%']]);
    const x = buildAxis({ label: 'x', format: 'si' }, [20_000, 773_849], false);
    expect([x.lo, x.hi]).toEqual([20_000, 773_849]);
    expect(x.ticks).toEqual([200_000, 400_000, 600_000]);
    const x0 = buildAxis({ label: 'x', format: 'si', fromZero: true }, [20_000, 773_849], true);
    expect([x0.lo, x0.hi, x0.labels[0]]).toEqual([0, 800_000, '0']);
  });

  it('a log2 axis has its ticks at the powers of two of its range; a log10 axis spans whole decades', () => {
    const a = buildAxis({ label: 'entries', scale: 'log2', format: 'size' }, [16, 48, 1024], false);
    expect(a.ticks).toEqual([16, 32, 64, 128, 256, 512, 1024]);
    expect([a.lo, a.hi]).toEqual([4, 10]);
    const b = buildAxis({ label: 'rate', scale: 'log10', format: 'percent' }, [0.00023, 0.45], true);
    expect(b.ticks).toEqual([0.0001, 0.001, 0.01, 0.1, 1]);
    expect(b.labels).toEqual(['0.01%', '0.1%', '1%', '10%', '100%']);
  });

  it('all-zero or single values still give a labelled axis', () => {
    expect(buildAxis({ label: 'y', format: 'percent' }, [0, 0], true).labels).toEqual(['0.0%', '0.2%', '0.4%', '0.6%', '0.8%', '1.0%']);
    const one = buildAxis({ label: 'y' }, [3], true);
    expect(one.lo).toBe(0);
    expect(one.hi).toBeGreaterThanOrEqual(3);
    expect(one.labels).toEqual(['0', '1', '2', '3']);
  });
});

import { describe, expect, it } from 'vitest';
import { compare } from '../../bench/harness.js';

describe('benchmark ratios say which way they go', () => {
  it('times: more is slower; rates: more is faster; amounts: more or less', () => {
    expect(compare(1, 8, 'ns/call')).toBe('8.0x slower');
    expect(compare(4, 2, 'ms')).toBe('2.0x faster');
    expect(compare(10, 5, 'M lines/s')).toBe('2.0x slower');
    expect(compare(5, 10, 'M lines/s')).toBe('2.0x faster');
    expect(compare(2, 6, 'MiB')).toBe('3.0x more');
    expect(compare(1, 1.02, 'ns/access')).toBe('same');
    expect(compare(undefined, 1, 'ns/access')).toBe('n/a');
    expect(compare(0, 1, 'MiB')).toBe('n/a');
  });
});

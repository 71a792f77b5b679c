/** Tables and number formats: exact text for small inputs. */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatRate, formatTable } from '../../src/report/index.js';

describe('formatTable', () => {
  it('right-aligns numbers, left-aligns strings, underlines the header, two spaces between columns', () => {
    const t = formatTable(
      [
        ['a', 1, 'x'],
        ['bbb', 1234, 'yy'],
      ],
      { header: ['name', 'n', 'note'] },
    );
    expect(t).toBe('name     n  note\n' + '----  ----  ----\n' + 'a        1  x\n' + 'bbb   1234  yy\n');
  });

  it('follows explicit alignment over the cell types', () => {
    const t = formatTable(
      [
        ['1', 5],
        ['100', 42],
      ],
      { align: ['right', 'left'] },
    );
    expect(t).toBe('  1  5\n' + '100  42\n');
  });

  it('leaves no trailing spaces, even for short last cells, ragged rows or an empty last column', () => {
    const t = formatTable([['long', 'a'], ['x'], ['y', '']], { header: ['k', ''] });
    expect(t).toBe('k\n' + '----  -\n' + 'long  a\n' + 'x\n' + 'y\n');
    for (const line of t.split('\n')) expect(line).toBe(line.trimEnd());
    // A column of empty cells has width 0: its underline must not leave spaces behind.
    expect(formatTable([['ab', '']], { header: ['h', ''] })).toBe('h\n--\nab\n');
  });

  it('is empty without rows or header', () => {
    expect(formatTable([])).toBe('');
    expect(formatTable([], { header: ['a', 'bb'] })).toBe('a  bb\n-  --\n');
  });
});

describe('number formats', () => {
  it('formatCount groups thousands and rounds', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-1234567)).toBe('-1,234,567');
    expect(formatCount(1234.6)).toBe('1,235');
    expect(formatCount(-0.4)).toBe('0');
    expect(formatCount(1e21)).toBe('1,000,000,000,000,000,000,000');
  });

  it('formatRate prints two decimals and 0.00% for an empty whole', () => {
    expect(formatRate(1, 8)).toBe('12.50%');
    expect(formatRate(1, 3)).toBe('33.33%');
    expect(formatRate(5, 5)).toBe('100.00%');
    expect(formatRate(0, 0)).toBe('0.00%');
    expect(formatRate(7, 0)).toBe('0.00%');
  });

  it('formatRate keeps three significant digits below 1% (a real miss rate is never 0.00%)', () => {
    expect(formatRate(3322, 93.6e6)).toBe('0.00355%');
    expect(formatRate(1, 200)).toBe('0.5%');
    expect(formatRate(1, 101)).toBe('0.99%');
    expect(formatRate(1, 100)).toBe('1.00%');
  });

  it('formatDuration picks ms, s or min after rounding', () => {
    expect(formatDuration(4.25)).toBe('4.3 ms');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(999.4)).toBe('999 ms');
    expect(formatDuration(999.6)).toBe('1.0 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(59_949)).toBe('59.9 s');
    expect(formatDuration(59_950)).toBe('1 min 0 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });

  it('formatBytes uses binary units with one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(4096)).toBe('4.0 KiB');
    expect(formatBytes(1.5 * 2 ** 20)).toBe('1.5 MiB');
    expect(formatBytes(2 ** 20 - 1)).toBe('1.0 MiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.0 GiB');
  });
});

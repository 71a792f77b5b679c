/** Parsing reference strings as textbooks write them. */
import { describe, expect, it } from 'vitest';
import { parseReferenceString } from '../../src/reclaim/reference-string.js';
import { VmmError } from '../../src/errors.js';

describe('parseReferenceString', () => {
  it('reads page numbers with w for writes, separated by commas or spaces', () => {
    expect(parseReferenceString('7,0,1,2w, 0 3W')).toEqual({ pages: [7, 0, 1, 2, 0, 3], writes: [false, false, false, true, false, true] });
    expect(parseReferenceString('5r')).toEqual({ pages: [5], writes: [false] });
  });

  it('names the bad item', () => {
    for (const [text, msg] of [
      ['1,x,3', /reference #2 "x" is not a page number/],
      ['1,-2', /reference #2 "-2"/],
      ['1,2.5', /reference #2 "2.5"/],
      ['99999999999', /reference #1 "99999999999".*0 to 34359738367/],
      ['', /reference string is empty/],
      [' , ', /reference string is empty/],
    ] as const) {
      expect(() => parseReferenceString(text)).toThrow(VmmError);
      expect(() => parseReferenceString(text)).toThrow(msg);
    }
    expect(() => parseReferenceString(7 as never)).toThrow(/must be a string/);
  });
});

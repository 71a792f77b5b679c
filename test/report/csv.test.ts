/** CSV quoting and flattening of nested results. */
import { describe, expect, it } from 'vitest';
import { flattenObject, toCsv } from '../../src/report/index.js';

describe('toCsv', () => {
  it('writes plain fields as they are, one line per row ending in \\n', () => {
    expect(toCsv(['a', 'b'], [[1, 'x'], [2.5, true]])).toBe('a,b\n1,x\n2.5,true\n');
  });

  it('quotes fields with comma, quote, CR or LF and doubles embedded quotes', () => {
    expect(toCsv(['k', 'v'], [['a,b', 'say "hi"'], ['l1\nl2', 'cr\rhere']])).toBe('k,v\n"a,b","say ""hi"""\n"l1\nl2","cr\rhere"\n');
  });

  it('quotes the header too and writes null and undefined as empty fields', () => {
    expect(toCsv(['x,y', 'z'], [[null, undefined], [false, 0]])).toBe('"x,y",z\n,\nfalse,0\n');
  });

  it('leaves spaces unquoted (RFC 4180 keeps them as data)', () => {
    expect(toCsv(['a'], [[' padded ']])).toBe('a\n padded \n');
  });
});

describe('flattenObject', () => {
  it('joins nested keys with dots and indexes arrays', () => {
    const flat = flattenObject({ accesses: 10, tlb: { hits: 7, misses: 3, levels: [{ name: 'L1', hits: 5 }, { name: 'L2', hits: 2 }] }, backend: 'js', pwc: null });
    expect(flat).toEqual({
      accesses: 10,
      'tlb.hits': 7,
      'tlb.misses': 3,
      'tlb.levels.0.name': 'L1',
      'tlb.levels.0.hits': 5,
      'tlb.levels.1.name': 'L2',
      'tlb.levels.1.hits': 2,
      backend: 'js',
      pwc: null,
    });
    expect(Object.keys(flat)).toEqual(['accesses', 'tlb.hits', 'tlb.misses', 'tlb.levels.0.name', 'tlb.levels.0.hits', 'tlb.levels.1.name', 'tlb.levels.1.hits', 'backend', 'pwc']);
  });

  it('prefixes keys, drops undefined and functions, prints bigints and dates', () => {
    expect(flattenObject({ a: 1, u: undefined, f: () => 1, big: 5n, when: new Date(0) }, 'run')).toEqual({ 'run.a': 1, 'run.big': '5', 'run.when': '1970-01-01T00:00:00.000Z' });
  });

  it('throws a TypeError on a cycle but accepts a shared subobject', () => {
    const shared = { n: 1 };
    expect(flattenObject({ a: shared, b: shared })).toEqual({ 'a.n': 1, 'b.n': 1 });
    const loop: Record<string, unknown> = { x: 1 };
    loop.self = loop;
    expect(() => flattenObject(loop)).toThrow(TypeError);
  });

  it('turns a result into a CSV row', () => {
    const flat = flattenObject({ config: { entries: 64 }, rate: 0.5 });
    expect(toCsv(Object.keys(flat), [Object.values(flat)])).toBe('config.entries,rate\n64,0.5\n');
  });
});

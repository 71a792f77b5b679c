// The address helpers of the public API check their arguments: a typed EINVAL naming the
// argument, never a string like 'xNaN' or a TypeError from inside.
import { describe, expect, it } from 'vitest';
import { alignDown, alignUp, hex, isAligned, packRecord } from '../src/index.js';

const einval = (f: () => unknown, msg: RegExp) => expect(f).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(msg) }));

describe('address helpers', () => {
  it('align with powers of two, for safe integers, negative ones included', () => {
    expect(alignUp(4097)).toBe(8192);
    expect(alignUp(4096)).toBe(4096);
    expect(alignDown(8191)).toBe(4096);
    expect(alignDown(-1, 16)).toBe(-16);
    expect(alignUp(2 ** 40 + 1, 2 ** 32)).toBe(2 ** 40 + 2 ** 32);
    expect(isAligned(2 ** 21, 2 ** 21)).toBe(true);
    expect(isAligned(4096 + 8, 4096)).toBe(false);
  });

  it('refuse what is not a safe integer or not a power of two', () => {
    for (const v of ['x', NaN, Infinity, 1.5, 2 ** 53, null, { valueOf: () => 4096 }, new Date(4096), 5n]) {
      einval(() => alignUp(v as never), /alignUp: value must be a safe integer/);
      einval(() => alignDown(v as never), /alignDown: value must be a safe integer/);
      einval(() => isAligned(v as never), /isAligned: value must be a safe integer/);
    }
    for (const a of [0, -4096, 3, 4095.5, 'x', NaN]) einval(() => alignUp(4096, a as never), /align must be a positive power of two/);
    einval(() => alignUp(2 ** 53 - 1, 4096), /not a safe integer/);
  });

  it('hex prints safe integers and 64-bit bigints, and refuses the rest', () => {
    expect(hex(0x400000)).toBe('0x0000000000400000');
    expect(hex(-(2 ** 47))).toBe('0xffff800000000000');
    expect(hex(2n ** 64n - 1n)).toBe('0xffffffffffffffff');
    expect(hex(-1n)).toBe('0xffffffffffffffff');
    einval(() => hex(2n ** 64n), /outside the 64-bit range/);
    einval(() => hex(-(2n ** 63n) - 1n), /outside the 64-bit range/);
    for (const v of [1.5, NaN, 2 ** 53, '0x10', { valueOf: () => 1 }]) einval(() => hex(v as never), /hex: addr must be a safe integer or a bigint/);
  });

  it('packRecord checks every argument and writes nothing when one is bad', () => {
    const w = new Uint32Array(4);
    packRecord(w, 1, 2 ** 40 + 8, 1, 8);
    // lo = address bits 0-31; hi = bits 32-47 (2^40 -> 0x100) | kind << 16 | (size - 1) << 18.
    expect([...w]).toEqual([0, 0, 8, (0x100 | (1 << 16) | (7 << 18)) >>> 0]);
    const before = [...w];
    einval(() => packRecord([] as never, 0, 0, 0, 1), /words must be a Uint32Array/);
    einval(() => packRecord(w, 2, 0, 0, 1), /index must be an integer in \[0, 2\)/);
    einval(() => packRecord(w, -1, 0, 0, 1), /index/);
    einval(() => packRecord(w, 0, 2 ** 48, 0, 1), /la must be an integer in \[0, 2\^48\)/);
    einval(() => packRecord(w, 0, -1, 0, 1), /la must be/);
    einval(() => packRecord(w, 0, 0, 4, 1), /kind must be a TraceKind/);
    einval(() => packRecord(w, 0, 0, 'load' as never, 1), /kind must be a TraceKind/);
    einval(() => packRecord(w, 0, 0, 0, 0), /size must be an integer in \[1, 4096\]/);
    einval(() => packRecord(w, 0, 0, 0, 4097), /size must be/);
    expect([...w]).toEqual(before);
  });
});

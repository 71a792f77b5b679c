/** Every call that takes an address takes a number or a bigint; a bigint outside 64 bits is EINVAL showing the value given. */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { Machine } from '../../src/index.js';

const PAGE = 4096;
const code = (c: string) => expect.objectContaining({ code: c });

describe.each(BACKENDS)('addresses as number | bigint (%s)', (backend) => {
  const mk = () => new Machine({ memory: '64MiB', backend }).createAddressSpace();

  it('mmap addr, munmap, mprotect, brk, createRegion, findRegion, destroyRegion and freeVirtual take bigints', () => {
    const s = mk();
    const a = s.mmap({ addr: 0x1000_0000n, length: 4 * PAGE, prot: 'rw', fixed: true });
    expect(a).toBe(0x1000_0000);
    s.mprotect(0x1000_1000n, PAGE, 'r');
    expect(s.findRegion(0x1000_1000n)).toMatchObject({ start: 0x1000_1000, prot: 'r--' });
    s.munmap(0x1000_3000n, PAGE);
    expect(s.findRegion(0x1000_3000n)).toBeUndefined();
    const base = s.brk();
    expect(s.brk(BigInt(base + 2 * PAGE))).toBe(base + 2 * PAGE);
    expect(s.createRegion({ start: 0x40_0000n, length: PAGE, prot: 'rx', kind: 'code' })).toMatchObject({ start: 0x40_0000 });
    s.destroyRegion(0x40_0000n);
    const v = s.allocVirtual(PAGE);
    s.freeVirtual(BigInt(v));
    expect(s.findRegion(v)).toBeUndefined();
  });

  it('a bigint outside the 64-bit range is EINVAL and the message shows the value given, not a wrapped one', () => {
    const s = mk();
    expect(() => s.translate(2n ** 64n)).toThrow(/0x10000000000000000/);
    expect(() => s.read(-(2n ** 64n), 1)).toThrow(/-0x10000000000000000/);
    expect(() => s.munmap(2n ** 64n, PAGE)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/addr 0x10000000000000000 is outside the 64-bit range/) }));
    expect(() => s.mprotect(-1n, PAGE, 'r')).toThrow(/addr -0x1 is outside the 64-bit range/);
    expect(() => s.mmap({ addr: 2n ** 70n, length: PAGE, prot: 'r' })).toThrow(code('EINVAL'));
    expect(() => s.findRegion('0x1000' as never)).toThrow(/addr must be an integer number or a bigint/);
  });

  it('a bigint inside 64 bits but outside user space fails as the number would (Linux takes unsigned long)', () => {
    const s = mk();
    expect(() => s.munmap(2n ** 63n, PAGE)).toThrow(code('EINVAL'));
    expect(() => s.mprotect(2n ** 47n, PAGE, 'r')).toThrow(code('ENOMEM'));
    expect(() => s.mmap({ addr: 2n ** 48n, length: PAGE, prot: 'r', fixed: true })).toThrow(code('ENOMEM'));
  });
});

describe.each(BACKENDS)('allocVirtual / freeVirtual (%s)', (backend) => {
  it('freeVirtual frees exactly what allocVirtual returned, even when merging joined it to a neighbour', () => {
    const s = new Machine({ memory: '64MiB', backend }).createAddressSpace();
    const a = s.allocVirtual(PAGE);
    const b = s.allocVirtual(2 * PAGE);
    expect(b + 2 * PAGE).toBe(a); // top-down, adjacent
    expect(s.findRegion(a)).toMatchObject({ start: b, end: a + PAGE }); // one merged region, as Linux's vma_merge
    s.write(b, [1]);
    s.freeVirtual(a);
    expect(s.findRegion(a)).toBeUndefined();
    expect(s.findRegion(b)).toMatchObject({ start: b, end: b + 2 * PAGE });
    expect([...s.read(b, 1)]).toEqual([1]);
    expect(() => s.freeVirtual(a)).toThrow(code('EINVAL')); // freed already
    expect(() => s.freeVirtual(b + PAGE)).toThrow(code('EINVAL')); // not an address allocVirtual returned
    s.freeVirtual(b);
    expect(s.findRegion(b)).toBeUndefined();
  });

  it('an allocation unmapped by munmap is forgotten: freeVirtual does not free a later mapping at its address', () => {
    const s = new Machine({ memory: '64MiB', backend }).createAddressSpace();
    const a = s.allocVirtual(PAGE);
    s.munmap(a, PAGE);
    s.mmap({ addr: a, length: PAGE, prot: 'r', fixed: true });
    expect(() => s.freeVirtual(a)).toThrow(code('EINVAL'));
    expect(s.findRegion(a)).toBeDefined();
  });
});

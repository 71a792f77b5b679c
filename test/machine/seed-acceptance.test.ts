/** The seed kernel's acceptance tests, ported to vmsim's API (shared/seeds/000). */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import {
  Machine,
  VmmError,
  PAGE_SIZE,
  KERNEL_BASE,
  alignDown,
  alignUp,
  isAligned,
  isKernelAddress,
  isUserAddress,
  hex,
} from '../../src/index.js';

const BOOT_USED = 259; // frame 0, 256 shared kernel PDPTs, the idle top-level table, the zero page

describe.each(BACKENDS)('seed acceptance (%s)', (backend) => {
  const mk = (memory: number | string = '16MiB') => new Machine({ memory, backend });

  it('reports machine statistics after init', () => {
    const m = mk('16MiB');
    const s = m.stats();
    expect(s.frames.total).toBe(4096);
    expect(s.frames.used).toBe(BOOT_USED);
    expect(s.frames.free).toBe(4096 - BOOT_USED);
    expect(m.physical.totalFrames).toBe(4096);
    expect(m.physical.usedFrames + m.physical.freeFrames).toBe(4096);
    expect(s.tlb).toMatchObject({ hits: 0, misses: 0, walks: 0 });
    expect(s.addressSpaces).toBe(0);
    expect(m.backend).toBe(backend);
  });

  it('creates, switches and destroys address spaces', () => {
    const m = mk();
    const free0 = m.physical.freeFrames;
    const a = m.createAddressSpace();
    const b = m.createAddressSpace();
    expect(a.root).not.toBe(b.root);
    expect(isAligned(a.root)).toBe(true);
    expect(m.physical.freeFrames).toBe(free0 - 2);
    m.switchTo(a);
    expect(m.current).toBe(a);
    m.switchTo(b);
    expect(m.current).toBe(b);
    // Each got one of CPU 0's dynamic ASIDs when it first ran there (Linux's choose_new_asid): two PCIDs.
    expect(a.pcid).not.toBe(b.pcid);
    expect(a.pcid * b.pcid).toBeGreaterThan(0);
    b.destroy();
    expect(m.current).toBeUndefined();
    expect(() => m.switchTo(b)).toThrow(/destroyed/);
    a.destroy();
    expect(m.physical.freeFrames).toBe(free0);
    expect(m.stats().addressSpaces).toBe(0);
  });

  it('allocates three distinct aligned frames and frees them', () => {
    const m = mk();
    const free0 = m.physical.freeFrames;
    const f = [m.physical.allocFrame(), m.physical.allocFrame(), m.physical.allocFrame()];
    expect(new Set(f).size).toBe(3);
    for (const pa of f) {
      expect(pa % PAGE_SIZE).toBe(0);
      expect(pa).toBeGreaterThan(0); // frame 0 is never handed out
      expect(m.physical.refCount(pa)).toBe(1);
    }
    expect(m.physical.freeFrames).toBe(free0 - 3);
    for (const pa of f) m.physical.freeFrame(pa);
    expect(m.physical.freeFrames).toBe(free0);
  });

  it('maps a page, translates with offset, unmaps, then reports not mapped', () => {
    const m = mk();
    const s = m.createAddressSpace();
    const pa = m.physical.allocFrame();
    const va = 0x4000_0000;
    s.mapPage(va, pa, { writable: true, user: true });
    const t = s.translate(va + 0x123);
    expect(t).toBeDefined();
    expect(t!.physical).toBe(pa + 0x123);
    expect(t!.pageSize).toBe(4096);
    expect(t!.flags).toMatchObject({ writable: true, user: true, noExecute: false, accessed: false, dirty: false });
    s.unmapPage(va);
    expect(s.translate(va)).toBeUndefined();
    m.physical.freeFrame(pa);
    s.destroy();
  });

  it('has alignment and user/kernel address helpers; kernel space starts at 0xFFFF800000000000', () => {
    expect(alignDown(0x1234)).toBe(0x1000);
    expect(alignUp(0x1234)).toBe(0x2000);
    expect(alignUp(0x1000)).toBe(0x1000);
    expect(isAligned(0x2000)).toBe(true);
    expect(isAligned(0x2001)).toBe(false);
    expect(hex(KERNEL_BASE)).toBe('0xffff800000000000');
    expect(isKernelAddress(0xffff800000000000n)).toBe(true);
    expect(isKernelAddress(KERNEL_BASE)).toBe(true);
    expect(isKernelAddress(0x7fffffffffff)).toBe(false);
    expect(isUserAddress(0x7fffffffffff)).toBe(true);
    expect(isUserAddress(0x800000000000)).toBe(false); // non-canonical
    expect(isKernelAddress(0x800000000000)).toBe(false);
  });

  it('returns clear errors: unmapping an unmapped page, zero sizes, bad handles', () => {
    const m = mk();
    const s = m.createAddressSpace();
    expect(() => s.unmapPage(0x1000)).toThrow(VmmError);
    expect(() => s.unmapPage(0x1000)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => m.physical.allocFrames(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => m.physical.freeFrame(0x5000_000)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    s.destroy();
    expect(() => s.mapPage(0x1000, 0x1000)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/destroyed/) }));
    expect(() => s.destroy()).toThrow(/destroyed/);
    expect(() => m.switchTo({} as never)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('balances 1000+ frame allocations and page mappings', () => {
    const m = mk('64MiB');
    const free0 = m.physical.freeFrames;
    const s = m.createAddressSpace();
    const frames: number[] = [];
    for (let i = 0; i < 1500; i++) frames.push(m.physical.allocFrame());
    expect(new Set(frames).size).toBe(1500);
    for (let i = 0; i < 1500; i++) s.mapPage(0x1000_0000 + i * PAGE_SIZE, frames[i]!, { user: true, writable: true });
    for (const pa of frames) m.physical.freeFrame(pa); // the mappings now own the frames
    for (let i = 0; i < 1500; i += 7) {
      const t = s.translate(0x1000_0000 + i * PAGE_SIZE + 5)!;
      expect(t.physical).toBe(frames[i]! + 5);
    }
    s.destroy();
    expect(m.physical.freeFrames).toBe(free0);
  });
});

describe.each(BACKENDS)('frames are zeroed on allocation (%s)', (backend) => {
  it('even a free frame that raw physical writes dirtied', () => {
    const m = new Machine({ memory: '4MiB', backend });
    const pa = m.physical.allocFrame();
    m.physical.freeFrame(pa);
    const next = pa + PAGE_SIZE; // never allocated yet
    m.physical.write(next, [1, 2, 3]);
    m.physical.write(pa, [9]);
    expect(m.physical.allocFrame()).toBe(pa);
    expect(m.physical.allocFrame()).toBe(next);
    expect([...m.physical.read(pa, 1)]).toEqual([0]);
    expect([...m.physical.read(next, 3)]).toEqual([0, 0, 0]);
  });
});

describe.each(BACKENDS)('large machines (%s)', (backend) => {
  it('a 64 GiB machine works end to end, including its last frame', () => {
    const m = new Machine({ memory: '64GiB', backend });
    expect(m.physical.totalFrames).toBe(16 * 2 ** 20);
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4096, prot: 'rw' });
    s.write(a, [42]);
    expect([...s.read(a, 1)]).toEqual([42]);
    const last = m.physical.size - 4096;
    m.physical.write(last + 4095, [7]);
    expect([...m.physical.read(last + 4095, 1)]).toEqual([7]);
    m.dispose();
  });
});

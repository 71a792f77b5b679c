import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { Machine, PageFault, PAGE_SIZE, PAGE_SIZE_2M, KERNEL_BASE, PageFaultCode as PF } from '../../src/index.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe.each(BACKENDS)('address space accesses (%s)', (backend) => {
  const mk = (opts: object = {}) => new Machine({ memory: '16MiB', backend, ...opts });

  it('reads and writes through the TLB, setting A then D as the CPU does', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    s.mapPage(0x1000, pa, { writable: true, user: true });
    s.write(0x1ffe, [1, 2]);
    expect([...m.physical.read(pa + 0xffe, 2)]).toEqual([1, 2]);
    expect(s.translate(0x1000)!.flags).toMatchObject({ accessed: true, dirty: true });
    expect([...s.read(0x1ffe, 2)]).toEqual([1, 2]);
    const st = m.stats();
    expect(st.tlb.misses).toBe(1);
    expect(st.tlb.hits).toBe(1);
    expect(st.accesses.read).toBe(1);
    expect(st.accesses.write).toBe(1);
  });

  it("hostMemory: 'eager' commits RAM up front and behaves the same; a bad value is EINVAL", () => {
    const m = mk({ hostMemory: 'eager' });
    const s = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    expect([...m.physical.read(pa, 4)]).toEqual([0, 0, 0, 0]);
    s.mapPage(0x1000, pa, { writable: true, user: true });
    s.write(0x1000, [7]);
    expect([...s.read(0x1000, 1)]).toEqual([7]);
    expect(() => mk({ hostMemory: 'always' })).toThrow(/options.hostMemory must be 'lazy' or 'eager'/);
  });

  it('load/store move little-endian integers of 1, 2 or 4 bytes, on the fast path and across pages', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), { writable: true, user: true });
    s.mapPage(0x2000, m.physical.allocFrame(), { writable: true, user: true });
    s.store(0x1010, 0xdeadbeef); // first write: the core path (miss, then D set)
    s.store(0x1014, 0x1234, 2); // TLB hit, dirty: the JS path
    expect(() => s.store(0x1016, 0x1ff, 1)).toThrow(/value must be an integer in \[-128, 255\] for a 1-byte store, got number 511/); // never truncated
    s.store(0x1016, -1, 1); // the signed spelling of 0xff
    expect([...s.read(0x1010, 7)]).toEqual([0xef, 0xbe, 0xad, 0xde, 0x34, 0x12, 0xff]);
    expect(s.load(0x1010)).toBe(0xdeadbeef);
    expect(s.load(0x1014, 2)).toBe(0x1234);
    expect(s.load(0x1016, 1)).toBe(0xff);
    s.store(0x1ffe, 0x04030201); // crosses into 0x2000: the byte path
    expect(s.load(0x1ffe)).toBe(0x04030201);
    expect([...s.read(0x2000, 2)]).toEqual([3, 4]);
    s.store(0x1020, -1);
    expect(s.load(0x1020)).toBe(0xffffffff);
    const hits = m.stats().tlb.hits;
    s.load(0x1024, 4);
    expect(m.stats().tlb.hits).toBe(hits + 1);
    expect(() => s.load(0x1000, 3 as never)).toThrow(/size must be 1, 2, 4 or 8/);
    expect(() => s.store(0x1000, 1.5)).toThrow(/value must be an integer/);
    expect(() => s.store(0x1000, 1, 3 as never)).toThrow(/size must be 1, 2, 4 or 8/);
    expect(() => s.store(0x1000, 2 ** 53 + 0x41)).toThrow(code('EINVAL'));
    expect(() => s.store(0x1000, 2 ** 64 as never, 8)).toThrow(code('EINVAL'));
    expect(() => s.store(0x1000, 2n ** 64n, 8)).toThrow(code('EINVAL'));
    expect(() => s.load(0x9000)).toThrow(PageFault);
    expect(() => s.load(2 ** 60)).toThrow(code('EINVAL'));
  });

  it('readInto reads into a caller buffer at an offset, on the fast path and across pages', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), { writable: true, user: true });
    s.mapPage(0x2000, m.physical.allocFrame(), { writable: true, user: true });
    const bytes = Array.from({ length: 40 }, (_, i) => i + 1);
    s.write(0x1ff0, bytes); // crosses into 0x2000
    const dst = new Uint8Array(48).fill(0xee);
    s.readInto(0x1ff0, dst, 4, 13); // within the first page: the JS hit path (4-byte loads + tail)
    expect([...dst.subarray(0, 20)]).toEqual([0xee, 0xee, 0xee, 0xee, ...bytes.slice(0, 13), 0xee, 0xee, 0xee]);
    const all = new Uint8Array(40);
    s.readInto(0x1ff0, all); // crosses the page boundary: the core path
    expect([...all]).toEqual(bytes);
    const hits = m.stats().tlb.hits;
    s.readInto(0x1ff8, new Uint8Array(8));
    expect(m.stats().tlb.hits).toBe(hits + 1);
    s.readInto(0x1000, dst, 48); // zero length at the end: nothing to do
    expect(() => s.readInto(0x1000, [1, 2] as never)).toThrow(code('EINVAL'));
    expect(() => s.readInto(0x1000, dst, 49)).toThrow(/offset/);
    expect(() => s.readInto(0x1000, dst, 40, 9)).toThrow(/length/);
    expect(() => s.readInto(0x1000, dst, -1)).toThrow(code('EINVAL'));
    expect(() => s.readInto(0x9000, dst, 0, 1)).toThrow(PageFault);
  });

  it('the JS hit paths serve 2 MiB and global entries too, at the right offset and with the same counters', () => {
    const m = mk({ memory: '64MiB' });
    const s = m.createAddressSpace({ faults: 'raw' });
    const big = m.physical.allocFrames(512, PAGE_SIZE_2M);
    s.mapPage(0x40_0000, big, { writable: true, user: true }, { pageSize: PAGE_SIZE_2M });
    s.mapPage(0x7000, m.physical.allocFrame(), { writable: true, user: true, global: true });
    s.store(0x5f_fff0, 0x11223344); // miss: the core fills a 2 MiB entry and sets D
    s.store(0x7010, 0x55667788);
    const before = m.stats().tlb;
    expect(s.load(0x5f_fff0)).toBe(0x11223344); // hits on the 2 MiB entry (tlbLookup's later probes)
    expect(s.load(0x7010)).toBe(0x55667788);
    const dst = new Uint8Array(4);
    s.readInto(0x5f_fff1, dst, 0, 3);
    expect([...dst]).toEqual([0x33, 0x22, 0x11, 0]);
    expect(s.access(0x5f_fff0)).toBe(big + 0x1f_fff0);
    expect(m.physical.read(big + 0x1f_fff0, 4)).toEqual(new Uint8Array([0x44, 0x33, 0x22, 0x11]));
    const after = m.stats().tlb;
    expect(after.hits - before.hits).toBe(4);
    expect(after.misses).toBe(before.misses);
  });

  it('read/readInto send odd arguments to the checked path, which names them', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), { writable: true, user: true });
    s.write(0x1000, [9, 8, 7]);
    const dst = new Uint8Array(8);
    expect(() => s.readInto(0x1000, dst, 1.5, 2)).toThrow(/offset/);
    expect(() => s.readInto(0x1000, dst, 0, Number.NaN)).toThrow(/length/);
    expect(() => s.readInto(0x1000, dst, 2 ** 32, 1)).toThrow(/offset/);
    expect(() => s.readInto(4096.5, dst, 0, 1)).toThrow(code('EINVAL'));
    s.readInto(0x1000, dst, 0, 3, { user: false }); // options: the checked path, same bytes
    expect([...dst.subarray(0, 3)]).toEqual([9, 8, 7]);
    dst.fill(0);
    s.readInto(0x1001, dst, 1, 2, { user: true }); // checked, then the hit path
    expect([...dst.subarray(0, 3)]).toEqual([0, 8, 7]);
    dst[0] = 9;
    s.readInto(0x1000n, dst, 3, 2); // a bigint address
    expect([...dst.subarray(0, 5)]).toEqual([9, 8, 7, 9, 8]);
    // read(): the same split. Zero bytes still check the address; options take the checked path.
    expect(s.read(0x1000, 0)).toEqual(new Uint8Array(0));
    expect(() => s.read(2 ** 47, 0)).toThrow(code('EINVAL'));
    expect(() => s.read(0x1000, -1)).toThrow(/length/);
    expect([...s.read(0x1000, 3, { user: false })]).toEqual([9, 8, 7]);
    expect(() => s.read(0x1ffe, 4)).toThrow(PageFault); // crosses into the unmapped 0x2000: the core path faults
  });

  it('after the machine is disposed, every access names the disposal', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), { writable: true, user: true });
    s.load(0x1000);
    m.dispose();
    expect(() => s.load(0x1000)).toThrow(code('EINVAL'));
    expect(() => s.load(0x1000)).toThrow(/disposed/);
    expect(() => s.readInto(0x1000, new Uint8Array(1))).toThrow(/disposed/);
    expect(() => s.access(0x1000)).toThrow(/disposed/);
  });

  it('a read sets A only; the first write after it walks again to set D', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x5000, m.physical.allocFrame(), { writable: true, user: true });
    expect(s.access(0x5008, 'read')).toBe(s.translate(0x5008)!.physical);
    expect(s.translate(0x5000)!.flags).toMatchObject({ accessed: true, dirty: false });
    const walks = m.stats().tlb.walks;
    s.access(0x5010, 'write');
    expect(s.translate(0x5000)!.flags.dirty).toBe(true);
    expect(m.stats().tlb.walks).toBe(walks + 1);
    expect(m.stats().tlb.hits).toBe(1);
  });

  it('throws PageFault with CR2, error code and kind', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x2000, m.physical.allocFrame(), { user: true }); // read-only
    let f: unknown;
    try {
      s.write(0x2004, [9]);
    } catch (e) {
      f = e;
    }
    expect(f).toBeInstanceOf(PageFault);
    const pf = f as PageFault;
    expect(pf.address).toBe(0x2004);
    expect(pf.errorCode).toBe(PF.P | PF.W | PF.U);
    expect(pf.access).toBe('write');
    expect(pf.present).toBe(true);
    expect(() => s.read(0x9000, 1)).toThrow(expect.objectContaining({ name: 'PageFault', errorCode: PF.U, address: 0x9000 }));
    expect(() => s.access(0x2000, 'execute')).not.toThrow(); // NX clear
  });

  it('enforces NX on instruction fetch and reports the I bit', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x3000, m.physical.allocFrame(), { user: true, noExecute: true });
    expect(() => s.access(0x3000, 'execute')).toThrow(expect.objectContaining({ errorCode: PF.P | PF.U | PF.I }));
    expect(() => s.access(0x3000, 'read')).not.toThrow();
  });

  it('user accesses to supervisor pages fault; supervisor accesses do not', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x4000, m.physical.allocFrame(), { writable: true });
    expect(() => s.access(0x4000, 'read')).toThrow(expect.objectContaining({ errorCode: PF.P | PF.U }));
    expect(() => s.access(0x4000, 'write', { user: false })).not.toThrow();
  });

  it('honours CR0.WP for supervisor writes to read-only pages', () => {
    for (const wp of [true, false]) {
      const m = mk({ features: { wp } });
      const s = m.createAddressSpace({ faults: 'raw' });
      s.mapPage(0x4000, m.physical.allocFrame(), { user: false });
      const attempt = () => s.access(0x4000, 'write', { user: false });
      if (wp) expect(attempt).toThrow(expect.objectContaining({ errorCode: PF.P | PF.W }));
      else expect(attempt).not.toThrow();
    }
  });

  it('SMAP blocks supervisor data access to user pages unless AC is set; SMEP blocks fetches', () => {
    const m = mk({ features: { smap: true, smep: true } });
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x6000, m.physical.allocFrame(), { user: true, writable: true });
    expect(() => s.access(0x6000, 'read', { user: false })).toThrow(expect.objectContaining({ errorCode: PF.P }));
    expect(() => s.access(0x6000, 'read', { user: false, ac: true })).not.toThrow();
    expect(() => s.access(0x6000, 'execute', { user: false, ac: true })).toThrow(expect.objectContaining({ errorCode: PF.P | PF.I }));
  });

  it('shares the kernel half between address spaces and keeps user halves isolated', () => {
    const m = mk();
    const a = m.createAddressSpace({ faults: 'raw' });
    const b = m.createAddressSpace({ faults: 'raw' });
    const kva = KERNEL_BASE + 0x20_0000;
    const kpa = m.physical.allocFrame();
    a.mapPage(kva, kpa, { writable: true, global: true });
    expect(b.translate(kva)!.physical).toBe(kpa);
    a.write(kva, [7], { user: false });
    expect([...b.read(kva, 1, { user: false })]).toEqual([7]);
    expect(() => b.read(kva, 1)).toThrow(PageFault); // user mode
    a.mapPage(0x10000, m.physical.allocFrame(), { user: true });
    expect(b.translate(0x10000)).toBeUndefined();
    a.unmapPage(kva);
    expect(b.translate(kva)).toBeUndefined();
  });

  it('maps 2 MiB pages and translates inside them', () => {
    const m = mk({ memory: '32MiB' });
    const s = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrames(512, PAGE_SIZE_2M);
    s.mapPage(0x4000_0000, pa, { user: true, writable: true }, { pageSize: PAGE_SIZE_2M });
    const t = s.translate(0x4000_0000 + 0x12345)!;
    expect(t.pageSize).toBe(PAGE_SIZE_2M);
    expect(t.physical).toBe(pa + 0x12345);
    s.write(0x4010_0000, [5]);
    expect([...m.physical.read(pa + 0x10_0000, 1)]).toEqual([5]);
    expect(() => s.unmapPage(0x4000_1000)).toThrow(code('EINVAL'));
    s.unmapPage(0x4000_0000);
    expect(s.translate(0x4000_0000)).toBeUndefined();
  });

  it('stale TLB entries are invalidated by protectPage and unmapPage', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x7000, m.physical.allocFrame(), { user: true, writable: true });
    s.write(0x7000, [1]);
    s.protectPage(0x7000, { user: true });
    expect(() => s.write(0x7000, [2])).toThrow(PageFault);
    expect(s.translate(0x7000)!.flags).toMatchObject({ writable: false, accessed: true, dirty: true });
    s.unmapPage(0x7000);
    expect(() => s.read(0x7000, 1)).toThrow(expect.objectContaining({ errorCode: PF.U }));
  });

  it('keeps TLB entries across switches with PCIDs and loses them without', () => {
    for (const pcid of [true, false]) {
      const m = mk({ features: { pcid } });
      const a = m.createAddressSpace({ faults: 'raw' });
      const b = m.createAddressSpace({ faults: 'raw' });
      a.mapPage(0x1000, m.physical.allocFrame(), { user: true });
      b.mapPage(0x1000, m.physical.allocFrame(), { user: true });
      a.read(0x1000, 1);
      b.read(0x1000, 1);
      a.read(0x1000, 1);
      const st = m.stats().tlb;
      expect(st.misses).toBe(pcid ? 2 : 3);
      expect(st.hits).toBe(pcid ? 1 : 0);
    }
  });

  it('accessBatch stops at the first fault, reports its index, and resumes', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), { user: true, writable: true });
    const addrs = new Float64Array([0x1000, 0x1008, 0x2000, 0x1010]);
    const kinds = new Uint8Array([0, 1, 0, 1]);
    const r = s.accessBatch(addrs, kinds);
    expect(r.completed).toBe(2);
    expect(r.fault).toBeInstanceOf(PageFault);
    expect(r.fault!.address).toBe(0x2000);
    s.mapPage(0x2000, m.physical.allocFrame(), { user: true });
    expect(s.accessBatch(addrs, kinds, { start: 2 })).toEqual({ completed: 4 });
    expect(m.stats().accesses.total).toBe(4);
  });

  it('accepts bigint addresses in both spellings', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    s.mapPage(0xffff800000400000n, BigInt(pa), { writable: true });
    expect(s.translate(-(2 ** 47) + 0x400000)!.physical).toBe(pa);
    expect(s.translate(-(2n ** 47n) + 0x400000n)!.physical).toBe(pa);
  });
});

describe.each(BACKENDS)('bad inputs (%s)', (backend) => {
  const m = new Machine({ memory: '16MiB', backend });
  const s = m.createAddressSpace({ faults: 'raw' });
  const pa = m.physical.allocFrame();

  it('rejects non-canonical, unaligned and wrongly typed addresses with EINVAL naming the argument', () => {
    expect(() => s.mapPage(0x800000000000, pa)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/va .*canonical/) }));
    expect(() => s.mapPage(0x1001, pa)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/va .*aligned/) }));
    expect(() => s.mapPage('0x1000' as never, pa)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/^EINVAL: va must be/) }));
    expect(() => s.mapPage(0x1000, pa + 1)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/pa .*aligned/) }));
    expect(() => s.mapPage(0x1000, -4096)).toThrow(code('EINVAL'));
    expect(() => s.mapPage(0x1000, 2 ** 40)).toThrow(expect.objectContaining({ message: expect.stringMatching(/beyond physical memory/) }));
    expect(() => s.mapPage(0x1000, pa, { writable: 1 } as never)).toThrow(expect.objectContaining({ message: expect.stringMatching(/flags.writable must be a boolean/) }));
    expect(() => s.mapPage(0x1000, pa, { exec: true } as never)).toThrow(expect.objectContaining({ message: expect.stringMatching(/flags.exec is not a page flag/) }));
    expect(() => s.mapPage(0x1000, pa, {}, { pageSize: 8192 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/pageSize/) }));
    expect(() => s.translate(NaN)).toThrow(code('EINVAL'));
    expect(() => s.translate(1.5)).toThrow(code('EINVAL'));
    expect(() => s.translate(2n ** 64n)).toThrow(code('EINVAL'));
    expect(() => s.access(0x1000, 'fetch' as never)).toThrow(expect.objectContaining({ message: expect.stringMatching(/kind must be/) }));
    expect(() => s.access(0x1000, 'read', { user: 'yes' } as never)).toThrow(expect.objectContaining({ message: expect.stringMatching(/options.user/) }));
    expect(() => s.read(0x1000, -1)).toThrow(expect.objectContaining({ message: expect.stringMatching(/length/) }));
    expect(() => s.write(0x1000, 'abc' as never)).toThrow(expect.objectContaining({ message: expect.stringMatching(/bytes must be/) }));
    expect(() => s.read(0x7ffffffffff0, 0x20)).toThrow(code('EFAULT'));
  });

  it('rejects mapping unallocated frames, double mappings, and unmapping holes, changing nothing', () => {
    const free0 = m.physical.freeFrames;
    const unallocated = (m.physical.totalFrames - 1) * PAGE_SIZE;
    expect(() => s.mapPage(0x1000, unallocated)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/not allocated/) }));
    expect(m.physical.freeFrames).toBe(free0);
    s.mapPage(0x1000, pa, { user: true });
    const free1 = m.physical.freeFrames;
    expect(() => s.mapPage(0x1000, pa)).toThrow(code('EEXIST'));
    expect(m.physical.freeFrames).toBe(free1);
    expect(() => s.unmapPage(0x2000)).toThrow(code('ENOENT'));
    expect(() => s.protectPage(0x2000, {})).toThrow(code('ENOENT'));
    s.unmapPage(0x1000);
  });

  it('rejects bad batches', () => {
    expect(() => s.accessBatch([1] as never, new Uint8Array(1))).toThrow(expect.objectContaining({ message: expect.stringMatching(/Float64Array/) }));
    expect(() => s.accessBatch(new Float64Array(2), new Uint8Array(1))).toThrow(expect.objectContaining({ message: expect.stringMatching(/kinds has 1/) }));
    expect(() => s.accessBatch(new Float64Array([0x1000]), new Uint8Array([3]))).toThrow(expect.objectContaining({ message: expect.stringMatching(/kinds must be 0/) }));
    expect(() => s.accessBatch(new Float64Array([2 ** 47]), new Uint8Array([0]))).toThrow(expect.objectContaining({ message: expect.stringMatching(/addresses\[0\]/) }));
    expect(() => s.accessBatch(new Float64Array(4), new Uint8Array(4), { start: 3, end: 2 })).toThrow(code('EINVAL'));
  });

  it('rejects bad machine options', () => {
    expect(() => new Machine({ memory: '3GB' as never })).toThrow(expect.objectContaining({ message: expect.stringMatching(/options.memory/) }));
    expect(() => new Machine({ memory: 1000 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/multiple of 4096/) }));
    expect(() => new Machine({ memory: 4096 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/out of range/) }));
    expect(() => new Machine({ tlb: { entries: 10, ways: 4 } })).toThrow(expect.objectContaining({ message: expect.stringMatching(/multiple of/) }));
    expect(() => new Machine({ tlb: { entries: 0 } })).toThrow(code('EINVAL'));
    expect(() => new Machine({ backend: 'gpu' as never })).toThrow(expect.objectContaining({ message: expect.stringMatching(/options.backend/) }));
    expect(() => new Machine({ features: { nx: 'on' } as never })).toThrow(expect.objectContaining({ message: expect.stringMatching(/features.nx/) }));
    expect(() => new Machine(null as never)).toThrow(code('EINVAL'));
  });

  it('rejects bad physical accesses', () => {
    expect(() => m.physical.read(m.physical.size - 1, 2)).toThrow(code('EFAULT'));
    expect(() => m.physical.write(-1, [1])).toThrow(code('EINVAL'));
    expect(() => m.physical.freeFrame(0)).toThrow(expect.objectContaining({ message: expect.stringMatching(/reserved/) }));
    expect(() => m.physical.freeFrame(pa + 1)).toThrow(expect.objectContaining({ message: expect.stringMatching(/aligned/) }));
    expect(() => m.physical.allocFrames(2, 3 * 4096)).toThrow(expect.objectContaining({ message: expect.stringMatching(/power of two/) }));
    expect(() => m.physical.allocFrames(1 << 20)).toThrow(code('EINVAL'));
    const tiny = new Machine({ memory: '2MiB', backend });
    expect(() => tiny.physical.allocFrames(300)).toThrow(code('ENOMEM'));
    while (tiny.physical.freeFrames > 0) tiny.physical.allocFrame();
    expect(() => tiny.physical.allocFrame()).toThrow(code('ENOMEM'));
    expect(() => tiny.createAddressSpace()).toThrow(code('ENOMEM'));
  });
});

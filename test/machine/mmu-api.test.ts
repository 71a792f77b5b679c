/**
 * The MMU level's API for emulator authors, each case stating the SDM outcome: 8-byte and
 * signed loads, instruction fetch with execute checks per page, stores that fault write
 * nothing, the raw fault hook, adopting a guest-built page table, and walk().
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { AddressSpace, Machine, MmuSpace, PageFault, PageFaultCode as PF, SegmentationFault } from '../../src/index.js';

const PAGE = 4096;
const code = (c: string) => expect.objectContaining({ code: c });

/** Writes a 64-bit entry at physical `pa`. */
function putEntry(m: Machine, pa: number, entry: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, entry, true);
  m.physical.write(pa, b);
}

describe.each(BACKENDS)('MMU level API (%s)', (backend) => {
  const mk = () => new Machine({ memory: '16MiB', backend });
  const rawWithPages = (m: Machine, flags = { writable: true, user: true }) => {
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), flags);
    s.mapPage(0x2000, m.physical.allocFrame(), flags);
    return s;
  };

  it('a raw space is an MmuSpace without VMM calls; a default space is an AddressSpace', () => {
    const m = mk();
    const raw = m.createAddressSpace({ faults: 'raw' });
    expect(raw).toBeInstanceOf(MmuSpace);
    expect(raw).not.toBeInstanceOf(AddressSpace);
    expect('mmap' in raw || 'fork' in raw || 'stats' in raw).toBe(false);
    expect(m.createAddressSpace()).toBeInstanceOf(AddressSpace);
    expect(() => m.createAddressSpace({ faults: 'raw', stack: true } as never)).toThrow(code('EINVAL'));
  });

  it('load(va, 8) returns a bigint and store(va, v, 8) takes one, on the hit path and across a page boundary', () => {
    const m = mk();
    const s = rawWithPages(m);
    s.store(0x1008, 0x0102030405060708n, 8); // first: the general path
    expect(s.load(0x1008, 8)).toBe(0x0102030405060708n);
    s.store(0x1010, -2n, 8); // hit path, signed spelling
    expect(s.load(0x1010, 8)).toBe(0xfffffffffffffffen);
    s.store(0x1ffc, 0x1122334455667788n, 8); // crosses into 0x2000
    expect(s.load(0x1ffc, 8)).toBe(0x1122334455667788n);
    expect([...s.read(0x2000, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    s.store(0x1020, 2 ** 40 + 5, 8); // a safe integer is fine too
    expect(s.load(0x1020, 8)).toBe(2n ** 40n + 5n);
    expect(() => s.store(0x1000, 2n ** 64n, 8)).toThrow(code('EINVAL'));
    expect(() => s.store(0x1000, -(2n ** 63n) - 1n, 8)).toThrow(code('EINVAL'));
    expect(() => s.store(0x1000, 1.5, 8)).toThrow(code('EINVAL'));
  });

  it('loadSigned sign-extends (MOVSX) 1, 2, 4 and 8 bytes', () => {
    const m = mk();
    const s = rawWithPages(m);
    s.store(0x1000, 0x80, 1);
    s.store(0x1002, 0xfffe, 2);
    s.store(0x1004, 0x80000000, 4);
    s.store(0x1008, 0xffffffffffffffffn, 8);
    expect(s.loadSigned(0x1000, 1)).toBe(-128);
    expect(s.loadSigned(0x1002, 2)).toBe(-2);
    expect(s.loadSigned(0x1004, 4)).toBe(-(2 ** 31));
    expect(s.loadSigned(0x1008, 8)).toBe(-1n);
    s.store(0x1010, 0x7f, 1);
    expect(s.loadSigned(0x1010, 1)).toBe(127);
  });

  it('fetch checks execute permission on every page it touches (SDM: NX faults with the I/D bit), and a fetch that faults returns nothing', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    const code1 = m.physical.allocFrame();
    m.physical.write(code1 + PAGE - 2, [0x0f, 0x05]);
    s.mapPage(0x1000, code1, { user: true });
    s.mapPage(0x2000, m.physical.allocFrame(), { user: true, noExecute: true });
    expect([...s.fetch(0x1ffe, 2)]).toEqual([0x0f, 0x05]);
    expect([...s.fetch(0x1ffe, 2)]).toEqual([0x0f, 0x05]); // the JS hit path
    expect(m.stats().accesses.execute).toBe(2);
    let fault: unknown;
    try {
      s.fetch(0x1fff, 2); // crosses into the NX page
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(PageFault);
    expect(fault).toMatchObject({ address: 0x2000, access: 'execute' });
    expect((fault as PageFault).errorCode & (PF.P | PF.I)).toBe(PF.P | PF.I);
    expect(s.read(0x2000, 1)).toEqual(new Uint8Array(1)); // a read of the NX page is fine
  });

  it('in a VMM space a fetch from a non-executable region is SIGSEGV (SEGV_ACCERR); from an executable one it faults the page in', () => {
    const m = mk();
    const s = m.createAddressSpace();
    const rx = s.mmap({ length: PAGE, prot: 'rx' });
    const rw = s.mmap({ length: PAGE, prot: 'rw' });
    expect([...s.fetch(rx, 4)]).toEqual([0, 0, 0, 0]);
    expect(() => s.fetch(rw, 1)).toThrow(expect.objectContaining({ name: 'SegmentationFault', cause: 'SEGV_ACCERR', access: 'execute' }));
  });

  it('a store that crosses into a page that faults writes no byte (x86 checks both pages first)', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    s.mapPage(0x1000, m.physical.allocFrame(), { writable: true, user: true });
    s.mapPage(0x2000, m.physical.allocFrame(), { user: true }); // read-only
    expect(() => s.store(0x1ffe, 0x11223344)).toThrow(PageFault);
    expect(() => s.write(0x1ff0, new Uint8Array(32).fill(9))).toThrow(PageFault);
    expect(() => s.store(0x1ffc, 1n, 8)).toThrow(PageFault);
    expect([...s.read(0x1ff0, 16)]).toEqual(new Array(16).fill(0));
    // In a VMM space: the same, as a SIGSEGV.
    const v = m.createAddressSpace();
    const a = v.mmap({ length: 2 * PAGE, prot: 'rw' });
    v.mprotect(a + PAGE, PAGE, 'r');
    expect(() => v.write(a + PAGE - 4, [1, 2, 3, 4, 5, 6, 7, 8])).toThrow(SegmentationFault);
    expect([...v.read(a + PAGE - 4, 4)]).toEqual([0, 0, 0, 0]);
    // Across a page that is only not present yet, both pages are faulted in and the store completes.
    const b = v.mmap({ length: 2 * PAGE, prot: 'rw' });
    v.write(b + PAGE - 2, [1, 2, 3, 4]);
    expect([...v.read(b + PAGE - 2, 4)]).toEqual([1, 2, 3, 4]);
  });

  it("createAddressSpace({ faults: 'raw', onFault }) lets a callback map the page and ask for a retry", () => {
    const m = mk();
    const seen: Array<[number, number, string]> = [];
    const s: MmuSpace = m.createAddressSpace({
      faults: 'raw',
      onFault: (f) => {
        seen.push([f.address, f.errorCode, f.access]);
        if (f.address >= 0x10000) return undefined; // not ours: delivered
        s.mapPage(f.address - (f.address % PAGE), m.physical.allocFrame(), { writable: true, user: true });
        return 'retry';
      },
    });
    s.store(0x3004, 7);
    expect(s.load(0x3004)).toBe(7);
    expect(seen).toEqual([[0x3004, PF.W | PF.U, 'write']]);
    expect(m.stats().tlb.retries).toBe(1);
    expect(() => s.load(0x20000)).toThrow(PageFault);
    const r = s.accessBatch(new Float64Array([0x5000, 0x6000, 0x30000]), new Uint8Array([0, 1, 0]));
    expect(r.completed).toBe(2);
    expect(r.fault).toBeInstanceOf(PageFault);
    expect(() => m.createAddressSpace({ faults: 'raw', onFault: 1 as never })).toThrow(code('EINVAL'));
    expect(() => m.createAddressSpace({ onFault: () => 'retry' })).toThrow(/onFault needs faults: 'raw'/);
  });

  it('a retry that changes nothing is delivered, not looped on', () => {
    const m = mk();
    let calls = 0;
    const s = m.createAddressSpace({ faults: 'raw', onFault: () => (calls++, 'retry') });
    expect(() => s.load(0x1000)).toThrow(PageFault);
    expect(calls).toBe(1);
  });

  it('machine.adoptAddressSpace(cr3) runs a page table that guest code built in simulated RAM', () => {
    const m = mk();
    const [pml4, pdpt, pd, pt, data] = [0, 0, 0, 0, 0].map(() => m.physical.allocFrame());
    const va = 0x40201000; // PML4 0, PDPT 1, PD 1, PT 1
    const T = 0x7n; // P | RW | US
    putEntry(m, pml4! + 0 * 8, BigInt(pdpt!) | T);
    putEntry(m, pdpt! + 1 * 8, BigInt(pd!) | T);
    putEntry(m, pd! + 1 * 8, BigInt(pt!) | T);
    putEntry(m, pt! + 1 * 8, BigInt(data!) | T);
    m.physical.write(data! + 8, [42]);
    const s = m.adoptAddressSpace(pml4!);
    expect(s.root).toBe(pml4);
    expect(s.load(va + 8, 1)).toBe(42);
    s.store(va + 9, 43, 1);
    expect([...m.physical.read(data! + 9, 1)]).toEqual([43]);
    expect(s.translate(va)!.flags).toMatchObject({ accessed: true, dirty: true }); // the walker set A and D in the guest's entries
    expect(() => m.adoptAddressSpace(pml4!)).toThrow(code('EBUSY'));
    expect(() => m.adoptAddressSpace(m.physical.size - PAGE)).toThrow(code('EINVAL')); // not allocated
    expect(() => m.adoptAddressSpace(pml4! + 8)).toThrow(code('EINVAL'));
    expect(() => m.adoptAddressSpace(pml4!, { onfault: 1 } as never)).toThrow(/unknown option "onfault"/);
  });

  it('space.walk(va) shows every level visited, top first, as the hardware walks', () => {
    const m = mk();
    const s = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    s.mapPage(0x7f12_3456_7000, pa, { writable: true, user: true, noExecute: true });
    s.write(0x7f12_3456_7008, [1]);
    const w = s.walk(0x7f12_3456_7008);
    expect(w.map((x) => x.level)).toEqual([4, 3, 2, 1]);
    expect(w.map((x) => x.index)).toEqual([0xfe, 0x48, 0x1a2, 0x167]);
    expect(w[0]!.entryAddress).toBe(s.root + 0xfe * 8);
    const leaf = w[3]!;
    expect(leaf.entry & 0xffffffffff000n).toBe(BigInt(pa));
    expect(leaf.flags).toMatchObject({ present: true, writable: true, user: true, noExecute: true, accessed: true, dirty: true, largePage: false });
    for (let i = 1; i < 4; i++) expect(w[i]!.entryAddress - (w[i]!.entryAddress % PAGE)).toBe(Number(w[i - 1]!.entry & 0xffffffffff000n));
    // A walk stops at the first entry that is not present, and at a large page.
    const miss = s.walk(0x1000);
    expect(miss).toHaveLength(1);
    expect(miss[0]!.flags.present).toBe(false);
    s.mapPage(0x4000_0000, m.physical.allocFrames(512, 2 ** 21), { user: true }, { pageSize: 2 ** 21 });
    const big = s.walk(0x4000_1234);
    expect(big.map((x) => x.level)).toEqual([4, 3, 2]);
    expect(big[2]!.flags.largePage).toBe(true);
  });
});

/**
 * /proc's files on the kernel's rules, case by case, on both backends: the exact text of smaps,
 * smaps_rollup, status and statm; pagemap's bits for every kind of page (zero page, huge zero
 * page, shared memory, COW-shared, swapped); Pss and SwapPss shared out by mapcount;
 * soft-dirty tracking with clear_refs 4 (write faults mark, reads in tracked regions do not, a
 * new mapping is soft-dirty whole, mprotect grants no write, a 2 MiB page is not split);
 * clear_refs 1-3 and 5; the high-water marks; and every bad input.
 */
import { describe, expect, it } from 'vitest';
import { Machine, VmmError, decodePagemapEntry, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const P = 4096;
const HUGE = 2 ** 21;
const one = new Uint8Array([1]);

function flags(s: AddressSpace, va: number): string {
  const e = s.pagemap(va, 1, { format: 'entries' })[0]!;
  return [e.present && 'present', e.swapped && 'swapped', e.file && 'file', e.exclusive && 'exclusive', e.softDirty && 'soft-dirty'].filter(Boolean).join(' ');
}

function region(s: AddressSpace, va: number) {
  const e = s.smaps().find((x) => x.start <= va && va < x.end);
  if (!e) throw new Error(`no region at ${va.toString(16)}`);
  return e;
}

describe.each(BACKENDS)('/proc files (%s)', (backend) => {
  it('smaps prints each region as the kernel does: header, fields in order, widths, THPeligible, VmFlags with a trailing space', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ addr: 0x7f0000000000, length: 4 * P, prot: 'rw', fixed: true });
    s.write(a, one);
    s.read(a + P, 1); // the zero page: not resident
    expect(s.smaps({ format: 'text' })).toBe(
      '7f0000000000-7f0000004000 rw-p 00000000 00:00 0 \n' +
        'Size:                 16 kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\n' +
        'Rss:                   4 kB\nPss:                   4 kB\nPss_Dirty:             4 kB\n' +
        'Shared_Clean:          0 kB\nShared_Dirty:          0 kB\nPrivate_Clean:         0 kB\nPrivate_Dirty:         4 kB\n' +
        'Referenced:            4 kB\nAnonymous:             4 kB\nKSM:                   0 kB\nLazyFree:              0 kB\n' +
        'AnonHugePages:         0 kB\nShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\n' +
        'Shared_Hugetlb:        0 kB\nPrivate_Hugetlb:       0 kB\nSwap:                  0 kB\nSwapPss:               0 kB\n' +
        'Locked:                0 kB\nTHPeligible:           0\nVmFlags: rd wr mr mw me ac sd \n',
    );
    expect(s.smapsRollup({ format: 'text' })).toBe(
      '7f0000000000-7f0000004000 ---p 00000000 00:00 0                          [rollup]\n' +
        'Rss:                   4 kB\nPss:                   4 kB\nPss_Dirty:             4 kB\nPss_Anon:              4 kB\nPss_File:              0 kB\nPss_Shmem:             0 kB\n' +
        'Shared_Clean:          0 kB\nShared_Dirty:          0 kB\nPrivate_Clean:         0 kB\nPrivate_Dirty:         4 kB\n' +
        'Referenced:            4 kB\nAnonymous:             4 kB\nKSM:                   0 kB\nLazyFree:              0 kB\n' +
        'AnonHugePages:         0 kB\nShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\n' +
        'Shared_Hugetlb:        0 kB\nPrivate_Hugetlb:       0 kB\nSwap:                  0 kB\nSwapPss:               0 kB\nLocked:                0 kB\n',
    );
    const e = s.smaps()[0]!;
    expect(Object.keys(e)).toEqual(['maps', 'start', 'end', 'Size', 'KernelPageSize', 'MMUPageSize', 'Rss', 'Pss', 'Pss_Dirty', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty', 'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped', 'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked', 'THPeligible', 'VmFlags']);
    // A value wider than the field is printed whole.
    const big = s.mmap({ length: 2 ** 40, prot: 'r', noReserve: true });
    expect(s.smaps({ format: 'text' })).toContain('Size:           1073741824 kB\n');
    s.munmap(big, 2 ** 40);
    m.dispose();
  });

  it('an empty space has an empty smaps and a rollup of 00000000-00000000', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    expect(s.smaps()).toEqual([]);
    expect(s.smaps({ format: 'text' })).toBe('');
    // seq_pad pads from the line's start: a shorter address column leaves more spaces.
    expect(s.smapsRollup().maps).toBe('00000000-00000000 ---p 00000000 00:00 0'.padEnd(72) + ' [rollup]');
    expect(s.smapsRollup().Rss).toBe(0);
    m.dispose();
  });

  it('VmFlags by kind: the stack grows down, MAP_NORESERVE is nr and not accounted, shared memory is sh ms, PROT_NONE has none of rd wr ex', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace();
    const nr = s.mmap({ length: P, prot: 'rw', noReserve: true });
    const sh = s.mmap({ length: P, prot: 'r', shared: true });
    const none = s.mmap({ length: P, prot: 'none' });
    const rx = s.mmap({ length: P, prot: 'rx' });
    const huge = s.mmap({ length: 4 * HUGE, prot: 'rw', hugePages: true });
    const small = s.mmap({ addr: 0x10000000, length: 64 * P, prot: 'rw', hugePages: true, fixed: true });
    const names = (va: number) => region(s, va).VmFlags.join(' ');
    expect(names(0x7ffffffff000 - P)).toBe('rd wr mr mw me gd ac sd');
    expect(names(nr)).toBe('rd wr mr mw me nr sd');
    expect(names(sh)).toBe('rd sh mr mw me ms sd');
    expect(names(none)).toBe('mr mw me sd');
    expect(names(rx)).toBe('rd ex mr mw me sd');
    expect(names(huge)).toBe('rd wr mr mw me ac sd hg');
    // THPeligible needs an aligned 2 MiB block inside the region (the kernel: 256 KiB shows 0).
    expect(region(s, huge).THPeligible).toBe(1);
    expect(region(s, small).THPeligible).toBe(0);
    expect(region(s, nr).THPeligible).toBe(0);
    m.dispose();
  });

  it('Pss divides a page among the processes mapping it (fixed point, as PSS_SHIFT); Shared_* counts pages mapped more than once', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ length: 3 * P, prot: 'rw' });
    for (let i = 0; i < 3; i++) s.write(a + i * P, one);
    const c1 = s.fork();
    const c2 = s.fork();
    // Each of the 3 pages has mapcount 3: (4096 << 12) / 3 each, floored per page as the kernel divides, 3 kB after the shift (not 4).
    const share = (n: number) => Math.floor((4096 * 4096) / n);
    const e = region(s, a);
    expect([e.Rss, e.Pss, e.Shared_Dirty, e.Private_Dirty, e.Pss_Dirty]).toEqual([12, 3, 12, 0, 3]);
    // The parent's Referenced stays; fork's copies start old.
    expect([e.Referenced, region(c1, a).Referenced]).toEqual([12, 0]);
    s.write(a, one); // COW: the parent's own copy
    const kB = (fixed: number) => Math.floor(fixed / 4096 / 1024);
    expect([region(s, a).Pss, region(s, a).Private_Dirty, region(c1, a).Pss]).toEqual([kB(share(1) + 2 * share(3)), 4, kB(share(2) + 2 * share(3))]);
    c1.destroy();
    c2.destroy();
    expect([region(s, a).Pss, region(s, a).Private_Dirty]).toEqual([12, 12]);
    auditMachine(m);
    m.dispose();
  });

  it('pagemap: the zero page is present alone, the huge zero page present and file, shared memory file and exclusive when mapped once, COW-shared pages not exclusive', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ length: 4 * P, prot: 'rw' });
    s.write(a, one);
    s.read(a + P, 1);
    expect(flags(s, a)).toBe('present exclusive soft-dirty');
    expect(flags(s, a + P)).toBe('present soft-dirty');
    expect(s.pagemap(a + P, 1, { format: 'entries' })[0]!.pfn).toBe(m.vmm.zeroFrame);
    expect(flags(s, a + 2 * P)).toBe('soft-dirty'); // a hole in a region with VM_SOFTDIRTY
    expect(s.pagemap(a + 16 * P, 1)[0]).toBe(0n); // outside every region
    const sh = s.mmap({ length: 2 * P, prot: 'rw', shared: true });
    s.write(sh, one);
    expect(flags(s, sh)).toBe('present file exclusive soft-dirty');
    const t = s.mmap({ addr: 0x40000000, length: 2 * HUGE, prot: 'rw', hugePages: true, fixed: true });
    s.write(t, one);
    s.read(t + HUGE, 1);
    expect(flags(s, t + 5 * P)).toBe('present exclusive soft-dirty');
    expect(flags(s, t + HUGE + 5 * P)).toBe('present file soft-dirty');
    expect(region(s, t).AnonHugePages).toBe(2048);
    expect(region(s, t).Rss).toBe(2048); // the huge zero page is not resident
    const child = s.fork();
    expect(flags(s, a)).toBe('present soft-dirty');
    // fork copies no entries of shared mappings (vma_needs_copy): the child faults the page in
    // itself, so until it does the page is mapped once, here.
    expect(flags(s, sh)).toBe('present file exclusive soft-dirty');
    child.read(sh, 1);
    expect(flags(s, sh)).toBe('present file soft-dirty');
    child.destroy();
    expect(flags(s, a)).toBe('present exclusive soft-dirty');
    // The raw words: bits 63, 56, 55 and the frame.
    const w = s.pagemap(a, 1)[0]!;
    expect(w >> 55n).toBe(0b100000011n);
    expect(Number(w & ((1n << 55n) - 1n))).toBe(decodePagemapEntry(w).pfn);
    expect(s.pagemap(a, 1, { pfn: false })[0]! & ((1n << 55n) - 1n)).toBe(0n);
    m.dispose();
  });

  it('swap: pagemap gives type 0 and the slot, SwapPss divides a slot among the entries holding it, VmSwap counts them', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ stack: false, residentLimit: 64 });
    const a = s.mmap({ length: 4 * P, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(a + i * P, new Uint8Array([i + 1]));
    s.madvise(a, 2 * P, 'pageout');
    const [e0, e1] = s.pagemap(a, 2, { format: 'entries' });
    expect([e0!.present, e0!.swapped, e0!.swapType, e1!.swapped]).toEqual([false, true, 0, true]);
    expect(e0!.swapOffset).toBeGreaterThan(0);
    expect(e1!.swapOffset).not.toBe(e0!.swapOffset);
    expect(s.pagemap(a, 1, { pfn: false, format: 'entries' })[0]!.swapOffset).toBe(0);
    expect([region(s, a).Swap, region(s, a).SwapPss, s.status().VmSwap]).toEqual([8, 8, 8]);
    const child = s.fork();
    expect([region(s, a).Swap, region(s, a).SwapPss]).toEqual([8, 4]);
    expect(child.status().VmSwap).toBe(8);
    auditMachine(m);
    m.dispose();
  });

  it('status and statm: kB lines as the kernel prints them; zero pages are not RSS; VmHWM and VmPeak keep the high-water marks of unmaps', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 8 * P, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(a + i * P, one);
    for (let i = 4; i < 8; i++) s.read(a + i * P, 1);
    const sh = s.mmap({ length: 2 * P, prot: 'rw', shared: true });
    s.write(sh, one);
    const st = s.status();
    expect([st.VmRSS, st.RssAnon, st.RssShmem, st.RssFile, st.VmHWM]).toEqual([20, 16, 4, 0, 20]);
    expect([st.VmSize, st.VmData, st.VmStk, st.VmExe, st.VmLib, st.VmLck, st.VmPin, st.VmSwap]).toEqual([128 + 32 + 8, 32, 128, 0, 0, 0, 0, 0]);
    expect(s.stats().residentPages).toBe(5); // vmsim's own count leaves the zero-page entries out too
    s.madvise(a, 2 * P, 'dontneed');
    s.munmap(sh, 2 * P);
    const after = s.status();
    expect([after.VmRSS, after.VmHWM, after.VmSize, after.VmPeak]).toEqual([8, 20, 160, 168]);
    expect(s.status({ format: 'text' })).toBe(
      'VmPeak:\t     168 kB\nVmSize:\t     160 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t      20 kB\nVmRSS:\t       8 kB\n' +
        `RssAnon:\t       8 kB\nRssFile:\t       0 kB\nRssShmem:\t       0 kB\nVmData:\t      32 kB\nVmStk:\t     128 kB\nVmExe:\t       0 kB\nVmLib:\t       0 kB\nVmPTE:\t${String(after.VmPTE).padStart(8)} kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n`,
    );
    expect(after.VmPTE).toBe(12); // one PUD, PMD and PTE table map the region (the stack has no page mapped, so no table)
    expect(s.statm()).toEqual({ size: 40, resident: 2, shared: 0, text: 0, lib: 0, data: 8 + 32, dt: 0 });
    expect(s.statm({ format: 'text' })).toBe('40 2 0 0 0 40 0\n');
    s.clearRefs(5);
    expect(s.status().VmHWM).toBe(8);
    // A fork child's marks start at its own figures.
    const c = s.fork();
    expect([c.status().VmHWM, c.status().VmPeak]).toEqual([8, 160]);
    m.dispose();
  });

  it('VmExe is the span of the code regions, VmLib the other executable private mappings; VmLck and Locked count mlocked memory', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false, residentLimit: 100 });
    s.createRegion({ start: 0x400000, length: 4 * P, prot: 'rx', kind: 'code', name: '/bin/prog' });
    s.mmap({ length: 2 * P, prot: 'rx' });
    const l = s.mmap({ length: 4 * P, prot: 'rw' });
    s.mlock(l, 4 * P);
    const st = s.status();
    expect([st.VmExe, st.VmLib, st.VmLck]).toEqual([16, 8, 16]);
    expect(s.statm().text).toBe(4);
    expect([region(s, l).Locked, region(s, l).VmFlags.includes('lo')]).toEqual([16, true]);
    m.dispose();
  });

  it('clear_refs 4: soft-dirty only where written since, reads in tracked regions mark nothing, each write to a write-protected page is one minor fault', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ length: 4 * P, prot: 'rw' });
    const sh = s.mmap({ length: 2 * P, prot: 'rw', shared: true });
    s.write(a, one);
    s.write(a + P, one);
    s.write(sh, one);
    s.clearRefs(4);
    expect([0, 1, 2, 3].map((i) => flags(s, a + i * P))).toEqual(['present exclusive', 'present exclusive', '', '']);
    expect(region(s, a).VmFlags).not.toContain('sd');
    const minor = s.stats().faults.minor;
    s.write(a + P, one); // write-protected: faults, becomes writable and soft-dirty
    s.write(a + P, one); // writable now: no fault
    s.read(a + 2 * P, 1); // the zero page, not soft-dirty
    s.read(sh + P, 1); // a shared page read in: mapped read-only, not soft-dirty
    expect(s.stats().faults.minor).toBe(minor + 3);
    expect([flags(s, a), flags(s, a + P), flags(s, a + 2 * P), flags(s, sh + P)]).toEqual(['present exclusive', 'present exclusive soft-dirty', 'present', 'present file exclusive']);
    s.write(sh + P, one); // now the write faults and marks it
    s.write(a + 2 * P, one); // COW from the zero page
    expect([flags(s, sh + P), flags(s, a + 2 * P)]).toEqual(['present file exclusive soft-dirty', 'present exclusive soft-dirty']);
    // A new mapping is soft-dirty whole (VM_SOFTDIRTY); merging into a tracked region makes that region soft-dirty too.
    const b = s.mmap({ addr: a + 4 * P, length: P, prot: 'rw', fixed: true });
    expect(flags(s, b)).toBe('soft-dirty');
    expect(flags(s, a)).toBe('present exclusive soft-dirty');
    expect(region(s, a).VmFlags).toContain('sd');
    auditMachine(m);
    m.dispose();
  });

  it('clear_refs 4: mprotect grants no write in tracked memory, a 2 MiB page is write-protected and reused whole, fork and swap keep the state', () => {
    const m = new Machine({ memory: '32MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ stack: false, residentLimit: 2000 });
    const a = s.mmap({ length: 2 * P, prot: 'rw' });
    s.write(a, one);
    s.write(a + P, one);
    const t = s.mmap({ addr: 0x40000000, length: HUGE, prot: 'rw', hugePages: true, fixed: true });
    s.write(t, one);
    s.madvise(a + P, P, 'pageout');
    s.clearRefs(4);
    s.mprotect(a, 2 * P, 'r');
    s.mprotect(a, 2 * P, 'rw');
    expect(flags(s, a)).toBe('present exclusive');
    expect(flags(s, a + P)).toBe('swapped');
    s.write(a, one);
    expect(flags(s, a)).toBe('present exclusive soft-dirty');
    s.write(t + 7 * P, one);
    expect(region(s, t).AnonHugePages).toBe(2048);
    expect(flags(s, t)).toBe('present exclusive soft-dirty');
    const c = s.fork();
    expect([flags(c, a + P), flags(c, t + HUGE - P)]).toEqual(['swapped', 'present soft-dirty']);
    c.read(a + P, 1); // swapped in by a read: still clean (mapped once: the swap cache's reference is no mapping)
    expect(flags(c, a + P)).toBe('present exclusive');
    c.write(a + P, one);
    expect(flags(c, a + P)).toBe('present exclusive soft-dirty');
    // Read back clean, written, evicted again into the same (swap cache) slot: still soft-dirty.
    s.read(a + P, 1);
    s.write(a + P, one);
    s.madvise(a + P, P, 'pageout');
    expect(flags(s, a + P)).toBe('swapped soft-dirty');
    auditMachine(m);
    m.dispose();
  });

  it('clear_refs 1, 2, 3 clear the Accessed bits of all, anonymous, shared-memory regions; the TLB is flushed so the next access sets them again', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ length: P, prot: 'rw' });
    const sh = s.mmap({ length: P, prot: 'rw', shared: true });
    const touch = () => (s.write(a, one), s.write(sh, one));
    const refs = () => [region(s, a).Referenced, region(s, sh).Referenced];
    touch();
    expect(refs()).toEqual([4, 4]);
    s.clearRefs(2);
    expect(refs()).toEqual([0, 4]);
    touch();
    s.clearRefs(3);
    expect(refs()).toEqual([4, 0]);
    touch();
    s.clearRefs(1);
    expect(refs()).toEqual([0, 0]);
    touch();
    expect(refs()).toEqual([4, 4]);
    m.dispose();
  });

  it('MADV_FREE: the pages are lazily free (clean and old) until written again', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ stack: false, residentLimit: 100 });
    const a = s.mmap({ length: 4 * P, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(a + i * P, one);
    s.madvise(a, 4 * P, 'free');
    s.write(a, one);
    const e = region(s, a);
    expect([e.LazyFree, e.Referenced, e.Private_Clean, e.Private_Dirty]).toEqual([12, 4, 12, 4]);
    m.dispose();
  });

  it('bad inputs: EINVAL naming what is wrong, nothing changed', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ length: P, prot: 'rw' });
    const bad = (f: () => unknown, re: RegExp) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(VmmError);
        expect((e as VmmError).code).toBe('EINVAL');
        expect((e as Error).message).toMatch(re);
        return;
      }
      throw new Error('did not throw');
    };
    bad(() => s.smaps({ format: 'xml' } as never), /format must be 'text'/);
    bad(() => s.smaps({ formats: 'text' } as never), /unknown option "formats"/);
    bad(() => s.smapsRollup(42 as never), /must be an object/);
    bad(() => s.status({ format: 'TEXT' } as never), /format/);
    bad(() => s.statm({ bogus: 1 } as never), /unknown option/);
    bad(() => s.pagemap(a, -1), /pages must be an integer/);
    bad(() => s.pagemap(a, 1.5), /pages must be an integer/);
    bad(() => s.pagemap(a, 2 ** 24 + 1), /pages must be an integer/);
    bad(() => s.pagemap(2 ** 47 - P, 1), /not inside user space/);
    bad(() => s.pagemap(-1, 1), /not inside user space/);
    bad(() => s.pagemap('0' as never, 1), /addr must be/);
    bad(() => s.pagemap(a, 1, { format: 'bits' } as never), /format must be 'entries'/);
    bad(() => s.pagemap(a, 1, { pfn: 1 } as never), /pfn must be a boolean/);
    bad(() => s.pagemap(a, 1, { frames: true } as never), /unknown option/);
    s.write(a, one);
    const before = s.smaps({ format: 'text' });
    for (const v of [0, 6, -1, 1.5, '4', 4n, undefined]) bad(() => s.clearRefs(v as never), /clearRefs: value must be/);
    expect(s.smaps({ format: 'text' })).toBe(before);
    expect(s.pagemap(a, 0)).toEqual(new BigUint64Array(0));
    s.destroy();
    expect(() => s.smaps()).toThrow(VmmError);
    expect(() => s.clearRefs(4)).toThrow(VmmError);
    m.dispose();
  });
});

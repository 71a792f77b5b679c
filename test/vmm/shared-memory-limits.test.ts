/**
 * The limits Linux puts on shared and accounted memory, checked against this machine's kernel
 * (test/vmm/linux/shm-limits.c, built now): a POSIX shm object may be any size and is sparse,
 * /dev/shm's size bounds the pages present (SIGBUS past it), one request larger than RAM is
 * refused by the overcommit heuristic, and MAP_POPULATE is best effort. Also: a call that
 * fails changes nothing (a 2 MiB split that runs out of memory, a MAP_FIXED that is refused).
 */
import { describe, expect, it } from 'vitest';
import { BusError, Machine, VmmError } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { runLinuxProbe } from '../support/linux-probe.js';
import { exhaustFrames } from '../support/exhaust-frames.js';

const PAGE = 4096;
const HUGE = 2 ** 21;


/** 0, or the errno number of the VmmError `f` throws (12 ENOMEM, 28 ENOSPC), 14 for a BusError (the probe reports SIGBUS as EFAULT). */
const errno = (f: () => unknown): number => {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof BusError) return 14;
    if (e instanceof VmmError) return { ENOMEM: 12, ENOSPC: 28 }[e.code as string] ?? -1;
    throw e;
  }
};

/** Holds every free frame; returns a function that gives them back. */
function exhaust(m: Machine): () => void {
  const held = exhaustFrames(m);
  return () => {
    for (const f of held) m.physical.freeFrame(f);
  };
}

const linux = runLinuxProbe<Record<string, unknown>>('shm-limits');

describe.each(BACKENDS)('shared memory and accounting limits (%s)', (backend) => {
  it.skipIf(!linux)("does what this machine's kernel does", () => {
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace();
    const ram = m.physical.totalFrames;
    const map = (length: number, prot: string, shared: boolean) => errno(() => s.munmap(s.mmap({ length, prot, shared }), length));
    const big = m.createSharedMemory('big', 2 ** 42);
    const one = m.createSharedMemory('one', PAGE);
    const ro = s.mmap({ length: (ram + 1) * PAGE, prot: 'r' });
    const p = s.mmap({ length: 4 * PAGE, prot: 'rw', shared: true, object: one, populate: true });
    const nr = s.mmap({ length: 2 ** 44, prot: 'r', noReserve: true });
    const mine = {
      noReserve2e44: errno(() => s.munmap(s.mmap({ length: 2 ** 44, prot: 'rw', noReserve: true }), 2 ** 44)),
      noReserveMprotect2e44: errno(() => s.mprotect(nr, 2 ** 44, 'rw')),
      ftruncate2e42: 0,
      blocksAfter: big.residentPages,
      sharedAnonRam: map(ram * PAGE, 'rw', true),
      sharedAnonRamPlus1: map((ram + 1) * PAGE, 'rw', true),
      sharedAnonReadOnlyRamPlus1: map((ram + 1) * PAGE, 'r', true),
      privateRwRam: map(ram * PAGE, 'rw', false),
      privateRwRamPlus1: map((ram + 1) * PAGE, 'rw', false),
      privateRoRamPlus1: map((ram + 1) * PAGE, 'r', false),
      mprotectRwRamPlus1: errno(() => s.mprotect(ro, (ram + 1) * PAGE, 'rw')),
      populatePastEnd: 0,
      resident: [0, 1, 2, 3].map((i) => (s.translate(p + i * PAGE) ? 1 : 0)),
      sigbusPastEnd: errno(() => s.write(p + 2 * PAGE, [1])) === 14 ? 1 : 0,
    };
    expect(mine).toEqual(linux);
    m.dispose();
  });

  it('a huge object is sparse: its size costs nothing, unlink frees only what was touched', () => {
    const m = new Machine({ memory: '64GiB', backend });
    const free = m.physical.freeFrames;
    const s = m.createAddressSpace();
    const o = m.createSharedMemory('huge', 2 ** 42);
    expect(o.size).toBe(2 ** 42);
    const a = s.mmap({ length: 2 ** 40, prot: 'rw', shared: true, object: o, offset: 2 ** 41 });
    s.write(a, [1]);
    s.write(a + 2 ** 39, [2]);
    expect(o.residentPages).toBe(2);
    const t = m.createAddressSpace();
    const b = t.mmap({ length: PAGE, prot: 'r', shared: true, object: o, offset: 2 ** 41 + 2 ** 39 });
    expect(t.read(b, 1)[0]).toBe(2); // the same page through another mapping
    o.unlink();
    s.munmap(a, 2 ** 40);
    t.destroy();
    s.destroy();
    expect(m.physical.freeFrames).toBe(free);
    m.dispose();
  });

  it('/dev/shm has a size (options.shmSize, half of RAM by default): a page past it is SIGBUS, freeing makes room', () => {
    expect(new Machine({ memory: '64MiB', backend }).config.shmBytes).toBe(32 * 2 ** 20);
    expect(() => new Machine({ memory: '64MiB', backend, shmSize: 'lots' as never })).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/shmSize/) }));
    const m = new Machine({ memory: '16MiB', backend, shmSize: 16 * PAGE });
    const s = m.createAddressSpace();
    const o = m.createSharedMemory('a', 2 ** 20);
    const a = s.mmap({ length: 2 ** 20, prot: 'rw', shared: true, object: o });
    for (let i = 0; i < 16; i++) s.write(a + i * PAGE, [i]);
    // shmem_fault's ENOSPC is VM_FAULT_SIGBUS: a BusError (BUS_ADRERR).
    expect(() => s.write(a + 16 * PAGE, [1])).toThrow(expect.objectContaining({ name: 'BusError', cause: 'BUS_ADRERR', message: expect.stringMatching(/ENOSPC/) }));
    // Populate is best effort: the mapping stays, nothing more fits.
    const q = m.createSharedMemory('b', 4 * PAGE);
    const b = s.mmap({ length: 4 * PAGE, prot: 'rw', shared: true, object: q, populate: true });
    expect(q.residentPages).toBe(0);
    expect(s.findRegion(b)).toBeDefined();
    // Shared anonymous memory is not on /dev/shm: it is accounted at mmap time instead.
    const c = s.mmap({ length: 4 * PAGE, prot: 'rw', shared: true, populate: true });
    expect(s.translate(c + 3 * PAGE)).toBeDefined();
    o.unlink();
    s.munmap(a, 2 ** 20);
    s.write(b + 3 * PAGE, [7]);
    expect(q.residentPages).toBe(1);
    m.dispose();
  });

  it('with swap, the heuristic compares one request with RAM plus swap (totalram_pages + total_swap_pages)', () => {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: '8MiB' } });
    const s = m.createAddressSpace();
    const total = m.physical.totalFrames + m.reclaimStats().swap!.total;
    const a = s.mmap({ length: (m.physical.totalFrames + 16) * PAGE, prot: 'rw' }); // more than RAM, less than RAM + swap
    expect(s.findRegion(a)).toBeDefined();
    expect(() => s.mmap({ length: (total + 1) * PAGE, prot: 'rw' })).toThrow(expect.objectContaining({ code: 'ENOMEM', message: expect.stringMatching(/RAM and swap/) }));
    m.dispose();
  });

  it('a shared anonymous mapping larger than RAM is ENOMEM, a typed error, and changes nothing', () => {
    const m = new Machine({ memory: '64GiB', backend });
    const s = m.createAddressSpace();
    const before = s.maps();
    expect(() => s.mmap({ shared: true, length: 2 ** 44, prot: 'rw' })).toThrow(expect.objectContaining({ code: 'ENOMEM', message: expect.stringMatching(/overcommit/) }));
    expect(() => s.createRegion({ start: 2 ** 40, length: 2 ** 44, prot: 'rw', kind: 'data' })).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => s.brk(s.brk() + 2 ** 37)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(s.maps()).toBe(before);
    m.dispose();
  });

  it('MAP_POPULATE that runs out of memory keeps the mapping and returns its address (best effort)', () => {
    const m = new Machine({ memory: '4MiB', backend });
    const s = m.createAddressSpace();
    const hold: number[] = [];
    while (m.physical.freeFrames > 40) hold.push(m.physical.allocFrame());
    const a = s.mmap({ length: 64 * PAGE, prot: 'rw', populate: true });
    const r = s.findRegion(a)!;
    expect([r.start, r.end]).toEqual([a, a + 64 * PAGE]);
    const resident = s.stats().residentPages;
    expect(resident).toBeGreaterThan(0);
    expect(resident).toBeLessThan(64);
    expect(s.translate(a)).toBeDefined(); // populated in address order
    expect(s.translate(a + 63 * PAGE)).toBeUndefined();
    for (const f of hold) m.physical.freeFrame(f);
    s.write(a + 63 * PAGE, [1]); // the rest faults in later
    m.dispose();
  });

  it('MAP_FIXED that is refused keeps the old mapping and its data', () => {
    const m = new Machine({ memory: '64MiB', backend, maxMapCount: 3 });
    const s = m.createAddressSpace(); // [stack]
    const a = s.mmap({ length: 4 * PAGE, prot: 'rw' });
    s.mmap({ length: PAGE, prot: 'r' });
    s.write(a + PAGE, [42]);
    const before = s.maps();
    expect(() => s.mmap({ addr: a, length: 2 ** 40, prot: 'rw', fixed: true })).toThrow(expect.objectContaining({ code: 'ENOMEM' })); // overcommit
    s.mmap({ length: PAGE, prot: 'rw' }); // 4 regions: one above the limit
    const full = s.maps();
    expect(() => s.mmap({ addr: a + PAGE, length: PAGE, prot: 'r', fixed: true })).toThrow(expect.objectContaining({ code: 'ENOMEM' })); // max_map_count
    expect(s.maps()).toBe(full);
    expect(s.read(a + PAGE, 1)[0]).toBe(42);
    expect(before).not.toBe(full);
    m.dispose();
  });

  it('ENOMEM while splitting a 2 MiB page in munmap or mprotect changes nothing', () => {
    const m = new Machine({ memory: '8MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ addr: 0x4000_0000, length: HUGE, prot: 'rw', fixed: true, hugePages: true });
    s.write(a + PAGE, [9]);
    expect(s.translate(a)!.pageSize).toBe(HUGE);
    const maps = s.maps();
    const give = exhaust(m);
    expect(() => s.munmap(a + PAGE, PAGE)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => s.mprotect(a + PAGE, PAGE, 'r')).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(s.maps()).toBe(maps);
    expect(s.translate(a + PAGE)).toMatchObject({ pageSize: HUGE, flags: expect.objectContaining({ writable: true }) });
    s.write(a + PAGE, [10]); // still mapped and writable
    expect(s.read(a + PAGE, 1)[0]).toBe(10);
    give();
    s.munmap(a + PAGE, PAGE);
    expect(s.translate(a + PAGE)).toBeUndefined();
    expect(s.read(a, 1)[0]).toBe(0);
    m.dispose();
  });
});

/**
 * The huge zero page's life (issue 24, item 10), as Linux keeps it (mm/huge_memory.c): it is
 * allocated at the first THP read fault, each process that maps it holds it from then until it
 * exits (mm_get_huge_zero_folio sets MMF_HUGE_ZERO_PAGE; __mmput puts it back), a fork child
 * that copies its mapping holds it too, and once no process holds it its 512 frames are freed
 * (Linux's shrinker frees it then, at the next memory pressure; vmsim frees it at once), so the
 * machine's frames return to their starting count.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const HUGE = 2 ** 21;

describe.each(BACKENDS)('the huge zero page (%s)', (backend) => {
  it('is freed when the last process that mapped it exits: frames return to their starting count', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const used0 = m.stats().frames.used;
    const a = m.createAddressSpace({ stack: false });
    const r = a.mmap({ length: 2 * HUGE, prot: 'rw', hugePages: true });
    const base = r + ((HUGE - (r % HUGE)) % HUGE); // the aligned 2 MiB block inside
    expect(a.read(base, 1)[0]).toBe(0);
    expect(a.translate(base)!.pageSize).toBe(HUGE);
    const held = m.vmm.heldFrames().length;
    expect(held).toBe(1 + 512); // the 4 KiB zero page and the huge one
    const child = a.fork(); // copies the mapping: the child holds it too
    a.destroy();
    expect(m.vmm.heldFrames().length).toBe(held);
    expect(child.read(base + 5, 1)[0]).toBe(0);
    auditMachine(m);
    child.destroy();
    expect(m.vmm.heldFrames().length).toBe(1);
    expect(m.stats().frames.used).toBe(used0);
    auditMachine(m);
    // The next THP read fault makes it again.
    const b = m.createAddressSpace({ stack: false });
    const r2 = b.mmap({ length: 2 * HUGE, prot: 'r', hugePages: true });
    const at = r2 + ((HUGE - (r2 % HUGE)) % HUGE);
    expect(b.read(at, 1)[0]).toBe(0);
    expect(m.vmm.heldFrames().length).toBe(1 + 512);
    b.destroy();
    expect(m.stats().frames.used).toBe(used0);
    m.dispose();
  });

  it('a process keeps it until it exits, even after unmapping it (Linux: one reference per mm, not per mapping)', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const used0 = m.stats().frames.used;
    const a = m.createAddressSpace({ stack: false });
    const r = a.mmap({ length: 2 * HUGE, prot: 'r', hugePages: true });
    const at = r + ((HUGE - (r % HUGE)) % HUGE);
    a.read(at, 1);
    a.munmap(r, 2 * HUGE);
    expect(m.vmm.heldFrames().length).toBe(1 + 512);
    auditMachine(m);
    a.destroy();
    expect(m.stats().frames.used).toBe(used0);
    m.dispose();
  });

  it('under reclaim: evicting its mappings and exiting frees it too', () => {
    const m = new Machine({ memory: '64MiB', backend, swap: { size: '4MiB' } });
    const used0 = m.stats().frames.used;
    const a = m.createAddressSpace({ stack: false });
    const r = a.mmap({ length: 2 * HUGE, prot: 'rw', hugePages: true });
    const at = r + ((HUGE - (r % HUGE)) % HUGE);
    a.read(at, 1);
    a.madvise(at, HUGE, 'MADV_PAGEOUT');
    auditMachine(m);
    a.destroy();
    expect(m.stats().frames.used).toBe(used0);
    expect(m.reclaimStats().swap!.used).toBe(0);
    m.dispose();
  });
});

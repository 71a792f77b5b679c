/** Issue 14 items of the MMU/VMM layers, each reproduced first: stale global entries, the stack growth zone, option getters, kernel-half RSS. */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { Machine, SegmentationFault, VmmError } from '../../src/index.js';
import { auditMachine } from '../support/invariants.js';

const PAGE = 4096;

describe.each(BACKENDS)('hardening (%s)', (backend) => {
  it('destroy() drops the global TLB entries of the frames it frees: another space cannot write through them (an OS issues INVLPG for global pages)', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const a = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    a.mapPage(0x1000, pa, { writable: true, user: true, global: true });
    m.physical.freeFrame(pa); // the mapping holds the only reference now
    a.write(0x1000, [1]); // a global, writable, dirty TLB entry
    a.destroy(); // frees the frame
    const b = m.createAddressSpace({ faults: 'raw' });
    const reused = m.physical.allocFrame(); // the lowest free frame: the one just freed
    expect(reused).toBe(pa);
    expect(() => b.write(0x1000, [0xee])).toThrow(expect.objectContaining({ name: 'PageFault' }));
    expect([...m.physical.read(reused, 1)]).toEqual([0]);
    auditMachine(m, [reused / PAGE]);
  });

  it('munmap of more pages than the flush ceiling (a PCID flush, which keeps global entries) drops global entries too', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const v = m.createAddressSpace();
    const base = v.mmap({ length: 40 * PAGE, prot: 'rw' });
    for (let i = 0; i < 40; i++) {
      const pa = m.physical.allocFrame();
      v.mapPage(base + i * PAGE, pa, { writable: true, user: true, global: true });
      m.physical.freeFrame(pa);
      v.write(base + i * PAGE, [1]);
    }
    expect(m.tlb.validEntries()).toBeGreaterThan(33);
    v.munmap(base, 40 * PAGE);
    auditMachine(m); // no TLB entry maps a freed frame
  });

  it('an access in the stack growth zone below a mapping is SIGSEGV SEGV_MAPERR, not EEXIST (Linux: bad_area)', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace();
    const stack = s.regions().find((r) => r.kind === 'stack')!;
    // A mapping just below the stack, then an access below that mapping, still within the stack limit.
    s.mmap({ addr: stack.start - 2 * PAGE, length: PAGE, prot: 'rw', fixed: true });
    let e: unknown;
    try {
      s.write(stack.start - 300 * PAGE, [1]);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(SegmentationFault);
    expect(e).toMatchObject({ cause: 'SEGV_MAPERR' });
    expect(e).not.toBeInstanceOf(VmmError);
  });

  it('option getters run once, before the space is checked alive: a getter that destroys the space gets EINVAL, nothing else is touched', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const keep = m.createAddressSpace();
    const k = keep.mmap({ length: PAGE, prot: 'rw' });
    keep.write(k, [5]);
    const s = m.createAddressSpace();
    const a = s.mmap({ length: PAGE, prot: 'rw' });
    let reads = 0;
    const evil = {
      get user() {
        reads++;
        if (!s.destroyed) s.destroy();
        return true;
      },
    };
    expect(() => s.read(a, 1, evil)).toThrow(/destroyed/);
    expect(reads).toBe(1);
    const t = m.createAddressSpace();
    const b = t.mmap({ length: PAGE, prot: 'rw' });
    expect(() =>
      t.mmap({
        get length() {
          if (!t.destroyed) t.destroy();
          return PAGE;
        },
        prot: 'rw',
      }),
    ).toThrow(/destroyed/);
    void b;
    expect([...keep.read(k, 1)]).toEqual([5]);
    auditMachine(m);
  });

  it('residentPages counts the user half only: a kernel-half page one space maps and another unmaps moves neither', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const a = m.createAddressSpace();
    const b = m.createAddressSpace();
    const kva = -(2 ** 47) + 0x20_0000;
    a.mapPage(kva, m.physical.allocFrame(), { writable: true });
    b.unmapPage(kva);
    expect(a.stats().residentPages).toBe(0);
    expect(b.stats().residentPages).toBe(0);
  });
});

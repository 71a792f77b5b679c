/**
 * Plug-ins and callbacks that misbehave in the middle of an operation (issue 24, items 4-7):
 * a ReclaimPolicy whose remove() or insert() throws, one that frees memory or unmaps pages from
 * inside its own callbacks, a refused fork, and onOomKill callbacks that allocate, throw or
 * destroy the faulting process. The VMM is never left half-changed: each operation completes
 * (and then reports the plug-in's error) or changes nothing; only VmmError and
 * SegmentationFault come out of a VMM space; nothing leaks (the auditor after every step).
 */
import { describe, expect, it } from 'vitest';
import { AddressSpace, Machine, PageFault, SegmentationFault, VmmError, type OomKill, type ReclaimPolicy } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { thrown } from '../support/thrown.js';

const PG = 4096;

/** A FIFO plug-in whose methods can be made hostile. */
interface Hostile extends ReclaimPolicy {
  keys: number[];
  onInsert?: (key: number) => void;
  onRemove?: (key: number) => void;
  onSelect?: () => number | undefined;
}

function hostile(): Hostile {
  const p: Hostile = {
    name: 'hostile',
    kind: 'ad-bits',
    keys: [],
    get size() {
      return p.keys.length;
    },
    insert(k) {
      p.onInsert?.(k);
      p.keys.push(k);
    },
    remove(k) {
      const i = p.keys.indexOf(k);
      if (i >= 0) p.keys.splice(i, 1);
      p.onRemove?.(k); // after its own bookkeeping: what it throws is all that is wrong
    },
    select(count, _bits, out) {
      const forced = p.onSelect?.();
      if (forced !== undefined) return forced;
      const n = Math.min(count, p.keys.length);
      for (let i = 0; i < n; i++) out[i] = p.keys.shift()!;
      return n;
    },
  };
  return p;
}


/** A VmmError with this errno, never a raw PageFault or a plain Error. */
function vmmError(e: unknown, code: string): VmmError {
  expect(e).not.toBeInstanceOf(PageFault);
  expect(e).toBeInstanceOf(VmmError);
  expect((e as VmmError).code).toBe(code);
  return e as VmmError;
}

/** A machine with swap and a process under a limit of 4 pages with the plug-in; 8 pages written (4 in swap). */
function rig(backend: 'js' | 'native') {
  const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
  const used0 = m.stats().frames.used;
  const p = hostile();
  const s = m.createAddressSpace({ residentLimit: 4, policy: p });
  const b = s.mmap({ length: 8 * PG, prot: 'rw' });
  for (let i = 0; i < 8; i++) s.write(b + i * PG, [i + 1]);
  expect(m.reclaimStats().swap!.used).toBe(4);
  return { m, p, s, b, used0 };
}

describe.each(BACKENDS)('a policy that throws in the middle of an operation (%s)', (backend) => {
  it('remove() throws in munmap: the munmap completes, then reports the plug-in error as its cause', () => {
    const { m, p, s, b, used0 } = rig(backend);
    const boom = new Error('remove exploded');
    p.onRemove = () => {
      throw boom;
    };
    const e = vmmError(thrown(() => s.munmap(b, 8 * PG)), 'EINVAL');
    expect(e.message).toMatch(/hostile.*remove\(\).*munmap/);
    expect(e.cause).toBe(boom);
    expect(s.findRegion(b)).toBeUndefined();
    expect(thrown(() => s.read(b + 7 * PG, 1))).toBeInstanceOf(SegmentationFault);
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    // A new mapping at the same address reads zeros, not the old bytes.
    p.onRemove = undefined;
    s.mmap({ addr: b, length: 8 * PG, prot: 'rw', fixed: true });
    for (let i = 0; i < 8; i++) expect(s.read(b + i * PG, 1)[0]).toBe(0);
    auditMachine(m);
    s.destroy();
    expect(m.stats().frames.used).toBe(used0);
    m.dispose();
  });

  it('remove() throws in MADV_DONTNEED: the pages are zapped (the advice completes), then the error is reported', () => {
    const { m, p, s, b } = rig(backend);
    p.onRemove = () => {
      throw new Error('no');
    };
    vmmError(thrown(() => s.madvise(b, 8 * PG, 'MADV_DONTNEED')), 'EINVAL');
    p.onRemove = undefined;
    for (let i = 0; i < 8; i++) expect(s.read(b + i * PG, 1)[0]).toBe(0);
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('remove() throws: destroy() always completes, once, and frees every frame and slot', () => {
    const { m, p, s, used0 } = rig(backend);
    p.onRemove = () => {
      throw new Error('no');
    };
    s.destroy();
    expect(s.destroyed).toBe(true);
    expect(vmmError(thrown(() => s.destroy()), 'EINVAL').message).toMatch(/destroyed/);
    expect(m.stats().frames.used).toBe(used0);
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('insert() throws at a fault: the page is mapped and tracked, the access reports the error and wrote nothing', () => {
    const { m, p, s, b } = rig(backend);
    const boom = new Error('insert exploded');
    p.onInsert = () => {
      throw boom;
    };
    const e = vmmError(thrown(() => s.write(b, [0xaa])), 'EINVAL');
    expect(e.cause).toBe(boom);
    auditMachine(m);
    p.onInsert = undefined;
    expect(s.read(b, 1)[0]).toBe(1); // the page came back from swap; the failed write left it as it was
    auditMachine(m);
    m.dispose();
  });

  it('a refused fork (an object policy serves one process) allocates nothing', () => {
    const { m, s } = rig(backend);
    const used = m.stats().frames.used;
    for (let i = 0; i < 5; i++) expect(vmmError(thrown(() => s.fork()), 'EINVAL').message).toMatch(/serves its process already/);
    expect(m.stats().frames.used).toBe(used);
    expect(m.stats().addressSpaces).toBe(1);
    auditMachine(m);
    m.dispose();
  });
});

describe.each(BACKENDS)('a policy that re-enters the VMM from its callbacks (%s)', (backend) => {
  it('select() that frees memory with madvise (and returns no victim) is refused: EBUSY, the process is not OOM-killed', () => {
    const { m, p, s, b } = rig(backend);
    let inner: unknown;
    p.onSelect = () => {
      try {
        s.madvise(b, 8 * PG, 'MADV_DONTNEED');
      } catch (e) {
        inner = e;
      }
      return 0;
    };
    const e = vmmError(thrown(() => s.write(b, [9])), 'EINVAL'); // page 0 is in swap: room is needed, and the guard refuses 0 victims while pages are tracked
    expect(e.message).toMatch(/hostile/);
    expect(vmmError(inner, 'EBUSY').message).toMatch(/madvise.*policy/);
    expect(s.destroyed).toBe(false);
    expect(m.oomKills()).toEqual([]);
    auditMachine(m);
    p.onSelect = undefined;
    for (let i = 0; i < 8; i++) expect(s.read(b + i * PG, 1)[0]).toBe(i + 1);
    auditMachine(m);
    m.dispose();
  });

  it('select() whose madvise error escapes: the fault reports it as the cause, nothing changed', () => {
    const { m, p, s, b } = rig(backend);
    p.onSelect = () => {
      s.madvise(b, 8 * PG, 'MADV_DONTNEED');
      return 0;
    };
    const e = vmmError(thrown(() => s.write(b, [9])), 'EINVAL');
    vmmError(e.cause, 'EBUSY');
    expect(s.destroyed).toBe(false);
    auditMachine(m);
    m.dispose();
  });

  it('insert() that munmaps the page being faulted in: refused (EBUSY), the access fails with a VmmError, never a PageFault', () => {
    const { m, p, s, b } = rig(backend);
    p.onInsert = (k) => {
      if (k * PG === b + 2 * PG) s.munmap(b + 2 * PG, PG);
    };
    const e = vmmError(thrown(() => s.write(b + 2 * PG, [0x55])), 'EINVAL');
    vmmError(e.cause, 'EBUSY');
    expect(s.findRegion(b + 2 * PG)).toBeDefined();
    auditMachine(m);
    p.onInsert = undefined;
    expect(s.read(b + 2 * PG, 1)[0]).toBe(3);
    auditMachine(m);
    m.dispose();
  });

  it('a fault and a destroy from inside select() are refused too; the policy can still read what is resident', () => {
    const { m, p, s, b } = rig(backend);
    const seen: unknown[] = [];
    p.onSelect = () => {
      for (const f of [() => s.read(b + 7 * PG, 1), () => s.destroy(), () => s.mmap({ length: PG, prot: 'rw' })]) {
        try {
          f();
          seen.push('ok');
        } catch (e) {
          seen.push((e as VmmError).code);
        }
      }
      return undefined;
    };
    s.write(b, [7]); // a fault under the limit: select runs
    expect(seen.slice(0, 3)).toEqual(['ok', 'EBUSY', 'EBUSY']); // page 7 is resident: a hit needs no VMM
    expect(s.read(b, 1)[0]).toBe(7);
    auditMachine(m);
    m.dispose();
  });
});

describe.each(BACKENDS)('onOomKill callbacks that misbehave (%s)', (backend) => {
  /** 8 MiB with little swap: a big mlocked process, then `s` faults until the OOM killer runs. */
  function oomRig(onOomKill: (k: OomKill) => void) {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 33 * PG }, onOomKill });
    const big = m.createAddressSpace();
    const a = big.mmap({ length: 1400 * PG, prot: 'rw' });
    big.mlock(a, 1400 * PG);
    const other = m.createAddressSpace();
    const ob = other.mmap({ length: 600 * PG, prot: 'rw' });
    const s = m.createAddressSpace();
    const b = s.mmap({ length: 1200 * PG, prot: 'rw', noReserve: true });
    return { m, big, other, ob, s, b };
  }

  /** Writes page after page of `s` until one fails or all went; returns the error. */
  function fill(s: AddressSpace, b: number, pages: number): unknown {
    for (let i = 0; i < pages; i++) {
      try {
        s.write(b + i * PG, [i & 0xff]);
      } catch (e) {
        return e;
      }
    }
    return undefined;
  }

  it('a callback that allocates memory (writes another process): no raw PageFault, every access succeeds or is a VmmError', () => {
    let r: ReturnType<typeof oomRig>;
    let ran = 0;
    r = oomRig(() => {
      ran++;
      try {
        for (let i = 0; i < 300; i++) r.other.write(r.ob + i * PG, [1]);
      } catch (e) {
        expect(e).toBeInstanceOf(VmmError);
      }
    });
    const e = fill(r.s, r.b, 1200);
    if (e !== undefined) vmmError(e, (e as VmmError).code);
    expect(ran).toBeGreaterThan(0);
    auditMachine(r.m);
    r.m.dispose();
  });

  it('a callback that writes the very page being faulted in: the fault sees it mapped and the access completes', () => {
    let r: ReturnType<typeof oomRig>;
    let at = -1;
    const wrote: number[] = [];
    r = oomRig(() => {
      if (at < 0 || r.s.destroyed) return;
      r.s.write(at, [0xcc]);
      wrote.push(at);
    });
    let failed: unknown;
    for (let i = 0; i < 1200 && failed === undefined; i++) {
      at = r.b + i * PG + 8;
      try {
        r.s.write(r.b + i * PG, [i & 0xff]);
      } catch (e) {
        failed = e;
      }
    }
    expect(failed).toBeUndefined(); // the kill made room for all of it
    expect(wrote.length).toBeGreaterThan(0);
    // The callback's byte survived: the fault did not map the page a second time over it.
    for (const va of wrote) expect(r.s.read(va, 1)[0]).toBe(0xcc);
    auditMachine(r.m);
    r.m.dispose();
  });

  it('a callback that throws: a VmmError with the callback error as cause; the kill stands, nothing leaks', () => {
    const boom = new Error('callback exploded');
    const r = oomRig(() => {
      throw boom;
    });
    const e = vmmError(fill(r.s, r.b, 1200), 'EINVAL');
    expect(e.message).toMatch(/onOomKill/);
    expect(e.cause).toBe(boom);
    expect(r.big.destroyed).toBe(true);
    auditMachine(r.m);
    // The process goes on: its next access finds the room the kill made.
    expect(() => r.s.write(r.b + 1199 * PG, [1])).not.toThrow();
    auditMachine(r.m);
    r.m.dispose();
  });

  it('a callback that destroys the faulting process: its access fails with the "destroyed" error', () => {
    let r: ReturnType<typeof oomRig>;
    r = oomRig(() => {
      if (!r.s.destroyed) r.s.destroy();
    });
    const e = vmmError(fill(r.s, r.b, 1200), 'EINVAL');
    expect(e.message).toMatch(/address space has been destroyed/);
    expect(r.s.destroyed).toBe(true);
    auditMachine(r.m);
    r.m.dispose();
  });
});

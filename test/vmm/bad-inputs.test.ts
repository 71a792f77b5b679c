/** Every VMM-level public call refuses bad input with a VmmError naming the argument, and changes nothing. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { exhaustFrames } from '../support/exhaust-frames.js';

const err = (code: string, re: RegExp) => expect.objectContaining({ code, message: expect.stringMatching(re) });

describe.each(BACKENDS)('VMM bad inputs (%s)', (backend) => {
  it('createAddressSpace options', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const used = m.physical.usedFrames;
    expect(() => m.createAddressSpace({ faults: 'soft' as never })).toThrow(err('EINVAL', /options.faults/));
    expect(() => m.createAddressSpace({ stack: 'yes' as never })).toThrow(err('EINVAL', /options.stack/));
    expect(() => m.createAddressSpace({ stackLimit: 4096 })).toThrow(err('EINVAL', /options.stackLimit/));
    expect(() => m.createAddressSpace(null as never)).toThrow(err('EINVAL', /options must be an object/));
    expect(m.physical.usedFrames).toBe(used);
    expect(m.stats().addressSpaces).toBe(0);
  });

  it('shared memory', () => {
    const m = new Machine({ memory: '16MiB', backend });
    expect(() => m.createSharedMemory('', 4096)).toThrow(err('EINVAL', /name/));
    expect(() => m.createSharedMemory('a/b', 4096)).toThrow(err('EINVAL', /name/));
    expect(() => m.createSharedMemory('x', 0)).toThrow(err('EINVAL', /size/));
    expect(() => m.createSharedMemory('x', 1.5)).toThrow(err('EINVAL', /size/));
    expect(() => m.createSharedMemory('x', 2 ** 60)).toThrow(err('EINVAL', /size/)); // not a safe integer
    m.createSharedMemory('huge', 2 ** 50).unlink(); // as ftruncate on tmpfs: sparse, any size (see shared-memory-limits.test.ts)
    const o = m.createSharedMemory('x', 100);
    expect(o.size).toBe(4096);
    expect(m.openSharedMemory('x')).toBe(o);
    o.unlink();
    expect(m.openSharedMemory('x')).toBeUndefined();
    expect(() => o.unlink()).toThrow(err('ENOENT', /already unlinked/));
    const s = m.createAddressSpace();
    expect(() => s.mmap({ length: 4096, prot: 'r', shared: true, object: o })).toThrow(err('EINVAL', /object/)); // released: no mapping kept it
    const p = m.createSharedMemory('y', 4096);
    expect(() => s.mmap({ length: 4096, prot: 'r', shared: true, object: p, offset: 100 })).toThrow(err('EINVAL', /offset/));
    s.munmap(s.mmap({ length: 8192, prot: 'r', shared: true, object: p }), 8192); // past the end is allowed, as Linux (SIGBUS on access)
    expect(() => s.mmap({ length: 4096, prot: 'r', offset: 0 })).toThrow(err('EINVAL', /offset is only meaningful/));
  });

  it('mmap option types, brk/sbrk, findRegion, fork and TLB calls', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace();
    const maps = s.maps();
    expect(() => s.mmap(null as never)).toThrow(err('EINVAL', /options must be an object/));
    expect(() => s.mmap({ length: '4096' as never, prot: 'r' })).toThrow(err('EINVAL', /length must be an integer/));
    expect(() => s.mmap({ length: 4096, prot: 5 as never })).toThrow(err('EINVAL', /prot must be a string/));
    expect(() => s.mmap({ length: 4096, prot: 'rr' })).toThrow(err('EINVAL', /prot/));
    expect(() => s.mmap({ length: 4096, prot: 'r', shared: 1 as never })).toThrow(err('EINVAL', /shared must be a boolean/));
    expect(() => s.mmap({ length: 4096, prot: 'r', fixed: true })).toThrow(err('EINVAL', /needs addr/));
    expect(() => s.mmap({ length: 4096, prot: 'r', name: 'a\nb' })).toThrow(err('EINVAL', /name/));
    expect(() => s.mmap({ length: 4096, prot: 'r', kind: 'gpu' as never })).toThrow(err('EINVAL', /kind/));
    expect(() => s.brk(1.5)).toThrow(err('EINVAL', /addr must be an integer/));
    expect(() => s.sbrk('1' as never)).toThrow(err('EINVAL', /increment/));
    expect(() => s.sbrk(-4096)).toThrow(err('ENOMEM', /below the start of the heap/));
    expect(() => s.findRegion('x' as never)).toThrow(err('EINVAL', /addr must be an integer/));
    expect(() => s.mprotect(0x10000, 4096, 'q')).toThrow(err('EINVAL', /prot/));
    expect(() => m.tlb.invlpg(2 ** 47)).toThrow(err('EINVAL', /canonical/));
    expect(s.maps()).toBe(maps);
    s.destroy();
    expect(() => s.fork()).toThrow(err('EINVAL', /destroyed/));
    expect(() => s.mmap({ length: 4096, prot: 'r' })).toThrow(err('EINVAL', /destroyed/));
    expect(() => s.stats()).toThrow(err('EINVAL', /destroyed/));
    m.dispose();
    expect(() => m.createAddressSpace()).toThrow(err('EINVAL', /disposed/));
  });

  it('a fork that runs out of memory frees the child and leaves the parent working', () => {
    const m = new Machine({ memory: '2MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 64 * 4096, prot: 'rw', populate: true });
    // Fill the rest of memory so the child cannot get its page tables.
    const held = exhaustFrames(m);
    // Two frames left: the child's top-level table and one more table fit, the rest does not.
    m.physical.freeFrame(held.pop()!);
    m.physical.freeFrame(held.pop()!);
    const spaces = m.stats().addressSpaces;
    const free = m.physical.freeFrames;
    expect(() => s.fork()).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(m.stats().addressSpaces).toBe(spaces);
    expect(m.physical.freeFrames).toBe(free);
    for (const f of held) m.physical.freeFrame(f);
    s.write(a, [5]); // the page is COW now but has one owner: reused in place
    expect([...s.read(a, 1)]).toEqual([5]);
  });
});

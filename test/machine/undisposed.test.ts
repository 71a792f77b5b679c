/**
 * Machines nobody disposed (issue 24, item 9): the garbage collector frees them — their
 * reservation of simulated RAM, the memory they committed, their swap file — even in a loop
 * that never yields to the event loop, and `using m = new Machine()` disposes at the block's
 * end. (scripts/undisposed-machines.mjs runs 100,000 of them; this is the short run.)
 */
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, VmmError } from '../../src/index.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { BACKENDS } from '../backends.js';
import { tempDir } from '../support/temp-dir.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 2 ** 20;

describe('undisposed machines', () => {
  it.skipIf(!nativeAvailable())('2,200 machines of 64 GiB made in a loop that never yields, none disposed: no ENOMEM, memory bounded', () => {
    // 2,200 x 64 GiB is more address space than x86-64 user space has (128 TiB): only freeing collected machines lets this run.
    const rss0 = process.memoryUsage().rss;
    let peak = 0;
    for (let i = 0; i < 2200; i++) {
      const m = new Machine({ memory: '64GiB', backend: 'native' });
      m.createAddressSpace().mmap({ length: 4096, prot: 'rw' });
      if (i % 250 === 0) peak = Math.max(peak, process.memoryUsage().rss - rss0);
    }
    peak = Math.max(peak, process.memoryUsage().rss - rss0);
    expect(peak).toBeLessThan(400 * MiB);
  });

  it.each(BACKENDS)('a collected machine gives its swap file back (descriptor and lock) once the event loop turns (%s)', async (backend) => {
    const file = join(tempDir('undisposed'), 'swap');
    const fds = () => readdirSync('/proc/self/fd').length;
    // Machines of earlier tests close their descriptors (a native machine's RAM is a memfd) as they are collected: settle first.
    for (let i = 0, last = -1; i < 50 && fds() !== last; i++) {
      last = fds();
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const before = fds();
    (() => {
      const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } });
      const s = m.createAddressSpace();
      s.write(s.mmap({ length: 4096, prot: 'rw' }), [1]);
    })();
    // Its swap file, and a native machine's RAM (a memfd, so that snapshots can freeze it).
    expect(fds()).toBe(before + (backend === 'native' ? 2 : 1));
    for (let i = 0; i < 10 && fds() > before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fds()).toBe(before);
    new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } }).dispose(); // not EBUSY
  });

  it.each(BACKENDS)('`using` disposes the machine at the end of its block (%s)', (backend) => {
    let kept: Machine | undefined;
    {
      using m = new Machine({ memory: '16MiB', backend });
      m.createAddressSpace();
      kept = m;
      expect(m.stats().addressSpaces).toBe(1);
    }
    let e: unknown;
    try {
      kept.stats();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).message).toMatch(/disposed/);
    expect(typeof Machine.prototype[Symbol.dispose]).toBe('function');
  });
});

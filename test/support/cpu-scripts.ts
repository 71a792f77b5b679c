/** Random scripts for the CPU view's engine (web/src/engine/cpu-lab.ts), shared by its Node and browser tests. */
import fc from 'fast-check';

/** A random script: two processes, four threads, four CPUs; the threads move, idle, touch memory; the processes unmap, protect, advise, fork. */
export const cpuScriptArb = fc
  .array(
    fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('p1', 'p2', 't1', 't2', 't3', 't4')).map(([c, t]) => `run ${c} ${t}`),
      fc.integer({ min: 0, max: 3 }).map((c) => `idle ${c}`),
      fc.tuple(fc.constantFrom('write', 'read'), fc.constantFrom('p1', 'p2', 't1', 't2', 't3', 't4'), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1, max: 24 })).map(([op, t, pg, n]) => `${op} ${t} ${0x100000 + pg * 4096} ${n * 4096}`),
      fc.tuple(fc.constantFrom('munmap', 'madvise'), fc.constantFrom('p1', 'p2'), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1, max: 48 })).map(([op, p, pg, n]) => `${op} ${p} ${0x100000 + pg * 4096} ${n * 4096}${op === 'madvise' ? ' dontneed' : ''}`),
      fc.tuple(fc.constantFrom('p1', 'p2'), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom('r', 'rw', 'none')).map(([p, pg, n, pr]) => `mprotect ${p} ${0x100000 + pg * 4096} ${n * 4096} ${pr}`),
      fc.constantFrom('exit t1', 'exit t3', 'p3 = fork p1', 'run 1 p3', 'exit p3'),
    ),
    { maxLength: 25 },
  )
  .map((ops) => ['machine cpus=4 memory=16M', 'p1 = spawn', 'mmap p1 0x100000 256K rw', 'p2 = spawn', 'mmap p2 0x100000 256K rw', 't1 = thread p1', 't2 = thread p1', 't3 = thread p1', 't4 = thread p2', ...ops].join('\n'));

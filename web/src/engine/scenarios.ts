/** The page's ready-made scenarios (shared by the views and the tests). */

/** The textbook's reference string (Silberschatz, Galvin and Gagne). */
export const TEXTBOOK_REFS = '7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1';

/** Scenarios to start from. */
export const SCENARIOS: Record<'processes' | 'pressure', { name: string; script: string }[]> = {
  processes: [
    { name: 'fork and copy-on-write', script: 'p1 = spawn\nmmap p1 0x10000 16K rw\nwrite p1 0x10000 16K\np2 = fork p1\nwrite p2 0x11000\nwrite p1 0x12000\nexit p2\nwrite p1 0x13000' },
    { name: 'mmap, mprotect, munmap', script: 'p1 = spawn\nmmap p1 0x400000 32K rw name=heap\nwrite p1 0x400000 8K\nmprotect p1 0x402000 8K r\nread p1 0x403000\nmunmap p1 0x404000 16K\nwrite p1 0x402000' },
    { name: 'shared memory', script: 'p1 = spawn\nmmap p1 0x20000 8K rw shared\nwrite p1 0x20000 8K\np2 = fork p1\nwrite p2 0x20000\nread p1 0x21000' },
  ],
  pressure: [
    { name: 'resident limit and swap', script: 'machine memory=8M swap=256K\np1 = spawn limit=6 policy=clock\nmmap p1 0x100000 64K rw\nwrite p1 0x100000 40K\nread p1 0x100000 16K\nwrite p1 0x108000 8K' },
    { name: 'zswap in front of swap', script: 'machine memory=8M swap=256K zswap\np1 = spawn limit=6 policy=clock\nmmap p1 0x100000 64K rw\nwrite p1 0x100000 40K\nread p1 0x100000 16K' },
    { name: 'the OOM killer', script: 'machine memory=4M swap=64K\np1 = spawn\np2 = spawn adj=500\nmmap p1 0x100000 3M rw\nmmap p2 0x100000 1M rw\nwrite p2 0x100000 1M\nwrite p1 0x100000 3M\nread p2 0x100000' },
  ],
};


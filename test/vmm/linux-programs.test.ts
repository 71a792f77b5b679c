/**
 * The process's memory calls against this machine's kernel, step for step: every program runs
 * in a process of its own on the kernel (test/vmm/linux/vmprog.c, built now) and in vmsim on
 * both backends, and each step must give the same errno, value, minor and major faults, VmRSS
 * and VmLck change, and window regions with their VmFlags (smaps' mnemonics vmsim models).
 * Named cases state the Linux rule they follow (and where the kernel surprised us); seeded
 * random programs then mix every call. Skipped only where no C compiler exists.
 */
import { describe, expect, it } from 'vitest';
import { randomProgram, runOnKernel, runOnVmsim, type Step, type StepResult } from '../support/vm-program.js';
import { BACKENDS } from '../backends.js';

/** Named programs, each with the rule it shows (flags: 1 shared, 2 populate, 4 locked, 8 growsdown, 16 noreserve, 32 noreplace; prot bits r1 w2 x4). */
const CASES: Record<string, { rule: string; steps: Step[] }> = {
  populateFaults: {
    rule: 'MAP_POPULATE faults each page in through GUP, which counts them in min_flt; read-only private memory gets the zero page, which VmRSS leaves out, and later reads fault no more',
    steps: [['mmap', 0, 4, 3, 2], ['mmap', 8, 4, 1, 2], ['r', 9], ['w', 1, 5]],
  },
  mlockSplits: {
    rule: 'mlock sets VM_LOCKED on the range only: the region splits at its edges; the pages are faulted in (write faults for private writable memory); VmLck counts the locked pages',
    steps: [['mmap', 0, 8, 3, 0], ['mlock', 2, 3, 0], ['munlock', 3, 1]],
  },
  mlockProtNone: {
    rule: 'mlock over a PROT_NONE region locks (and splits) it, then the fault-in fails: ENOMEM (GUP EFAULT, __mlock_posix_error_return), the pages after it not populated',
    steps: [['mmap', 0, 8, 3, 0], ['mprotect', 3, 1, 0], ['mlock', 2, 4, 0]],
  },
  dontneedLocked: {
    rule: 'MADV_DONTNEED on locked memory is EINVAL; MADV_DONTNEED_LOCKED zaps it, the region stays locked',
    steps: [['mmap', 0, 4, 3, 0], ['mlock', 0, 2, 0], ['madvise', 0, 2, 4], ['madvise', 0, 2, 24], ['r', 0]],
  },
  mlockOnFault: {
    rule: 'mlock2(MLOCK_ONFAULT) and mlockall(MCL_FUTURE|MCL_ONFAULT) lock without faulting in; a MAP_LOCKED mapping after mlockall(MCL_FUTURE) is populated',
    steps: [['mmap', 0, 4, 3, 0], ['mlock2', 0, 4, 1], ['mlockall', 6], ['mmap', 8, 2, 3, 0], ['mlockall', 2], ['mmap', 12, 2, 3, 0], ['munlockall']],
  },
  memlockLimit: {
    rule: 'RLIMIT_MEMLOCK bounds locked_vm: mlock beyond it is ENOMEM, MAP_LOCKED EAGAIN; pages already locked in the range are not counted twice; a limit of 0 makes mlock EPERM',
    steps: [['memlock', 2], ['mmap', 0, 4, 3, 0], ['mlock', 0, 2, 0], ['mlock', 0, 3, 0], ['mlock', 0, 2, 0], ['mmap', 8, 1, 3, 4], ['memlock', 0], ['mlock', 0, 1, 0]],
  },
  forkShared: {
    rule: 'fork copies no entries of shared mappings, nor of private ones with no anonymous page (no anon_vma: only zero pages); the child faults them in, a shared read with fault-around (here: the present page next to it)',
    steps: [['mmap', 0, 4, 3, 1], ['w', 0, 7], ['mmap', 4, 2, 3, 0], ['w', 4, 1], ['mmap', 8, 2, 1, 0], ['r', 8], ['fork', 1, 0, 0], ['fork', 8, 0, 0], ['fork', 4, 1, 9]],
  },
  mremapMoves: {
    rule: 'mremap moves page-table entries: contents stay, the resident count does not change; growing in place merges with the next region; a move that cannot grow in place without MREMAP_MAYMOVE is ENOMEM',
    steps: [['mmap', 0, 2, 3, 0], ['w', 0, 3], ['mremap', 0, 2, 4, 0, 0], ['mmap', 4, 1, 1, 0], ['mremap', 0, 4, 6, 0, 0], ['mremap', 0, 4, 6, 3, 10], ['r', 10]],
  },
  mremapOrder: {
    rule: 'MREMAP_FIXED: overlap is EINVAL before the old address is looked up; a shrink whose new length runs past the region is EFAULT before anything is unmapped (the kernel checks before it unmaps the target)',
    steps: [['mmap', 0, 1, 3, 0], ['mmap', 12, 2, 3, 0], ['mremap', 2, 1, 4, 3, 1], ['mremap', 0, 4, 2, 3, 12]],
  },
  mremapMulti: {
    rule: 'surprise (Linux 6.17+): MREMAP_FIXED without resizing moves every region of the old range, holes and all, each to the same offset; only where a piece lands is unmapped',
    steps: [['mmap', 0, 2, 3, 0], ['mmap', 3, 1, 1, 0], ['w', 0, 9], ['mmap', 11, 1, 3, 0], ['mremap', 0, 4, 4, 3, 10], ['r', 10]],
  },
  mremapDontunmap: {
    rule: 'MREMAP_DONTUNMAP leaves the old range mapped and empty; the old region loses VM_LOCKED but locked_vm keeps counting it (VmLck grows by the new pages)',
    steps: [['mmap', 0, 4, 3, 4], ['mremap', 1, 2, 2, 5, 10], ['r', 1], ['r', 10]],
  },
  mremapPgoff: {
    rule: 'a region moved after anonymous pages were made keeps its old offset (vm_pgoff) and does not merge with a neighbour at the new place; one never written takes the new address as offset and merges',
    steps: [['mmap', 0, 2, 3, 0], ['w', 0, 1], ['mmap', 8, 2, 3, 0], ['mremap', 0, 2, 2, 3, 6], ['mmap', 16, 2, 3, 0], ['mmap', 22, 2, 3, 0], ['mremap', 16, 2, 2, 3, 20]],
  },
  anonVmaMerge: {
    rule: 'two regions that each made anonymous pages (two anon_vmas) do not merge when the hole between them is filled; the new region joins one of them',
    steps: [['mmap', 0, 2, 3, 0], ['w', 0, 1], ['mmap', 4, 2, 3, 0], ['w', 4, 1], ['mmap', 2, 2, 3, 0]],
  },
  mprotectAccount: {
    rule: 'surprise: mprotect making unwritten private anonymous memory read-only uncharges it (VM_ACCOUNT goes, no anon_vma yet); written memory keeps the charge',
    steps: [['mmap', 0, 4, 3, 0], ['mprotect', 0, 2, 1], ['w', 2, 1], ['mprotect', 2, 2, 1], ['mprotect', 0, 4, 3]],
  },
  mprotectLockedWritable: {
    rule: 'a private locked region made writable is faulted in for writing right away (mprotect_fixup breaks COW)',
    steps: [['mmap', 0, 4, 1, 4], ['mprotect', 0, 4, 3]],
  },
  madviseFlags: {
    rule: 'madvise flag advice splits at the range edges and merges back: DONTFORK dc, WIPEONFORK wf (EINVAL on shared memory), HUGEPAGE hg / NOHUGEPAGE nh, SEQUENTIAL sr / RANDOM rr / NORMAL, DONTDUMP dd; a hole is ENOMEM after the rest was advised',
    steps: [['mmap', 0, 6, 3, 0], ['madvise', 1, 2, 10], ['madvise', 1, 2, 11], ['madvise', 2, 2, 18], ['madvise', 0, 6, 14], ['madvise', 3, 1, 2], ['madvise', 0, 8, 1], ['mmap', 10, 2, 3, 1], ['madvise', 10, 2, 18], ['madvise', 0, 6, 0]],
  },
  madviseFreeAndRemove: {
    rule: 'MADV_FREE keeps the page until reclaim (no swap here: it stays, still readable); MADV_REMOVE punches a hole in shared memory (EINVAL on private anonymous memory)',
    steps: [['mmap', 0, 2, 3, 0], ['w', 0, 5], ['madvise', 0, 2, 8], ['r', 0], ['madvise', 0, 1, 9], ['mmap', 4, 2, 3, 1], ['w', 4, 6], ['madvise', 4, 1, 9], ['r', 4]],
  },
  populateAdvice: {
    rule: 'MADV_POPULATE_READ maps the zero page, MADV_POPULATE_WRITE breaks it; on memory the access may not make it is EINVAL, at a hole ENOMEM',
    steps: [['mmap', 0, 4, 3, 0], ['madvise', 0, 2, 22], ['madvise', 0, 4, 23], ['mmap', 8, 2, 1, 0], ['madvise', 8, 2, 23], ['madvise', 8, 4, 22]],
  },
  shmemPageoutNoSwap: {
    rule: 'surprise: MADV_PAGEOUT of shared memory with no swap unmaps the pages only this process maps; a page never written is dropped from the object, a written one stays',
    steps: [['mmap', 0, 4, 3, 1], ['w', 0, 1], ['r', 1], ['madvise', 0, 4, 21], ['mincore', 0, 4], ['r', 0]],
  },
  growsdown: {
    rule: 'MAP_GROWSDOWN grows down on a fault below it, keeping stack_guard_gap from an accessible region below (a PROT_NONE one does not count); the grown region does not merge with the one below; unwritten it takes an anon_vma as it grows',
    steps: [['mmap', 8, 2, 3, 8], ['r', 6], ['mmap', 0, 1, 0, 0], ['r', 1], ['mmap', 20, 2, 3, 8], ['mmap', 16, 1, 3, 0], ['r', 18]],
  },
  mincore: {
    rule: 'mincore: 1 for a page mapped here, or not mapped here but in the shared memory object; a hole is ENOMEM',
    steps: [['mmap', 0, 4, 3, 0], ['w', 1, 1], ['r', 2], ['mincore', 0, 4], ['mmap', 4, 4, 3, 1], ['w', 5, 1], ['fork', 6, 0, 0], ['mincore', 4, 4], ['mincore', 0, 9]],
  },
};

/** The same with THP as the machine has it (madvise mode: huge pages for MADV_HUGEPAGE regions and MADV_COLLAPSE only). */
const THP_CASES: Record<string, { rule: string; steps: Step[] }> = {
  hugeFaults: {
    rule: 'in a MADV_HUGEPAGE region a write fault maps a 2 MiB page (one fault, 512 pages resident), a read fault the huge zero page (not resident), a write to it a fresh 2 MiB page',
    steps: [['mmap', 0, 1024, 3, 0], ['madvise', 0, 1024, 14], ['w', 0, 1], ['r', 600], ['w', 600, 2], ['r', 0]],
  },
  collapse: {
    rule: 'MADV_COLLAPSE makes a 2 MiB page of a block with a written page (its bytes kept); an empty block fails with EINVAL after the others were collapsed; a range holding no whole block succeeds doing nothing; VM_NOHUGEPAGE is EINVAL',
    steps: [['mmap', 0, 1024, 3, 0], ['w', 1, 1], ['w', 300, 3], ['r', 5], ['madvise', 0, 1024, 25], ['r', 300], ['madvise', 0, 4, 25], ['madvise', 0, 1024, 15], ['madvise', 0, 512, 25]],
  },
};
const thpNames = Object.keys(THP_CASES);
const thpKernel = runOnKernel(thpNames.map((n) => THP_CASES[n]!.steps), { thp: true });

const names = Object.keys(CASES);
const RANDOM = 24;
const randoms = Array.from({ length: RANDOM }, (_, i) => randomProgram(7700 + i, 30));
const kernel = runOnKernel([...names.map((n) => CASES[n]!.steps), ...randoms]);
if (!kernel.results) console.warn(`linux-programs tests skipped: ${kernel.why}`);

function compare(program: Step[], expected: StepResult[], got: StepResult[]): void {
  for (let j = 0; j < program.length; j++) expect(got[j], `step ${j} ${JSON.stringify(program[j])} of ${JSON.stringify(program)}`).toEqual(expected[j]);
}

describe.skipIf(!kernel.results).each(BACKENDS)('memory programs, vmsim and this machine’s kernel (%s)', (backend) => {
  it.each(names.map((n, i) => [n, i] as const))('%s', (name, i) => {
    const c = CASES[name]!;
    compare(c.steps, kernel.results![i]!, runOnVmsim(backend, c.steps, 1024));
  });

  it.each(thpNames.map((n, i) => [n, i] as const))('THP: %s', (name, i) => {
    const c = THP_CASES[name]!;
    const k = thpKernel.results?.[i];
    // The kernel falls back to 4 KiB pages when no 2 MiB of host memory is free: then there is nothing to compare.
    if (!k || (name === 'hugeFaults' && k[2]!.rss !== 512)) return console.warn(`THP case ${name} skipped: the kernel had no huge page to give`);
    compare(c.steps, k, runOnVmsim(backend, c.steps, 1024));
  });

  it(`${RANDOM} random programs of every call give the kernel's results step for step`, () => {
    randoms.forEach((p, i) => compare(p, kernel.results![names.length + i]!, runOnVmsim(backend, p, 1024)));
  });
});

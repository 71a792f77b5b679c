/**
 * mlock(2), mlock2(2), munlock(2), mlockall(2) and munlockall(2) as mm/mlock.c does them: the
 * lock is a region flag (VM_LOCKED, with VM_LOCKONFAULT for MLOCK_ONFAULT / MCL_ONFAULT), so
 * locking part of a region splits it at the range's edges; the process's locked_vm (VmLck)
 * counts the pages of its locked regions, mapped or not; RLIMIT_MEMLOCK bounds it for a
 * process without CAP_IPC_LOCK. Locking then faults the range in (__mm_populate), unless
 * VM_LOCKONFAULT: a PROT_NONE region fails it with ENOMEM (GUP's EFAULT, as
 * __mlock_posix_error_return maps it) and memory running out with EAGAIN — the regions stay
 * locked either way, as in Linux. Locks are not inherited by a fork child nor kept by exec.
 */
import { PAGE_SIZE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { hex } from '../hex.js';
import { TASK_SIZE } from './layout.js';
import { sizeArg, userAddress } from './syscalls.js';
import { checkMapCountForModify } from './map-count.js';
import type { RegionRecord } from './region.js';
import { VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT } from './vm-flags.js';
import type { VirtualMemory } from './virtual-memory.js';
import { populateRange } from './populate.js';

/** mlock2's flag: lock pages as they are faulted in, populate nothing now. */
export const MLOCK_ONFAULT = 1;
/** mlockall's flags. */
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

const TWO64 = 2 ** 64;

/** can_do_mlock: a process may lock when RLIMIT_MEMLOCK is not 0, or with CAP_IPC_LOCK. */
function canLock(vm: VirtualMemory, op: string): void {
  if (vm.rlimits.soft('RLIMIT_MEMLOCK') === 0 && !vm.capIpcLock) throw new VmmError('EPERM', `${op}: RLIMIT_MEMLOCK is 0 and the process has no CAP_IPC_LOCK`);
}

/** Pages of [start, end) that lie in locked regions already (count_mm_mlocked_page_nr). */
function lockedPagesIn(vm: VirtualMemory, start: number, end: number): number {
  let n = 0;
  for (const r of vm.regions.overlapping(start, end)) if ((r.flags & VM_LOCKED) !== 0) n += Math.min(end, r.end) - Math.max(start, r.start);
  return n / PAGE_SIZE;
}

/**
 * mlock(2) (flags VM_LOCKED, plus VM_LOCKONFAULT for mlock2's MLOCK_ONFAULT) or munlock(2)
 * (flags 0) of [addr, addr+len): addr rounds down to its page, the length up.
 */
export function mlockRange(vm: VirtualMemory, addr: unknown, len: unknown, flags: number, op: string): void {
  const raw = userAddress(addr, 'addr');
  const l = sizeArg(len, op);
  const a = raw - (raw % PAGE_SIZE);
  const end = a + Math.ceil((l + (raw - a)) / PAGE_SIZE) * PAGE_SIZE;
  if (end >= TWO64) throw new VmmError('EINVAL', `${op}: [${hex(raw)}, +${hex(l)}) wraps around the address space`);
  if (flags !== 0) canLock(vm, op);
  if (end === a) return;
  if (flags !== 0) {
    // The limit counts what would be locked: pages already locked in the range are not counted twice.
    const limit = vm.rlimits.soft('RLIMIT_MEMLOCK') / PAGE_SIZE;
    let locked = (end - a) / PAGE_SIZE + vm.lockedVm;
    if (locked > limit && !vm.capIpcLock) locked -= lockedPagesIn(vm, a, end);
    if (locked > limit && !vm.capIpcLock) throw new VmmError('ENOMEM', `${op}: ${locked} locked pages would exceed RLIMIT_MEMLOCK (${limit} pages)`);
  }
  // apply_vma_lock_flags: a start in a hole fails at once; else the regions up to the first hole change, then ENOMEM.
  const first = a < TASK_SIZE ? vm.regions.find(a) : undefined;
  if (!first) throw new VmmError('ENOMEM', `${op}: ${hex(a)} is not mapped`);
  let upTo = first.start;
  for (const r of vm.regions.overlapping(a, end)) {
    if (r.start > upTo) break;
    upTo = r.end;
  }
  const stop = Math.min(upTo, end);
  setLockFlags(vm, a, stop, flags, op);
  if (stop < end) throw new VmmError('ENOMEM', `${op}: [${hex(a)}, ${hex(end)}) is not fully mapped (hole at ${hex(stop)}${stop > a ? `; [${hex(a)}, ${hex(stop)}) was ${op === 'munlock' ? 'unlocked' : 'locked'}, as Linux does` : ''})`);
  if ((flags & VM_LOCKED) !== 0) {
    const err = populateRange(vm, a, end, 'mlock');
    // __mlock_posix_error_return: GUP's EFAULT (PROT_NONE, SIGBUS) is ENOMEM, its ENOMEM is EAGAIN.
    if (err) throw new VmmError(err.code === 'EFAULT' ? 'ENOMEM' : 'EAGAIN', `${op}: ${err.message.replace(/^[A-Z]+: /, '')}; the range stays locked, as in Linux`);
  }
}

/**
 * mlock_fixup over [start, end) (covered by regions): each region's lock bits become `flags`;
 * a region already so is left alone (no split, no count), the others split at the edges and
 * merge where they can; locked_vm follows; the resident set's pages there become unevictable
 * or evictable again.
 */
function setLockFlags(vm: VirtualMemory, start: number, end: number, flags: number, op: string): void {
  if (end <= start) return;
  const flagsOf = (p: RegionRecord): number => (p.flags & ~VM_LOCKED_MASK) | flags;
  checkMapCountForModify(vm.regions, vm.ctx.maxMapCount, start, end, undefined, flagsOf, op);
  const touched: Array<[number, number]> = [];
  for (const r of vm.regions.overlapping(start, end)) {
    const s = Math.max(start, r.start);
    const e = Math.min(end, r.end);
    const nf = (r.flags & ~VM_LOCKED_MASK) | flags;
    if (nf === r.flags) continue;
    touched.push([s, e]);
  }
  if (touched.length === 0) return;
  for (const [s, e] of touched) vm.regions.modify(s, e, undefined, flagsOf);
  const rs = vm.resident;
  if (rs) for (const [s, e] of touched) (flags & VM_LOCKED) !== 0 ? rs.lock(s, e) : rs.unlock(s, e);
}

/** mlockall(2): MCL_CURRENT locks every region now (and faults them in), MCL_FUTURE every later one, MCL_ONFAULT without faulting in. */
export function mlockall(vm: VirtualMemory, flags: unknown): void {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags === 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0 || flags === MCL_ONFAULT) {
    throw new VmmError('EINVAL', `mlockall: flags must combine MCL_CURRENT (1), MCL_FUTURE (2) and MCL_ONFAULT (4), with one of the first two; got ${describe(flags)}`);
  }
  canLock(vm, 'mlockall');
  const limit = vm.rlimits.soft('RLIMIT_MEMLOCK') / PAGE_SIZE;
  if ((flags & MCL_CURRENT) !== 0 && vm.regions.bytes / PAGE_SIZE > limit && !vm.capIpcLock) {
    throw new VmmError('ENOMEM', `mlockall: the address space's ${vm.regions.bytes / PAGE_SIZE} pages exceed RLIMIT_MEMLOCK (${limit} pages)`);
  }
  applyAll(vm, flags);
  // mm_populate(0, TASK_SIZE): errors ignored.
  if ((flags & MCL_CURRENT) !== 0) for (const r of [...vm.regions]) populateRange(vm, r.start, r.end, 'mlock');
}

/** munlockall(2): every region unlocked, later ones no longer locked. */
export function munlockall(vm: VirtualMemory): void {
  applyAll(vm, 0);
}

/** apply_mlockall_flags: def_flags from MCL_FUTURE; with MCL_CURRENT (or none: munlockall) every region's lock bits; errors ignored. */
function applyAll(vm: VirtualMemory, flags: number): void {
  vm.defFlags &= ~VM_LOCKED_MASK;
  if ((flags & MCL_FUTURE) !== 0) {
    vm.defFlags |= VM_LOCKED | ((flags & MCL_ONFAULT) !== 0 ? VM_LOCKONFAULT : 0);
    if ((flags & MCL_CURRENT) === 0) return;
  }
  const add = (flags & MCL_CURRENT) !== 0 ? VM_LOCKED | ((flags & MCL_ONFAULT) !== 0 ? VM_LOCKONFAULT : 0) : 0;
  for (const r of [...vm.regions]) {
    const cur = vm.regions.find(r.start);
    if (!cur) continue;
    try {
      setLockFlags(vm, cur.start, Math.min(cur.end, r.end), add, add ? 'mlockall' : 'munlockall');
    } catch (e) {
      if (!(e instanceof VmmError)) throw e; // a split refused by vm.max_map_count: ignored, as Linux does
    }
  }
}

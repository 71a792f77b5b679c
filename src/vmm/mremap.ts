/**
 * mremap(2) as mm/mremap.c does it: shrink in place (the tail is unmapped), grow in place when
 * the space after the region is free, else move (MREMAP_MAYMOVE) — to a free place, or exactly
 * to `newAddr` (MREMAP_FIXED: what is there is unmapped first), or keeping the old range mapped
 * and empty (MREMAP_DONTUNMAP). A move moves page-table entries (core moveRange: whole tables
 * where both sides are aligned alike), never bytes: contents, swap entries, COW sharing, the
 * resident count and every page's reclaim state go with them. Errnos and their order are Linux's
 * (check_mremap_params, remap_is_valid, vma_expandable); charges follow vrm_calc_charge; a
 * locked region's new pages are faulted in (mm_populate).
 */
import { PAGE_SIZE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { hex } from '../hex.js';
import { TASK_SIZE } from './layout.js';
import { sizeArg, checkExpand, mlockFutureOk, placeHinted, placeTopDown, userAddress } from './syscalls.js';
import { pgoff, slice, type RegionRecord } from './region.js';
import { VM_ACCOUNT, VM_DONTEXPAND, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT } from './vm-flags.js';
import type { VirtualMemory } from './virtual-memory.js';
import { populateRange } from './populate.js';

/** mremap's flags (Linux's values). */
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

/** Options of space.mremap: the flags by name (or `flags` as the number), and the new address for `fixed`/`dontUnmap`. */
export interface MremapOptions {
  /** MREMAP_MAYMOVE: the mapping may move when it cannot grow in place. */
  mayMove?: boolean;
  /** MREMAP_FIXED: move to exactly `newAddr` (needs mayMove), unmapping what is there. */
  fixed?: boolean;
  /** MREMAP_DONTUNMAP: move the pages, leave the old range mapped and empty (needs mayMove; no resize). */
  dontUnmap?: boolean;
  /** The new address, for `fixed` (exact) or `dontUnmap` (a hint). */
  newAddr?: number | bigint;
  /** The flags as Linux's number instead (MREMAP_MAYMOVE 1, MREMAP_FIXED 2, MREMAP_DONTUNMAP 4); unknown bits are EINVAL. */
  flags?: number;
}

const KEYS = new Set(['mayMove', 'fixed', 'dontUnmap', 'newAddr', 'flags']);

function flagsOf(o: MremapOptions | undefined): number {
  if (o === undefined) return 0;
  if (o === null || typeof o !== 'object') throw new VmmError('EINVAL', `mremap: options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new VmmError('EINVAL', `mremap: unknown option ${JSON.stringify(k)}`);
  let f = 0;
  if (o.flags !== undefined) {
    if (typeof o.flags !== 'number' || !Number.isInteger(o.flags) || o.flags < 0 || o.flags > 0xffffffff) throw new VmmError('EINVAL', `mremap: flags must be a number, got ${describe(o.flags)}`);
    f = o.flags;
  }
  for (const [k, bit] of [['mayMove', MREMAP_MAYMOVE], ['fixed', MREMAP_FIXED], ['dontUnmap', MREMAP_DONTUNMAP]] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new VmmError('EINVAL', `mremap: ${k} must be a boolean, got ${describe(v)}`);
    if (v) f |= bit;
  }
  return f;
}

const pageAlign = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/** mremap(2): returns the mapping's (new) address. */
export function mremap(vm: VirtualMemory, addr: unknown, oldLength: unknown, newLength: unknown, options?: MremapOptions): number {
  const flags = flagsOf(options);
  const a = userAddress(addr, 'addr');
  const oldRaw = sizeArg(oldLength, 'mremap', 'oldLength');
  const newRaw = sizeArg(newLength, 'mremap', 'newLength');
  const want = options?.newAddr === undefined ? 0 : userAddress(options.newAddr, 'newAddr');
  // check_mremap_params
  if ((flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) !== 0) throw new VmmError('EINVAL', `mremap: unknown flags ${hex(flags & ~7)}`);
  if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `mremap: addr ${hex(a)} is not page-aligned`);
  const newLen = pageAlign(newRaw);
  if (newLen === 0 || newLen >= 2 ** 64) throw new VmmError('EINVAL', 'mremap: the new length is 0');
  let oldLen = pageAlign(oldRaw);
  const implies = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
  if (implies) {
    if (want % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `mremap: newAddr ${hex(want)} is not page-aligned`);
    if ((flags & MREMAP_MAYMOVE) === 0) throw new VmmError('EINVAL', 'mremap: MREMAP_FIXED and MREMAP_DONTUNMAP need MREMAP_MAYMOVE');
    if ((flags & MREMAP_DONTUNMAP) !== 0 && oldLen !== newLen) throw new VmmError('EINVAL', 'mremap: MREMAP_DONTUNMAP cannot resize');
    if (newLen > TASK_SIZE || want > TASK_SIZE - newLen) throw new VmmError('EINVAL', `mremap: [${hex(want)}, +${hex(newLen)}) is outside user space`);
    if (a + oldLen > want && want + newLen > a) throw new VmmError('EINVAL', `mremap: the old range [${hex(a)}, +${hex(oldLen)}) and the new one [${hex(want)}, +${hex(newLen)}) overlap`);
    if (vm.regions.size + 2 >= vm.ctx.maxMapCount - 3) throw new VmmError('ENOMEM', `mremap: ${vm.regions.size} regions leave no room below vm.max_map_count (${vm.ctx.maxMapCount}) for the splits a move may need`);
  }
  let r = a < TASK_SIZE ? vm.regions.find(a) : undefined;
  if (!r) throw new VmmError('EFAULT', `mremap: ${hex(a)} is not mapped`);
  if (implies) {
    // mremap_to. A move that keeps the size may take several regions and the holes between them
    // (Linux 6.17+); otherwise the old range (after a shrink) must lie in its region, checked
    // before anything is unmapped.
    const multi = (flags & MREMAP_FIXED) !== 0 && oldLen === newLen && a + oldLen > r.end;
    if (!multi) valid(vm, r, a, Math.min(oldLen, newLen), newLen, flags);
    // A single region's target is unmapped whole; several regions' pieces each unmap only where they land.
    if ((flags & MREMAP_FIXED) !== 0 && !multi) vm.removeRange(want, want + newLen);
    if (oldLen > newLen) {
      vm.removeRange(a + newLen, a + oldLen);
      oldLen = newLen;
    }
    r = vm.regions.find(a)!;
    if ((flags & MREMAP_DONTUNMAP) !== 0) checkExpand(vm, r.prot, r.shared, r.flags, oldLen / PAGE_SIZE, 'mremap');
    const to = (flags & MREMAP_FIXED) !== 0 ? want : place(vm, want, newLen);
    if (!multi) return move(vm, r, a, oldLen, to, newLen, flags);
    // Each region's piece moves to the same offset from `to`; the holes stay holes.
    for (const p of vm.regions.overlapping(a, a + oldLen)) {
      const s = Math.max(a, p.start);
      const e = Math.min(a + oldLen, p.end);
      if ((flags & MREMAP_FIXED) !== 0) vm.removeRange(to + (s - a), to + (e - a));
      move(vm, vm.regions.find(s)!, s, e - s, to + (s - a), e - s, flags);
    }
    return to;
  }
  // mremap_at
  if (newLen === oldLen) return a;
  if (oldLen > newLen) {
    // Shrinking is an munmap of the tail, whatever it covers (no region check, as Linux).
    vm.removeRange(a + newLen, a + oldLen);
    return a;
  }
  valid(vm, r, a, oldLen, newLen, flags);
  const delta = newLen - oldLen;
  if (r.end - a === oldLen && r.end + delta <= TASK_SIZE && vm.regions.isFree(r.end, r.end + delta)) {
    // Grow in place (vma_merge_extend), charged and, when locked, faulted in.
    if ((r.flags & VM_ACCOUNT) !== 0) vm.ctx.overcommit.charge(delta / PAGE_SIZE, vm.regions.bytes / PAGE_SIZE, 'mremap');
    const end = r.end;
    const grown = slice(r, end, end + delta);
    vm.regions.insert(grown);
    // A file's reverse map (i_mmap) covers the grown part too.
    if (grown.backing.type === 'object') vm.ctx.object(grown.backing.objectId)?.mapRange(vm, end, end + delta, grown.backing.offset / PAGE_SIZE, grown.shared);
    if ((r.flags & (VM_LOCKED | VM_LOCKONFAULT)) === VM_LOCKED) populateRange(vm, end, end + delta, 'map');
    return a;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) throw new VmmError('ENOMEM', `mremap: [${hex(a)}, +${hex(newLen)}) cannot grow in place and MREMAP_MAYMOVE was not given`);
  return move(vm, r, a, oldLen, place(vm, 0, newLen), newLen, flags);
}

/** get_unmapped_area for the new place: the hint (MREMAP_DONTUNMAP's newAddr) if it is free, else top-down. */
function place(vm: VirtualMemory, hint: number, len: number): number {
  return hint !== 0 ? placeHinted(vm, hint, len) : placeTopDown(vm, len);
}

/** remap_is_valid: the old range within its region, the growth allowed by the limits. */
function valid(vm: VirtualMemory, r: RegionRecord, a: number, oldLen: number, newLen: number, flags: number): void {
  if (oldLen === 0 && !r.shared) throw new VmmError('EINVAL', 'mremap: an old length of 0 duplicates only shared mappings');
  if ((flags & MREMAP_DONTUNMAP) !== 0 && (r.flags & VM_DONTEXPAND) !== 0) throw new VmmError('EINVAL', 'mremap: MREMAP_DONTUNMAP of a VM_DONTEXPAND region');
  if (oldLen > r.end - a) throw new VmmError('EFAULT', `mremap: [${hex(a)}, +${hex(oldLen)}) runs past the end of its region (${hex(r.end)})`);
  if (newLen === oldLen) return;
  if ((r.flags & VM_DONTEXPAND) !== 0) throw new VmmError('EFAULT', 'mremap: the region cannot grow (VM_DONTEXPAND)');
  const delta = Math.abs(newLen - oldLen);
  if (!mlockFutureOk(vm, r.flags, delta)) throw new VmmError('EAGAIN', `mremap: ${delta / PAGE_SIZE} more locked pages would exceed RLIMIT_MEMLOCK`);
  checkExpand(vm, r.prot, r.shared, r.flags, delta / PAGE_SIZE, 'mremap');
}

/**
 * move_vma: the region piece [a, a + oldLen) becomes [to, to + newLen) (same attributes, its
 * object offset kept), its entries move, and the old range goes (MREMAP_DONTUNMAP: stays, empty,
 * unlocked). The charge is the growth (or all of newLen with DONTUNMAP).
 */
function move(vm: VirtualMemory, r: RegionRecord, a: number, oldLen: number, to: number, newLen: number, flags: number): number {
  const dontUnmap = (flags & MREMAP_DONTUNMAP) !== 0;
  if (vm.regions.size >= vm.ctx.maxMapCount - 3) throw new VmmError('ENOMEM', `mremap: ${vm.regions.size} regions leave no room below vm.max_map_count (${vm.ctx.maxMapCount})`);
  const oc = vm.ctx.overcommit;
  const accounted = (r.flags & VM_ACCOUNT) !== 0;
  const charge = accounted ? (dontUnmap ? newLen : Math.max(0, newLen - oldLen)) / PAGE_SIZE : 0;
  if (charge > 0) oc.charge(charge, vm.regions.bytes / PAGE_SIZE, 'mremap');
  const piece = slice(r, a, a + oldLen);
  // The new region keeps the old offset in what backs it (vm_pgoff): an object's, or the address the anonymous memory was
  // first mapped at — unless no anonymous page was ever made in it (copy_vma: then the new address, to merge more).
  const fresh = piece.backing.type === 'anonymous' && !piece.shared && piece.anon === 0;
  const backing = piece.backing.type === 'anonymous' ? (fresh ? { type: 'anonymous' as const } : { type: 'anonymous' as const, offset: pgoff(piece) }) : piece.backing;
  const moved: RegionRecord = { ...piece, start: to, end: to + newLen, backing };
  // The entries first: when a page table cannot be allocated nothing has changed.
  if (oldLen > 0 && !vm.pages.moveRange(a, to, oldLen / PAGE_SIZE)) {
    if (charge > 0) oc.uncharge(charge);
    throw new VmmError('ENOMEM', `mremap: out of physical memory for the page tables at ${hex(to)}`);
  }
  vm.pages.invalidate(a, oldLen / PAGE_SIZE);
  vm.resident?.moveRange(a, to, oldLen / PAGE_SIZE);
  vm.regions.insert(moved);
  // The file's reverse map learns the new place before the old one goes (so the file is never left unmapped).
  if (moved.backing.type === 'object') vm.ctx.object(moved.backing.objectId)?.mapRange(vm, to, to + newLen, moved.backing.offset / PAGE_SIZE, moved.shared);
  // move_soft_dirty_pte marks every moved entry soft-dirty; here the new range reads soft-dirty
  // whole (as VM_SOFTDIRTY would), its never-faulted pages included.
  vm.proc.softDirty?.markDirty(to, to + newLen);
  if (dontUnmap) {
    // dontunmap_complete: the old region (all of it) is no longer locked; its pages fault in anew.
    const old = vm.regions.find(a)!;
    const nf = old.flags & ~VM_LOCKED_MASK;
    if (nf !== old.flags) vm.regions.setRecord(slice(old, old.start, old.end, old.prot, nf));
    // Linux's locked_vm keeps counting the old pages (only munmap would subtract them): so does VmLck.
    if ((old.flags & VM_LOCKED) !== 0) vm.lockedLeak += (old.end - old.start) / PAGE_SIZE;
  } else {
    vm.removeRange(a, a + oldLen);
    if (accounted) oc.committed += oldLen / PAGE_SIZE; // moved, not freed: the charge stays with the new region
  }
  if ((moved.flags & (VM_LOCKED | VM_LOCKONFAULT)) === VM_LOCKED && newLen > oldLen) populateRange(vm, to + oldLen, to + newLen, 'map');
  return to;
}

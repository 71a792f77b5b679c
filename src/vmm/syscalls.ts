/**
 * mmap, munmap, mprotect, brk and the explicit region calls, with Linux's argument rules
 * and errno values (mm/mmap.c, mm/mprotect.c, mm/vma.c). Each call validates everything
 * before it changes anything, so a failing call changes nothing.
 */
import { PAGE_SIZE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import { describe } from '../address.js';
import { parseProt } from './prot.js';
import { PROT_WRITE } from './pte-attrs.js';
import type { RegionRecord, RegionKind } from './region.js';
import type { SharedMemoryObject } from './shared-memory.js';
import { File } from './file/file.js';
import type { Inode } from './file/inode.js';
import type { VirtualMemory } from './virtual-memory.js';
import { MMAP_MIN_ADDR, STACK_GUARD_GAP, TASK_SIZE, TASK_UNMAPPED_BASE } from './layout.js';
import { checkMapCountForMap, checkMapCountForModify, checkMapCountForUnmap } from './map-count.js';
import { accountable } from './overcommit.js';
import { VM_ACCOUNT, VM_GROWSDOWN, VM_HUGEPAGE, VM_LOCKED, VM_LOCKONFAULT, VM_NORESERVE } from './vm-flags.js';
import { populateRange } from './populate.js';

/** vm.max_map_count of the machine this space runs on. */
const maxMapCount = (vm: VirtualMemory): number => vm.ctx.maxMapCount;

/** Options of mmap, named after its flags. */
export interface MmapOptions {
  /** Address: a hint, or exact with `fixed`/`noReplace`. */
  addr?: number | bigint;
  /** Bytes; rounded up to whole pages. */
  length: number;
  /** 'rwx' letters in any order, '' or 'none'. */
  prot: string;
  /** MAP_SHARED (default MAP_PRIVATE). */
  shared?: boolean;
  /** MAP_FIXED: place exactly at addr, replacing whatever is there. */
  fixed?: boolean;
  /** MAP_FIXED_NOREPLACE: place exactly at addr; EEXIST if anything is mapped there. */
  noReplace?: boolean;
  /** Name shown in maps() as [anon:NAME] (PR_SET_VMA_ANON_NAME). */
  name?: string;
  /** MAP_POPULATE: map every page now. */
  populate?: boolean;
  /** Map a shared memory object (from machine.createSharedMemory) instead of anonymous memory. */
  object?: SharedMemoryObject;
  /** Map a file (from machine.fs.create or open): MAP_SHARED writes go to the page cache, MAP_PRIVATE ones to private copies. */
  file?: File;
  /** Byte offset into `object` or `file` (page-aligned). */
  offset?: number;
  /** Region kind (default 'mmap', 'shared' for shared mappings). */
  kind?: RegionKind;
  /** Transparent huge pages (madvise MADV_HUGEPAGE): private anonymous faults map a whole 2 MiB page where an aligned block lies inside the region. */
  hugePages?: boolean;
  /** MAP_NORESERVE: no overcommit charge (a large sparse mapping on a small machine), as Linux's heuristic mode allows (vm.overcommit_memory 2 ignores it). */
  noReserve?: boolean;
  /** MAP_LOCKED: the region is locked (VM_LOCKED) and faulted in, as after mlock (errors of the fault-in ignored). */
  locked?: boolean;
  /** MAP_GROWSDOWN: the region grows down on a fault below it, as the stack does (anonymous private memory only). */
  growsDown?: boolean;
}

const MMAP_KEYS = new Set(['addr', 'length', 'prot', 'shared', 'fixed', 'noReplace', 'name', 'populate', 'object', 'file', 'offset', 'kind', 'hugePages', 'noReserve', 'locked', 'growsDown']);
const REGION_KEYS = new Set(['start', 'length', 'prot', 'kind', 'name', 'shared']);
const KINDS = new Set<RegionKind>(['code', 'data', 'heap', 'stack', 'mmap', 'shared', 'kernel']);

function bool(v: unknown, arg: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new VmmError('EINVAL', `${arg} must be a boolean, got ${describe(v)}`);
  return v;
}

function int(v: unknown, arg: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new VmmError('EINVAL', `${arg} must be an integer, got ${describe(v)}`);
  return v;
}

const TWO64N = 1n << 64n;

/**
 * A user-space address argument: a number or a bigint (0 .. 2^64-1, as the kernel's unsigned
 * long; a negative number is a sign-extended kernel address). EINVAL naming `arg` and showing
 * the value given when it is neither, or a bigint outside the 64-bit range.
 */
export function userAddress(v: unknown, arg: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint') {
    if (v < 0n || v >= TWO64N) throw new VmmError('EINVAL', `${arg} ${v < 0n ? '-0x' + (-v).toString(16) : '0x' + v.toString(16)} is outside the 64-bit range`);
    // Beyond 2^53 the number loses low bits, but any such address is far outside user space already.
    return Number(v);
  }
  throw new VmmError('EINVAL', `${arg} must be an integer number or a bigint, got ${describe(v)}`);
}

/** A size_t argument (a length): a non-negative safe integer, or a bigint below 2^64 (beyond 2^53 it loses low bits, far outside user space anyway). */
export function sizeArg(v: unknown, op: string, arg = 'length'): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return Number(v);
  throw new VmmError('EINVAL', `${op}: ${arg} must be a non-negative integer (or a bigint below 2^64), got ${describe(v)}`);
}

function prot(v: unknown, arg = 'prot'): number {
  if (typeof v !== 'string') throw new VmmError('EINVAL', `${arg} must be a string of 'rwx' letters, got ${describe(v)}`);
  try {
    return parseProt(v);
  } catch (e) {
    throw new VmmError('EINVAL', `${arg} ${JSON.stringify(v)} is not a protection: use letters from 'rwx', '' or 'none'`);
  }
}

/** Page-aligns a length, ENOMEM when it cannot fit in user space (Linux: PAGE_ALIGN overflow or > TASK_SIZE). */
function pageLength(length: number, op: string): number {
  if (length <= 0) throw new VmmError('EINVAL', `${op}: length must be positive, got ${length}`);
  const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
  if (len > TASK_SIZE) throw new VmmError('ENOMEM', `${op}: length ${hex(length)} exceeds the user address space`);
  return len;
}

/** mmap(2): returns the address of the new mapping. */
export function mmap(vm: VirtualMemory, opts: MmapOptions): number {
  if (opts === null || typeof opts !== 'object') throw new VmmError('EINVAL', `mmap: options must be an object, got ${describe(opts)}`);
  for (const k of Object.keys(opts)) if (!MMAP_KEYS.has(k)) throw new VmmError('EINVAL', `mmap: unknown option ${JSON.stringify(k)}`);
  const length = pageLength(int(opts.length, 'length'), 'mmap');
  const p = prot(opts.prot);
  const shared = bool(opts.shared, 'shared');
  const fixed = bool(opts.fixed, 'fixed');
  const noReplace = bool(opts.noReplace, 'noReplace');
  const populate = bool(opts.populate, 'populate');
  const hugePages = bool(opts.hugePages, 'hugePages');
  const noReserveAsked = bool(opts.noReserve, 'noReserve');
  const locked = bool(opts.locked, 'locked');
  const growsDown = bool(opts.growsDown, 'growsDown');
  if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name.length > 80 || /[\n\\`$[\]]/.test(opts.name))) {
    throw new VmmError('EINVAL', `name must be a string of at most 80 characters without newlines, brackets, backslash, \` or $ (as PR_SET_VMA_ANON_NAME)`);
  }
  const kind = opts.kind ?? (shared ? 'shared' : 'mmap');
  if (!KINDS.has(kind)) throw new VmmError('EINVAL', `kind must be one of ${[...KINDS].join(', ')}, got ${describe(kind)}`);
  let object: Inode | undefined = opts.object;
  const file = opts.file;
  let offset = 0;
  if (object !== undefined && file !== undefined) throw new VmmError('EINVAL', 'mmap: give object or file, not both');
  if (file !== undefined) {
    if (!(file instanceof File) || !file.belongsTo(vm.ctx)) throw new VmmError('EINVAL', 'file must be a File of this machine (machine.fs.create or machine.fs.open)');
    file.check('mmap');
    // MAP_SHARED with PROT_WRITE needs a descriptor open for writing (do_mmap: EACCES).
    if (shared && (p & PROT_WRITE) !== 0 && file.readOnly) throw new VmmError('EACCES', `mmap: a shared writable mapping of ${file.path}, which is open read-only`);
    object = file.inode;
  } else if (object !== undefined) {
    if (!object || typeof object !== 'object' || vm.ctx.object(object.id) !== object) throw new VmmError('EINVAL', 'object must be a live shared memory object of this machine');
  }
  if (object !== undefined) {
    offset = opts.offset === undefined ? 0 : int(opts.offset, 'offset');
    if (offset < 0 || offset % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `offset ${offset} must be a non-negative multiple of 4096`);
  } else if (opts.offset !== undefined) {
    throw new VmmError('EINVAL', 'offset is only meaningful with object or file');
  }
  // do_mmap: a growing-down mapping must be anonymous and private.
  if (growsDown && (shared || object !== undefined)) throw new VmmError('EINVAL', 'mmap: growsDown (MAP_GROWSDOWN) needs anonymous private memory');
  const exact = fixed || noReplace;
  let addr: number;
  if (opts.addr !== undefined || exact) {
    if (opts.addr === undefined) throw new VmmError('EINVAL', `mmap: ${fixed ? 'fixed' : 'noReplace'} needs addr`);
    const a = userAddress(opts.addr, 'addr');
    if (exact) {
      if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `mmap: addr ${hex(a)} is not page-aligned`);
      if (a < 0 || a > TASK_SIZE - length) throw new VmmError('ENOMEM', `mmap: [${hex(a)}, +${hex(length)}) is outside user space`);
      if (a < MMAP_MIN_ADDR) throw new VmmError('EPERM', `mmap: addr ${hex(a)} is below mmap_min_addr (${hex(MMAP_MIN_ADDR)})`);
      if (noReplace && !vm.regions.isFree(a, a + length)) throw new VmmError('EEXIST', `mmap: [${hex(a)}, ${hex(a + length)}) overlaps an existing mapping`);
      addr = a;
    } else {
      addr = placeHinted(vm, a, length);
    }
  } else {
    addr = placeTopDown(vm, length);
  }
  // Every check runs before anything changes: with `fixed`, a refused call keeps the old mapping and its data.
  checkMapCountForMap(vm.regions, maxMapCount(vm), 'mmap', fixed ? { start: addr, end: addr + length } : undefined);
  const oc = vm.ctx.overcommit;
  // MAP_NORESERVE is honoured unless overcommit is never allowed (vm.overcommit_memory 2).
  const noReserve = noReserveAsked && oc.mode !== 2;
  let flags = vm.defFlags | (locked ? VM_LOCKED : 0) | (growsDown ? VM_GROWSDOWN : 0) | (hugePages && !shared && !object ? VM_HUGEPAGE : 0) | (noReserve ? VM_NORESERVE : 0);
  if (locked) canLock(vm, 'mmap');
  if (!mlockFutureOk(vm, flags, length)) throw new VmmError('EAGAIN', `mmap: locking ${length / PAGE_SIZE} more pages would exceed RLIMIT_MEMLOCK (${vm.rlimits.soft('RLIMIT_MEMLOCK') / PAGE_SIZE} pages)`);
  // MAP_FIXED may replace what is there: the limits count what it would unmap (mmap_region).
  const replaced = fixed ? vm.regions.overlapping(addr, addr + length) : [];
  const replacedPages = (key: 'all' | 'data' | 'account') => replaced.reduce((n, r) => n + (key === 'all' || (key === 'data' ? isData(r.prot, r.shared, r.flags) : (r.flags & VM_ACCOUNT) !== 0) ? (Math.min(addr + length, r.end) - Math.max(addr, r.start)) / PAGE_SIZE : 0), 0);
  checkExpand(vm, p, shared, flags, length / PAGE_SIZE, 'mmap', replacedPages('all'), replacedPages('data'));
  // Accounted memory: private writable mappings (VM_ACCOUNT; over a MAP_FIXED replacement only the difference is a new request), shared anonymous objects (their size).
  let charged = 0;
  let transferred = 0;
  if (accountable(p, shared, noReserve)) {
    flags |= VM_ACCOUNT;
    transferred = replacedPages('account');
    charged = length / PAGE_SIZE - transferred;
    if (charged > 0) oc.charge(charged, vm.regions.bytes / PAGE_SIZE, 'mmap');
  }
  if (shared && object === undefined) {
    const pages = length / PAGE_SIZE;
    if (!noReserve) {
      try {
        oc.charge(pages, vm.regions.bytes / PAGE_SIZE, 'mmap');
      } catch (e) {
        if (charged > 0) oc.uncharge(charged);
        throw e;
      }
    }
    const anon = vm.ctx.createAnonymousObject(length);
    if (!noReserve) anon.accounted = pages;
    object = anon;
  }
  // As Linux, a mapping may run past the end of its object: an access there is SIGBUS.
  if (fixed) vm.removeRange(addr, addr + length);
  if (transferred > 0) oc.committed += transferred; // the replaced regions' charge is the new region's now
  vm.addRegion({ start: addr, end: addr + length, prot: p, kind, name: opts.name, shared, object, offset, file, flags });
  // mm_populate for MAP_POPULATE, or a locked region (not VM_LOCKONFAULT); errors ignored.
  if (populate || (flags & (VM_LOCKED | VM_LOCKONFAULT)) === VM_LOCKED) populateRange(vm, addr, addr + length, 'map');
  return addr;
}

/** is_data_mapping: private writable memory that does not grow down (RLIMIT_DATA counts it). */
function isData(prot: number, shared: boolean, flags: number): boolean {
  return (prot & PROT_WRITE) !== 0 && !shared && (flags & VM_GROWSDOWN) === 0;
}

/** Pages of the space's data mappings (mm->data_vm). */
export function dataPages(vm: VirtualMemory): number {
  let n = 0;
  for (const r of vm.regions) if (isData(r.prot, r.shared, r.flags)) n += (r.end - r.start) / PAGE_SIZE;
  return n;
}

/**
 * may_expand_vm: `pages` more pages of a region with (prot, shared, flags) keep the space within
 * RLIMIT_AS and, for a data mapping, RLIMIT_DATA; `freed`/`freedData` are the pages the call
 * unmaps first (MAP_FIXED). ENOMEM naming the limit otherwise.
 */
export function checkExpand(vm: VirtualMemory, prot: number, shared: boolean, flags: number, pages: number, op: string, freed = 0, freedData = 0): void {
  const as = vm.rlimits.soft('RLIMIT_AS');
  if (as !== Infinity && vm.regions.bytes / PAGE_SIZE - freed + pages > as / PAGE_SIZE) throw new VmmError('ENOMEM', `${op}: ${pages} more pages would take the address space past RLIMIT_AS (${as / PAGE_SIZE} pages)`);
  const data = vm.rlimits.soft('RLIMIT_DATA');
  if (data !== Infinity && isData(prot, shared, flags) && dataPages(vm) - freedData + pages > data / PAGE_SIZE) throw new VmmError('ENOMEM', `${op}: ${pages} more pages of private writable memory would exceed RLIMIT_DATA (${data / PAGE_SIZE} pages)`);
}

/** can_do_mlock: EPERM when RLIMIT_MEMLOCK is 0 and the process has no CAP_IPC_LOCK. */
export function canLock(vm: VirtualMemory, op: string): void {
  if (vm.rlimits.soft('RLIMIT_MEMLOCK') === 0 && !vm.capIpcLock) throw new VmmError('EPERM', `${op}: RLIMIT_MEMLOCK is 0 and the process has no CAP_IPC_LOCK`);
}

/** mlock_future_ok: a new region with `flags` of `bytes` keeps locked memory within RLIMIT_MEMLOCK. */
export function mlockFutureOk(vm: VirtualMemory, flags: number, bytes: number): boolean {
  if ((flags & VM_LOCKED) === 0 || vm.capIpcLock) return true;
  return vm.lockedVm + bytes / PAGE_SIZE <= vm.rlimits.soft('RLIMIT_MEMLOCK') / PAGE_SIZE;
}

/** A hint is used when the range there is free; otherwise the top-down search decides (as Linux). */
export function placeHinted(vm: VirtualMemory, hint: number, length: number): number {
  const a = hint - (((hint % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE);
  if (a >= MMAP_MIN_ADDR && a <= TASK_SIZE - length && vm.regions.isFree(a, a + length) && clearOfStackGuard(vm, a, a + length)) return a;
  return placeTopDown(vm, length);
}

function clearOfStackGuard(vm: VirtualMemory, start: number, end: number): boolean {
  const next = vm.regions.findFirstOverlapping(end, end + STACK_GUARD_GAP);
  return !next || (next.flags & VM_GROWSDOWN) === 0; // vm_start_gap: a region that grows down keeps its guard gap free
}

/** unmapped_area_topdown below mmap_base, then the fallback bottom-up search, else ENOMEM. */
export function placeTopDown(vm: VirtualMemory, length: number): number {
  const high = Math.min(vm.mmapBase, TASK_SIZE);
  const low = Math.max(PAGE_SIZE, MMAP_MIN_ADDR);
  const a = vm.regions.findGapTopDown(length, low, high, STACK_GUARD_GAP);
  if (a !== undefined) return a;
  const b = vm.regions.findGapTopDown(length, TASK_UNMAPPED_BASE, TASK_SIZE, STACK_GUARD_GAP);
  if (b !== undefined) return b;
  throw new VmmError('ENOMEM', `mmap: no free range of ${hex(length)} bytes in user space`);
}

/** Validates a page-aligned user range for munmap/mprotect-like calls (EINVAL as Linux). */
function userRange(addr: unknown, length: unknown, op: string): [number, number] {
  const a = userAddress(addr, 'addr');
  const l = int(length, 'length');
  if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `${op}: addr ${hex(a)} is not page-aligned`);
  if (l < 0) throw new VmmError('EINVAL', `${op}: length ${l} is negative`);
  return [a, l];
}

/** munmap(2): holes are fine; frames whose last reference goes are freed. */
export function munmap(vm: VirtualMemory, addr: number | bigint, length: number): void {
  const [a, l] = userRange(addr, length, 'munmap');
  if (l === 0) throw new VmmError('EINVAL', 'munmap: length must be positive');
  const len = Math.ceil(l / PAGE_SIZE) * PAGE_SIZE;
  if (a < 0 || a > TASK_SIZE || len > TASK_SIZE - a) throw new VmmError('EINVAL', `munmap: [${hex(a)}, +${hex(len)}) is outside user space`);
  checkMapCountForUnmap(vm.regions, maxMapCount(vm), a, a + len);
  vm.removeRange(a, a + len);
}

/**
 * mprotect(2): as Linux, the new protection is applied to the regions from `addr` up to the
 * first hole in the range; a hole then fails the call with ENOMEM (what came before it keeps
 * the new protection, as do_mprotect_pkey leaves it).
 */
export function mprotect(vm: VirtualMemory, addr: number | bigint, length: number, protText: string): void {
  const p = prot(protText);
  const [a, l] = userRange(addr, length, 'mprotect');
  if (l === 0) return;
  const len = Math.ceil(l / PAGE_SIZE) * PAGE_SIZE;
  if (a + len > TASK_SIZE || a < 0) throw new VmmError('ENOMEM', `mprotect: [${hex(a)}, +${hex(len)}) is outside user space`);
  const end = a + len;
  let at = a;
  for (let r = vm.regions.find(at); r && at < end; r = vm.regions.find(at)) at = r.end;
  const stop = Math.min(at, end);
  if (at > a) {
    const flagsOf = (r: RegionRecord): number => protectFlags(r, p);
    const rs = vm.regions.overlapping(a, stop);
    checkMapCountForModify(vm.regions, maxMapCount(vm), a, stop, p, flagsOf, 'mprotect');
    const dl = vm.rlimits.soft('RLIMIT_DATA');
    if (dl !== Infinity) {
      // may_expand_vm: private memory that becomes writable is data (RLIMIT_DATA).
      let newData = 0;
      for (const r of rs) if (isData(p, r.shared, r.flags) && !isData(r.prot, r.shared, r.flags)) newData += (Math.min(stop, r.end) - Math.max(a, r.start)) / PAGE_SIZE;
      if (newData > 0 && dataPages(vm) + newData > dl / PAGE_SIZE) throw new VmmError('ENOMEM', `mprotect: ${newData} more pages of private writable memory would exceed RLIMIT_DATA (${dl / PAGE_SIZE} pages)`);
    }
    if ((p & PROT_WRITE) !== 0) {
      // One request per region part, as mprotect_fixup makes them; a refused one takes back the ones before (nothing changes).
      const oc = vm.ctx.overcommit;
      const done: number[] = [];
      try {
        for (const r of rs) {
          if (!charged(r, p)) continue;
          const pages = (Math.min(stop, r.end) - Math.max(a, r.start)) / PAGE_SIZE;
          oc.charge(pages, vm.regions.bytes / PAGE_SIZE, 'mprotect');
          done.push(pages);
        }
      } catch (e) {
        for (const n of done) oc.uncharge(n);
        throw e;
      }
    }
    // mprotect_fixup, region by region: each piece changes (and merges) in turn; a private locked region that
    // becomes writable is faulted in for writing right then (breaking COW), which gives it an anon_vma before the next piece merges.
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      const s = Math.max(a, r.start);
      const e = Math.min(stop, r.end);
      const cur = i === 0 ? r : vm.regions.find(s)!; // the first is as it was; later ones may have merged meanwhile
      if (uncharged(cur, p)) vm.ctx.overcommit.uncharge((e - s) / PAGE_SIZE);
      const populate = (p & PROT_WRITE) !== 0 && !cur.shared && (cur.prot & PROT_WRITE) === 0 && (cur.flags & VM_LOCKED) !== 0;
      vm.protectRange(s, e, p, flagsOf);
      if (populate) populateRange(vm, s, e, 'map');
    }
  }
  if (at >= end) return;
  throw new VmmError('ENOMEM', `mprotect: [${hex(a)}, ${hex(end)}) is not fully mapped (hole at ${hex(at)}${at > a ? `; [${hex(a)}, ${hex(at)}) was changed, as Linux does` : ''})`);
}

/** mprotect_fixup charges private memory that becomes writable for the first time (VM_ACCOUNT from then on). */
function charged(r: RegionRecord, p: number): boolean {
  return (p & PROT_WRITE) !== 0 && !r.shared && (r.prot & PROT_WRITE) === 0 && (r.flags & (VM_ACCOUNT | VM_NORESERVE)) === 0;
}

/** Made read-only before any anonymous page was made in it (no anon_vma), anonymous memory is uncharged again. */
function uncharged(r: RegionRecord, p: number): boolean {
  return (p & PROT_WRITE) === 0 && (r.flags & VM_ACCOUNT) !== 0 && !r.shared && r.backing.type === 'anonymous' && r.anon === 0;
}

/** A region's flags after mprotect to `p`: VM_ACCOUNT gained or dropped as mprotect_fixup charges. */
function protectFlags(r: RegionRecord, p: number): number {
  return charged(r, p) ? r.flags | VM_ACCOUNT : uncharged(r, p) ? r.flags & ~VM_ACCOUNT : r.flags;
}

/** brk(2) as glibc's brk(): sets the break (or reports it without an argument); ENOMEM when it cannot move. */
export function brk(vm: VirtualMemory, addr?: number | bigint): number {
  if (addr === undefined) return vm.brkEnd;
  const target = userAddress(addr, 'addr');
  if (target < vm.heapStart) throw new VmmError('ENOMEM', `brk: ${hex(target)} is below the start of the heap (${hex(vm.heapStart)})`);
  // check_data_rlimit: the heap alone (vmsim has no data segment) within RLIMIT_DATA.
  const dl = vm.rlimits.soft('RLIMIT_DATA');
  if (dl !== Infinity && target - vm.heapStart > dl) throw new VmmError('ENOMEM', `brk: a heap of ${target - vm.heapStart} bytes exceeds RLIMIT_DATA (${dl})`);
  const oldEnd = pageUp(vm.brkEnd);
  const newEnd = pageUp(target);
  if (newEnd > oldEnd) {
    if (newEnd > TASK_SIZE) throw new VmmError('ENOMEM', `brk: ${hex(newEnd)} is outside user space`);
    if (!mlockFutureOk(vm, vm.defFlags, newEnd - oldEnd)) throw new VmmError('ENOMEM', `brk: locking ${(newEnd - oldEnd) / PAGE_SIZE} more pages (mlockall MCL_FUTURE) would exceed RLIMIT_MEMLOCK`);
    // The first region above the old break, up to one page and the guard gap past the new one: the heap must end
    // a page below it (below its guard gap if it grows down) — brk's `newbrk + PAGE_SIZE > vm_start_gap(next)`.
    const next = vm.regions.findFirstOverlapping(oldEnd, newEnd + PAGE_SIZE + STACK_GUARD_GAP);
    if (next && newEnd + PAGE_SIZE > next.start - ((next.flags & VM_GROWSDOWN) !== 0 ? STACK_GUARD_GAP : 0)) {
      throw new VmmError('ENOMEM', `brk: growing the heap to ${hex(newEnd)} would leave less than a page${(next.flags & VM_GROWSDOWN) !== 0 ? ' and the stack guard gap' : ''} below the mapping at ${hex(next.start)}`);
    }
    checkExpand(vm, 3, false, VM_ACCOUNT, (newEnd - oldEnd) / PAGE_SIZE, 'brk');
    checkMapCountForMap(vm.regions, maxMapCount(vm), 'brk'); // do_brk_flags checks even when the heap only grows
    vm.ctx.overcommit.charge((newEnd - oldEnd) / PAGE_SIZE, vm.regions.bytes / PAGE_SIZE, 'brk');
    vm.addRegion({ start: oldEnd, end: newEnd, prot: 3, kind: 'heap', shared: false, flags: VM_ACCOUNT | vm.defFlags });
    vm.brkEnd = target;
    if ((vm.defFlags & (VM_LOCKED | VM_LOCKONFAULT)) === VM_LOCKED) populateRange(vm, oldEnd, newEnd, 'map');
    return target;
  } else if (newEnd < oldEnd) {
    // Shrinking needs a region in [newbrk, oldbrk) (the heap may have been unmapped); all of that range goes.
    if (vm.regions.isFree(newEnd, oldEnd)) throw new VmmError('ENOMEM', `brk: nothing is mapped in [${hex(newEnd)}, ${hex(oldEnd)}) to shrink`);
    vm.removeRange(newEnd, oldEnd);
  }
  vm.brkEnd = target;
  return target;
}

/** sbrk(3): moves the break by `increment` bytes and returns the old break. */
export function sbrk(vm: VirtualMemory, increment: number): number {
  const inc = int(increment, 'increment');
  const old = vm.brkEnd;
  brk(vm, old + inc);
  return old;
}

function pageUp(v: number): number {
  return Math.ceil(v / PAGE_SIZE) * PAGE_SIZE;
}

/** Options of createRegion (the seed kernel's explicit region API). */
export interface RegionOptions {
  start: number | bigint;
  length: number;
  prot: string;
  kind: RegionKind;
  name?: string;
  shared?: boolean;
}

/** Creates a region exactly at [start, start+length) over free space (EEXIST if anything is there). */
export function createRegion(vm: VirtualMemory, o: RegionOptions): RegionRecord {
  if (o === null || typeof o !== 'object') throw new VmmError('EINVAL', `createRegion: options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!REGION_KEYS.has(k)) throw new VmmError('EINVAL', `createRegion: unknown option ${JSON.stringify(k)}`);
  const start = userAddress(o.start, 'start');
  const length = int(o.length, 'length');
  if (start % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `createRegion: start ${hex(start)} is not page-aligned`);
  if (length <= 0) throw new VmmError('EINVAL', `createRegion: length must be positive, got ${length}`);
  const len = pageUp(length);
  if (start < 0 || start + len > TASK_SIZE) throw new VmmError('EINVAL', `createRegion: [${hex(start)}, +${hex(len)}) is outside user space`);
  if (!KINDS.has(o.kind)) throw new VmmError('EINVAL', `createRegion: kind must be one of ${[...KINDS].join(', ')}, got ${describe(o.kind)}`);
  if (o.kind === 'kernel') throw new VmmError('EINVAL', "createRegion: kind 'kernel' regions live in the kernel half, not in a user address space");
  if (o.name !== undefined && typeof o.name !== 'string') throw new VmmError('EINVAL', `createRegion: name must be a string, got ${describe(o.name)}`);
  const p = prot(o.prot);
  const shared = bool(o.shared, 'shared');
  if (!vm.regions.isFree(start, start + len)) throw new VmmError('EEXIST', `createRegion: [${hex(start)}, ${hex(start + len)}) overlaps an existing region`);
  checkMapCountForMap(vm.regions, maxMapCount(vm), 'createRegion');
  const flags = (o.kind === 'stack' ? VM_GROWSDOWN : 0) | (accountable(p, shared, false) ? VM_ACCOUNT : 0);
  checkExpand(vm, p, shared, flags, len / PAGE_SIZE, 'createRegion');
  if (shared || (p & PROT_WRITE) !== 0) vm.ctx.overcommit.charge(len / PAGE_SIZE, vm.regions.bytes / PAGE_SIZE, 'createRegion');
  const object = shared ? vm.ctx.createAnonymousObject(len) : undefined;
  if (object) object.accounted = len / PAGE_SIZE;
  vm.addRegion({ start, end: start + len, prot: p, kind: o.kind, name: o.name, shared, object, flags });
  return vm.regions.find(start)!;
}

/** Destroys the region containing `addr` (all of it). ENOENT when no region is there. */
export function destroyRegion(vm: VirtualMemory, addr: number | bigint): void {
  const r = vm.regions.find(userAddress(addr, 'addr'));
  if (!r) throw new VmmError('ENOENT', `destroyRegion: no region contains ${hex(addr)}`);
  vm.removeRange(r.start, r.end);
}

/** allocVirtual: an anonymous private mapping of `size` bytes anywhere (the seed's vmm_alloc_virtual); remembered for freeVirtual. */
export function allocVirtual(vm: VirtualMemory, size: number, protText: string): number {
  const a = mmap(vm, { length: size, prot: protText });
  vm.allocations.set(a, a + pageLength(size, 'allocVirtual'));
  return a;
}

/**
 * freeVirtual: removes exactly the range allocVirtual returned at `addr` — even when Linux-style
 * merging joined it to a neighbouring region. EINVAL when `addr` is not such an allocation.
 */
export function freeVirtual(vm: VirtualMemory, addr: number | bigint): void {
  const a = userAddress(addr, 'addr');
  const end = vm.allocations.get(a);
  if (end === undefined) throw new VmmError('EINVAL', `freeVirtual: ${hex(a)} is not an address allocVirtual returned (or it was freed already)`);
  vm.allocations.delete(a);
  vm.removeRange(a, end);
}

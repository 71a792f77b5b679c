/**
 * madvise(2) (MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT) and mlock(2)/munlock(2) with
 * Linux's argument rules (mm/madvise.c, mm/mlock.c): `addr` page-aligned for madvise (mlock
 * rounds it down), a length that wraps is EINVAL, length 0 does nothing, and a hole in the
 * range is ENOMEM after the advice was applied to what lies before it (madvise goes on past
 * holes and fails at the end; mlock stops at the hole). DONTNEED, COLD and PAGEOUT on an
 * mlocked range and FREE on anything but private anonymous memory are EINVAL.
 */
import { PAGE_SIZE, PageBit, PFEC, PTE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { hex } from '../hex.js';
import { RETRY } from '../machine/fault.js';
import { TASK_SIZE } from './layout.js';
import { userAddress } from './syscalls.js';
import type { VirtualMemory } from './virtual-memory.js';
import type { RegionRecord } from './region.js';

/** The advice values vmsim implements (Linux's numbers). */
export const MADV = { DONTNEED: 4, FREE: 8, COLD: 20, PAGEOUT: 21 } as const;
export type MadviseAdvice = 'MADV_DONTNEED' | 'MADV_FREE' | 'MADV_COLD' | 'MADV_PAGEOUT' | 'dontneed' | 'free' | 'cold' | 'pageout' | number;

function adviceOf(v: unknown): keyof typeof MADV {
  if (typeof v === 'number') {
    const k = (Object.keys(MADV) as (keyof typeof MADV)[]).find((n) => MADV[n] === v);
    if (k) return k;
  } else if (typeof v === 'string') {
    const k = v.toUpperCase().replace(/^MADV_/, '') as keyof typeof MADV;
    if (k in MADV) return k;
  }
  throw new VmmError('EINVAL', `madvise: advice must be MADV_DONTNEED, MADV_FREE, MADV_COLD or MADV_PAGEOUT (or 4, 8, 20, 21), got ${describe(v)}`);
}

function length(v: unknown, op: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new VmmError('EINVAL', `${op}: length must be a non-negative integer, got ${describe(v)}`);
  return v;
}

/** The region pieces of [start, end) in order, and whether a hole was met. */
function pieces(vm: VirtualMemory, start: number, end: number): { parts: Array<{ r: RegionRecord; s: number; e: number }>; hole: number | undefined } {
  const parts: Array<{ r: RegionRecord; s: number; e: number }> = [];
  let hole: number | undefined;
  let at = start;
  while (at < end) {
    const r = vm.regions.find(at) ?? vm.regions.findFirstOverlapping(at, end);
    if (!r) {
      hole ??= at;
      break;
    }
    if (r.start > at) hole ??= at;
    const s = Math.max(r.start, at);
    const e = Math.min(r.end, end);
    parts.push({ r, s, e });
    at = e;
  }
  return { parts, hole };
}

/** madvise(2). */
export function madvise(vm: VirtualMemory, addr: unknown, len: unknown, advice: unknown): void {
  const a = userAddress(addr, 'addr');
  const l = length(len, 'madvise');
  const adv = adviceOf(advice);
  if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `madvise: addr ${hex(a)} is not page-aligned`);
  const end = a + Math.ceil(l / PAGE_SIZE) * PAGE_SIZE;
  if (end > TASK_SIZE) throw new VmmError('EINVAL', `madvise: [${hex(a)}, +${hex(l)}) wraps past user space`);
  if (end === a) return;
  const { parts, hole } = pieces(vm, a, end);
  const rs = vm.resident;
  for (const { r, s, e } of parts) {
    const anonPrivate = r.backing.type === 'anonymous' && !r.shared;
    if (adv !== 'FREE' && rs?.overlapsLocked(s, e)) throw new VmmError('EINVAL', `madvise: MADV_${adv} on mlocked memory at ${hex(s)}`);
    if (adv === 'DONTNEED') vm.zapRange(s, e, r.shared);
    else if (adv === 'FREE') {
      if (!anonPrivate) throw new VmmError('EINVAL', `madvise: MADV_FREE needs private anonymous memory; [${hex(s)}, ${hex(e)}) is ${r.shared ? 'shared' : 'backed by an object'}`);
      if (rs?.overlapsLocked(s, e)) throw new VmmError('EINVAL', `madvise: MADV_FREE on mlocked memory at ${hex(s)}`);
      if (rs) {
        const resident = rs.markLazyFree(s, e);
        // The pages are clean and old from now on (madvise_free_pte_range: pte_mkold, pte_mkclean): only a write after this keeps them.
        vm.pages.protect(s, (e - s) / PAGE_SIZE, { setLo: 0, setHi: 0, clearLo: PTE.D | PTE.A, clearHi: 0 });
        vm.pages.invalidate(s, (e - s) / PAGE_SIZE);
        void resident;
      } else vm.zapRange(s, e, false); // without reclaim a lazily freed page is as good as freed now
    } else if ((adv === 'PAGEOUT' || adv === 'COLD') && r.backing.type === 'object') {
      // Object pages (shmem): those this process alone maps (madvise_cold_or_pageout_pte_range skips shared folios).
      const obj = vm.ctx.shmPager ? vm.ctx.shmObject(r.backing.objectId) : undefined;
      const first = (r.backing.offset + (s - r.start)) / PAGE_SIZE;
      const count = obj ? Math.max(0, Math.min((e - s) / PAGE_SIZE, obj.size / PAGE_SIZE - first)) : 0;
      if (obj && count > 0) {
        if (adv === 'PAGEOUT') vm.ctx.shmPager!.pageOut(obj, first, count, vm);
        else vm.ctx.shmPager!.deactivate(obj, first, count, vm);
      }
      // A private mapping's copies are anonymous pages of this process.
      if (rs && !r.shared) coldOrPageout(vm, rs, s, e, adv);
    } else if (rs && anonPrivate) coldOrPageout(vm, rs, s, e, adv);
  }
  if (hole !== undefined) throw new VmmError('ENOMEM', `madvise: [${hex(a)}, ${hex(end)}) is not fully mapped (hole at ${hex(hole)})`);
}

/** MADV_COLD / MADV_PAGEOUT of the anonymous pages `rs` tracks in [s, e). */
function coldOrPageout(vm: VirtualMemory, rs: NonNullable<VirtualMemory['resident']>, s: number, e: number, adv: string): void {
  const vpns = rs.trackedIn(s, e);
  if (adv === 'COLD') {
    const las = Float64Array.from(vpns, (v) => v * PAGE_SIZE);
    vm.pages.clearAccessedList(las, las.length);
    vm.pages.invalidateList(las, las.length);
    for (const v of vpns) rs.policy.deactivate?.(v);
  } else rs.evictPages(vpns);
}

/** mlock(2) / munlock(2): `addr` is rounded down to its page, the length up. */
export function mlock(vm: VirtualMemory, addr: unknown, len: unknown, lock: boolean): void {
  const op = lock ? 'mlock' : 'munlock';
  const raw = userAddress(addr, 'addr');
  const l = length(len, op);
  const a = raw - (raw % PAGE_SIZE);
  const end = a + Math.ceil((l + (raw - a)) / PAGE_SIZE) * PAGE_SIZE;
  if (end > TASK_SIZE) throw new VmmError('EINVAL', `${op}: [${hex(raw)}, +${hex(l)}) wraps past user space`);
  if (end === a) return;
  const { parts, hole } = pieces(vm, a, end);
  // Linux locks the regions up to the first hole, then fails.
  const upTo = hole ?? end;
  const rs = vm.resident;
  if (rs) {
    for (const { s, e } of parts) {
      if (s >= upTo) break;
      const stop = Math.min(e, upTo);
      if (lock) rs.lock(s, stop);
      else rs.unlock(s, stop);
    }
  }
  if (hole !== undefined) throw new VmmError('ENOMEM', `${op}: [${hex(a)}, ${hex(end)}) is not fully mapped (hole at ${hex(hole)}${hole > a ? `; [${hex(a)}, ${hex(hole)}) was ${op}ed, as Linux does` : ''})`);
  if (lock) populate(vm, parts);
}

/** mlock's __mm_populate: faults in every page (a write fault for writable private memory, to break COW). */
function populate(vm: VirtualMemory, parts: Array<{ r: RegionRecord; s: number; e: number }>): void {
  for (const { r, s, e } of parts) {
    if (r.prot === 0) continue;
    const n = (e - s) / PAGE_SIZE;
    const las = Float64Array.from({ length: n }, (_, i) => s + i * PAGE_SIZE);
    const bits = new Uint8Array(n);
    const frames = new Float64Array(n);
    vm.pages.pageBits(las, n, bits, frames);
    const write = (r.prot & 2) !== 0 && !r.shared;
    for (let i = 0; i < n; i++) {
      if ((bits[i]! & PageBit.PRESENT) !== 0 && !(write && frames[i] === vm.ctx.zeroFrame)) continue;
      const la = las[i]!;
      const present = (bits[i]! & PageBit.PRESENT) !== 0;
      const out = vm.handleFault({ la, address: la, errorCode: PFEC.U | (write ? PFEC.W : 0) | (present ? PFEC.P : 0), kind: write ? 1 : 0, access: write ? 'write' : 'read', user: true });
      if (out !== RETRY) {
        // Say what ran out, and whether the OOM killer took the process (a memory cgroup kill at its limit).
        const why = out.type === 'oom' ? [out.reason ?? 'out of memory, or more locked pages than the resident limit', out.detail].filter(Boolean).join('; ') : out.type;
        throw new VmmError('ENOMEM', `mlock: could not fault in ${hex(la)} (${why})`);
      }
    }
  }
}

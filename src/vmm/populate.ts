/**
 * Faulting a range in ahead of use, as the kernel's get_user_pages (GUP) does it for
 * mm_populate (MAP_POPULATE, MAP_LOCKED, mlock, mlockall) and for MADV_POPULATE_READ/WRITE.
 * Each page that is not ready is one fault through the VMM's fault handler, counted as a minor
 * fault as Linux counts GUP's faults in the process's min_flt: a private writable mapping is
 * faulted for writing (breaking COW), anything else for reading (so private read-only memory
 * maps the zero page). Without reclaim, runs of missing private anonymous pages are mapped
 * with one page-table call per run and counted the same.
 *
 * mm_populate skips VM_LOCKONFAULT regions and fails (EFAULT) on a PROT_NONE one;
 * MADV_POPULATE_* fails with EINVAL on a region the access may not make, ENOMEM at a hole.
 */
import { PAGE_SIZE, PageBit, PFEC } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import { RETRY } from '../machine/fault.js';
import { PROT_READ, PROT_WRITE, protIndex } from './pte-attrs.js';
import { PTE } from '../core/constants.js';
import { VM_HUGEPAGE, VM_LOCKONFAULT } from './vm-flags.js';
import type { RegionRecord } from './region.js';
import type { VirtualMemory } from './virtual-memory.js';

/** 'mlock' and 'map': mm_populate (mlock stops at the first error, map goes on at the next region); 'read'/'write': MADV_POPULATE_READ/WRITE. */
export type PopulateMode = 'mlock' | 'map' | 'read' | 'write';

/** Faults in [start, end); undefined on success, else the error (EFAULT, ENOMEM, EINVAL) with what was populated before it kept. */
export function populateRange(vm: VirtualMemory, start: number, end: number, mode: PopulateMode): VmmError | undefined {
  const madv = mode === 'read' || mode === 'write';
  let at = start;
  let failure: VmmError | undefined;
  for (const r of vm.regions.overlapping(start, end)) {
    if (madv && r.start > at) return new VmmError('ENOMEM', `MADV_POPULATE: ${hex(at)} is not mapped`);
    const s = Math.max(start, r.start);
    const e = Math.min(end, r.end);
    at = e;
    let write: boolean;
    if (madv) {
      write = mode === 'write';
      if ((r.prot & (write ? PROT_WRITE : PROT_READ)) === 0) return new VmmError('EINVAL', `MADV_POPULATE_${write ? 'WRITE' : 'READ'}: [${hex(s)}, ${hex(e)}) is not ${write ? 'writable' : 'readable'}`);
    } else {
      if ((r.flags & VM_LOCKONFAULT) !== 0) continue; // locked as faulted, never populated
      if (r.prot === 0) {
        failure ??= new VmmError('EFAULT', `cannot fault in PROT_NONE memory at ${hex(s)}`);
        if (mode === 'mlock') return failure;
        continue;
      }
      write = (r.prot & PROT_WRITE) !== 0 && !r.shared;
    }
    const err = populateRegion(vm, r, s, e, write);
    if (err) {
      if (mode !== 'map') return err;
      failure ??= err;
    }
  }
  if (madv && at < end) return new VmmError('ENOMEM', `MADV_POPULATE: ${hex(at)} is not mapped`);
  return mode === 'map' ? undefined : failure;
}

/** Faults in [s, e) of one region, for writing or reading. */
function populateRegion(vm: VirtualMemory, r: RegionRecord, s: number, e: number, write: boolean): VmmError | undefined {
  const n = (e - s) / PAGE_SIZE;
  const las = new Float64Array(n);
  for (let i = 0; i < n; i++) las[i] = s + i * PAGE_SIZE;
  const bits = new Uint8Array(n);
  const frames = new Float64Array(n);
  vm.pages.pageBits(las, n, bits, frames);
  const bulk = vm.resident === undefined && r.backing.type === 'anonymous' && !r.shared && (r.flags & VM_HUGEPAGE) === 0;
  const huge = (r.flags & VM_HUGEPAGE) !== 0;
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    const present = (b & PageBit.PRESENT) !== 0;
    if (present && (!write || (b & PageBit.WRITABLE) !== 0)) continue;
    if (bulk && !present) {
      let j = i + 1;
      while (j < n && (bits[j]! & PageBit.PRESENT) === 0) j++;
      if (mapRun(vm, r, las[i]!, j - i, write)) {
        i = j - 1;
        continue;
      }
    }
    const err = faultIn(vm, las[i]!, write, present);
    if (err) return err;
    // A THP fault maps the whole 2 MiB block, a read fault in an object's mapping the pages around it: read those again.
    const again = huge ? n - i - 1 : r.backing.type === 'object' ? Math.min(n - i - 1, Math.max(1, vm.ctx.tunables.faultAroundBytes / PAGE_SIZE)) : 0;
    if (again > 0) vm.pages.pageBits(las.subarray(i + 1), again, bits.subarray(i + 1), frames.subarray(i + 1));
  }
  return undefined;
}

/** Maps `count` missing pages of private anonymous memory from `la` in one call, each counted as the minor fault GUP would take. */
function mapRun(vm: VirtualMemory, r: RegionRecord, la: number, count: number, write: boolean): boolean {
  if (write) r = vm.anonPrepare(r);
  const pp = vm.ctx.protectionMap[protIndex(r.prot, r.shared)]!;
  const ok = write ? vm.pages.mapZeroed(la, count, pp.writableDirty) : vm.pages.mapFrameList(la, new Float64Array(count).fill(vm.ctx.zeroFrame), { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi });
  if (!ok) return false;
  if (!write) vm.pages.zeroPages += count;
  vm.faults.minor += count;
  vm.ctx.faults.minor += count;
  return true;
}

/** One GUP fault (handle_mm_fault): undefined when the page is in, else ENOMEM (out of memory) or EFAULT (SIGBUS, SIGSEGV). */
function faultIn(vm: VirtualMemory, la: number, write: boolean, present: boolean): VmmError | undefined {
  const out = vm.handleFault({ la, address: la, errorCode: PFEC.U | (write ? PFEC.W : 0) | (present ? PFEC.P : 0), kind: write ? 1 : 0, access: write ? 'write' : 'read', user: true });
  if (out === RETRY) return undefined;
  if (out.type === 'oom') return new VmmError('ENOMEM', `could not fault in ${hex(la)} (${[out.reason ?? 'out of memory', out.detail].filter(Boolean).join('; ')})`);
  const detail = 'detail' in out && out.detail ? `: ${out.detail}` : '';
  return new VmmError('EFAULT', `could not fault in ${hex(la)} (${out.type}${detail})`);
}

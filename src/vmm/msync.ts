/**
 * msync(2) as mm/msync.c does it: flags from MS_ASYNC, MS_INVALIDATE and MS_SYNC (any other bit,
 * or MS_SYNC with MS_ASYNC, is EINVAL), `addr` page-aligned (EINVAL), the length rounded up to
 * pages (a range that wraps is ENOMEM, length 0 succeeds). MS_SYNC writes the dirty page cache
 * pages of each MAP_SHARED file mapping in the range and waits for them (vfs_fsync_range);
 * MS_ASYNC does nothing (Linux tracks dirty pages itself since 2.6.19), MS_INVALIDATE only
 * refuses mlocked mappings (EBUSY). Unmapped parts of the range are skipped and reported as
 * ENOMEM at the end — at once for MS_ASYNC alone.
 */
import { PAGE_SIZE } from '../core/constants.js';
import { VM_LOCKED } from './vm-flags.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { hex } from '../hex.js';
import { TASK_SIZE } from './layout.js';
import { userAddress } from './syscalls.js';
import type { VirtualMemory } from './virtual-memory.js';
import type { RegularFile } from './file/regular-file.js';

/** The msync flags (Linux's values). */
export const MS = { MS_ASYNC: 1, MS_INVALIDATE: 2, MS_SYNC: 4 } as const;

/** msync's flags: a name, several names, or Linux's bits. */
export type MsyncFlags = 'MS_SYNC' | 'MS_ASYNC' | 'MS_INVALIDATE' | readonly ('MS_SYNC' | 'MS_ASYNC' | 'MS_INVALIDATE')[] | number;

function flagBits(v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  const names = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!names) throw new VmmError('EINVAL', `msync: flags must be 'MS_SYNC', 'MS_ASYNC', 'MS_INVALIDATE', a list of them or their bits, got ${describe(v)}`);
  let bits = 0;
  for (const n of names) {
    const b = typeof n === 'string' ? MS[n as keyof typeof MS] : undefined;
    if (b === undefined) throw new VmmError('EINVAL', `msync: unknown flag ${describe(n)} (MS_SYNC, MS_ASYNC or MS_INVALIDATE)`);
    bits |= b;
  }
  return bits;
}

/** msync(2). */
export function msync(vm: VirtualMemory, addr: unknown, length: unknown, flags: unknown): void {
  const start0 = userAddress(addr, 'addr');
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) throw new VmmError('EINVAL', `msync: length must be a non-negative integer, got ${describe(length)}`);
  const f = flagBits(flags);
  if ((f & ~(MS.MS_ASYNC | MS.MS_INVALIDATE | MS.MS_SYNC)) !== 0) throw new VmmError('EINVAL', `msync: unknown flag bits ${f & ~7} in flags ${f}`);
  if (start0 % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `msync: addr ${hex(start0)} is not page-aligned`);
  if ((f & MS.MS_ASYNC) !== 0 && (f & MS.MS_SYNC) !== 0) throw new VmmError('EINVAL', 'msync: MS_SYNC and MS_ASYNC together');
  const end = start0 + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
  if (end > 2 ** 64 || start0 > TASK_SIZE) throw new VmmError('ENOMEM', `msync: [${hex(start0)}, +${hex(length)}) is outside user space`);
  if (end === start0) return;
  let start = start0;
  let unmapped = false;
  for (;;) {
    const r = vm.regions.find(start) ?? vm.regions.findFirstOverlapping(start, end);
    if (!r) throw new VmmError('ENOMEM', `msync: [${hex(start)}, ${hex(end)}) is not mapped`);
    if (start < r.start) {
      if (f === MS.MS_ASYNC) throw new VmmError('ENOMEM', `msync: ${hex(start)} is not mapped`);
      start = r.start;
      if (start >= end) throw new VmmError('ENOMEM', `msync: [${hex(start0)}, ${hex(end)}) is not mapped`);
      unmapped = true;
    }
    const stop = Math.min(end, r.end);
    if ((f & MS.MS_INVALIDATE) !== 0 && (r.flags & VM_LOCKED) !== 0) throw new VmmError('EBUSY', `msync: MS_INVALIDATE on mlocked memory at ${hex(start)}`);
    if ((f & MS.MS_SYNC) !== 0 && r.shared && r.backing.type === 'object') {
      const inode = vm.ctx.object(r.backing.objectId);
      if (inode && inode.kind === 'file') {
        const first = (r.backing.offset + (start - r.start)) / PAGE_SIZE;
        vm.ctx.flusher.syncRange(inode as RegularFile, first, first + (stop - start) / PAGE_SIZE - 1);
      }
    }
    start = r.end;
    if (start >= end) break;
  }
  if (unmapped) throw new VmmError('ENOMEM', `msync: [${hex(start0)}, ${hex(end)}) is not fully mapped (the mapped parts were synced)`);
}

/**
 * mincore(2) as mm/mincore.c answers it: one byte per page of [addr, addr + length), 1 when the
 * page is resident. A page this process maps is resident; an unmapped page of a file mapping
 * (private or shared, regular file or shared memory) is resident when the file's page cache
 * holds it (mincore_page), or holds it in the swap cache (a shared memory page in swap); an
 * anonymous page in swap is resident while its copy is in the swap cache; an untouched
 * anonymous page is not. `addr` must be page-aligned (EINVAL); the range must lie in user space
 * and in regions: a hole is ENOMEM (the bytes before it are not returned, as the syscall fails).
 */
import { PAGE_SIZE, PageBit } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { hex } from '../hex.js';
import { TASK_SIZE } from './layout.js';
import { userAddress } from './syscalls.js';
import type { VirtualMemory } from './virtual-memory.js';
import { SharedMemoryObject } from './shared-memory.js';

/** mincore(2): the residency vector of [addr, addr + length). */
export function mincore(vm: VirtualMemory, addr: unknown, length: unknown): Uint8Array {
  const a = userAddress(addr, 'addr');
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) throw new VmmError('EINVAL', `mincore: length must be a non-negative integer, got ${describe(length)}`);
  if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `mincore: addr ${hex(a)} is not page-aligned`);
  const pages = Math.ceil(length / PAGE_SIZE);
  if (a + pages * PAGE_SIZE > TASK_SIZE) throw new VmmError('ENOMEM', `mincore: [${hex(a)}, +${hex(length)}) is outside user space`);
  const vec = new Uint8Array(pages);
  const end = a + pages * PAGE_SIZE;
  const ctx = vm.ctx;
  for (let at = a; at < end; ) {
    const r = vm.regions.find(at);
    if (!r) throw new VmmError('ENOMEM', `mincore: ${hex(at)} is not mapped`);
    const stop = Math.min(r.end, end);
    const n = (stop - at) / PAGE_SIZE;
    // One bulk read of the region's entries.
    const las = new Float64Array(n);
    for (let i = 0; i < n; i++) las[i] = at + i * PAGE_SIZE;
    const bits = new Uint8Array(n);
    const frames = new Float64Array(n);
    vm.pages.pageBits(las, n, bits, frames);
    const inode = r.backing.type === 'object' ? ctx.object(r.backing.objectId) : undefined;
    const first = r.backing.type === 'object' ? (r.backing.offset + (at - r.start)) / PAGE_SIZE : 0;
    const base = (at - a) / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      const b = bits[i]!;
      let v = 0;
      if ((b & PageBit.PRESENT) !== 0) v = 1;
      else if ((b & PageBit.SWAP) !== 0) {
        // mincore_swap: an anonymous page in swap is resident while the swap cache holds it.
        const slot = vm.resident?.swapped.get(las[i]! / PAGE_SIZE);
        v = slot !== undefined && ctx.swapCache.frameOf(slot) !== undefined ? 1 : 0;
      } else if (inode) {
        // mincore_page: the file's page cache (a shared memory page in swap: its swap cache).
        const idx = first + i;
        if (inode.pages.has(idx)) v = 1;
        else if (inode instanceof SharedMemoryObject) {
          const slot = inode.slotOf(idx);
          v = slot !== undefined && ctx.swapCache.frameOf(slot) !== undefined ? 1 : 0;
        }
      }
      vec[base + i] = v;
    }
    at = stop;
  }
  return vec;
}

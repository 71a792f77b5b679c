/**
 * mincore(2) as mm/mincore.c answers it: one byte per page of [addr, addr + length), 1 when the
 * page is resident — mapped in this process, or, unmapped here, present in the memory that
 * backs it: a shared memory object's page (the page cache of shmem), or a swapped page whose
 * copy is in the swap cache. `addr` must be page-aligned (EINVAL), the range must lie in user
 * space and in regions: a hole is ENOMEM.
 */
import { PAGE_SIZE, PageBit } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import { TASK_SIZE } from './layout.js';
import { sizeArg, userAddress } from './syscalls.js';
import type { VirtualMemory } from './virtual-memory.js';

/** mincore(2): the residency vector of [addr, addr + length). */
export function mincore(vm: VirtualMemory, addr: unknown, length: unknown): Uint8Array {
  const a = userAddress(addr, 'addr');
  const len = sizeArg(length, 'mincore');
  if (a % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `mincore: addr ${hex(a)} is not page-aligned`);
  if (a + len > TASK_SIZE) throw new VmmError('ENOMEM', `mincore: [${hex(a)}, +${hex(len)}) is outside user space`);
  const pages = Math.ceil(len / PAGE_SIZE);
  const vec = new Uint8Array(pages);
  let at = a;
  const end = a + pages * PAGE_SIZE;
  while (at < end) {
    const r = vm.regions.find(at);
    if (!r) throw new VmmError('ENOMEM', `mincore: ${hex(at)} is not mapped`);
    const e = Math.min(r.end, end);
    const n = (e - at) / PAGE_SIZE;
    const las = new Float64Array(n);
    for (let i = 0; i < n; i++) las[i] = at + i * PAGE_SIZE;
    const bits = new Uint8Array(n);
    const frames = new Float64Array(n);
    vm.pages.pageBits(las, n, bits, frames);
    const obj = r.backing.type === 'object' ? vm.ctx.object(r.backing.objectId) : undefined;
    const first = r.backing.type === 'object' ? (r.backing.offset + (at - r.start)) / PAGE_SIZE : 0;
    const base = (at - a) / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      const b = bits[i]!;
      let v = 0;
      if ((b & PageBit.PRESENT) !== 0) v = 1;
      else if ((b & PageBit.SWAP) !== 0) {
        const slot = vm.resident?.swapped.get(las[i]! / PAGE_SIZE);
        v = slot !== undefined && vm.ctx.swapCache.frameOf(slot) !== undefined ? 1 : 0;
      } else if (obj) {
        // Not mapped here: the object's page, in memory or in the swap cache.
        const idx = first + i;
        const slot = obj.slotOf(idx);
        v = obj.presentFrame(idx) !== undefined || (slot !== undefined && vm.ctx.swapCache.frameOf(slot) !== undefined) ? 1 : 0;
      }
      vec[base + i] = v;
    }
    at = e;
  }
  return vec;
}

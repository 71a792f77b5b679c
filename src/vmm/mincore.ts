/**
 * mincore(2) as mm/mincore.c answers it: one byte per page of [addr, addr + length), 1 when the
 * page is resident. A page this process maps is resident; an unmapped page of a file mapping
 * (private or shared, regular file or shared memory) is resident when the file's page cache
 * holds it (mincore_page), or holds it in the swap cache (a shared memory page in swap); a
 * swapped anonymous page (a private mapping's copy included) is resident while its copy is in
 * the swap cache (mincore_swap); an untouched anonymous page is not. `addr` must be
 * page-aligned (EINVAL), the range must lie in user space and in regions: a hole is ENOMEM.
 */
import { PAGE_SIZE, PageBit } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import { TASK_SIZE } from './layout.js';
import { sizeArg, userAddress } from './syscalls.js';
import type { VirtualMemory } from './virtual-memory.js';
import { SharedMemoryObject } from './shared-memory.js';

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
        // mincore_swap: a page in swap is resident while the swap cache holds its copy.
        const slot = vm.resident?.swapped.get(las[i]! / PAGE_SIZE);
        v = slot !== undefined && vm.ctx.swapCache.frameOf(slot) !== undefined ? 1 : 0;
      } else if (obj) {
        // mincore_page: the file's page cache (a shared memory page in swap: its swap cache).
        const idx = first + i;
        if (obj.pages.has(idx)) v = 1;
        else if (obj instanceof SharedMemoryObject) {
          const slot = obj.slotOf(idx);
          v = slot !== undefined && vm.ctx.swapCache.frameOf(slot) !== undefined ? 1 : 0;
        }
      }
      vec[base + i] = v;
    }
    at = e;
  }
  return vec;
}

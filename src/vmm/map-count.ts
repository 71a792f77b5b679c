/**
 * vm.max_map_count: how many regions (VMAs) one address space may have. The rules are
 * Linux's, as this machine's kernel showed them (test/vmm/linux/map-count.c) and mm/mmap.c,
 * mm/vma.c state them:
 * - a new mapping (mmap, brk growth) fails while the count is above the limit
 *   (`map_count > sysctl_max_map_count`), so the count can reach limit + 1;
 * - a split fails when the count is at the limit or above (`map_count >= ...`): munmap only
 *   checks the split that leaves a region on both sides of the hole (it may exceed the limit
 *   for a moment to free memory); mprotect checks each split it makes, in address order,
 *   after the merges it makes first.
 * Unlike Linux, which keeps the first split when mprotect's second one fails, the checks run
 * before anything changes, so a refused call changes nothing.
 */
import { VmmError } from '../errors.js';
import { canMerge, slice, type RegionRecord } from './region.js';
import type { RegionMap } from './region-map.js';

function tooMany(op: string, count: number, max: number): VmmError {
  return new VmmError('ENOMEM', `${op}: the address space has ${count} regions, and vm.max_map_count (options.maxMapCount) is ${max}`);
}

/** True when [start, end) lies strictly inside one region: removing it leaves a piece on both sides. */
function punchesHole(regions: RegionMap, start: number, end: number): boolean {
  const r = regions.find(start);
  return r !== undefined && r.start < start && end < r.end;
}

/** mmap (and brk growth, createRegion): ENOMEM above the limit; a MAP_FIXED that punches a hole needs room for the split too. */
export function checkMapCountForMap(regions: RegionMap, max: number, op: string, replace?: { start: number; end: number }): void {
  const n = regions.size;
  if (n > max) throw tooMany(op, n, max);
  if (replace && n >= max && punchesHole(regions, replace.start, replace.end)) throw tooMany(op, n, max);
}

/** munmap: ENOMEM at the limit when the hole splits one region in two. */
export function checkMapCountForUnmap(regions: RegionMap, max: number, start: number, end: number): void {
  const n = regions.size;
  if (n >= max && punchesHole(regions, start, end)) throw tooMany('munmap', n, max);
}

/**
 * mprotect: replays Linux's walk over the regions of [start, end) (mprotect_fixup →
 * vma_modify_flags): a region already at `prot` is skipped; otherwise the changed piece merges
 * with the previous and next region where it can (no split, the count drops), else each edge
 * inside the region is a split that needs count < max. ENOMEM names the count.
 */
export function checkMapCountForProtect(regions: RegionMap, max: number, start: number, end: number, prot: number): void {
  checkMapCountForModify(regions, max, start, end, prot, (r) => r.flags, 'mprotect');
}

/**
 * The same walk for any change of the regions' protection or flags (mprotect, mlock, madvise
 * flags: Linux's vma_modify): each region takes protection `prot` (undefined: its own) and
 * flags `flagsOf(region)`; a region the change leaves as it is needs no split.
 */
export function checkMapCountForModify(regions: RegionMap, max: number, start: number, end: number, prot: number | undefined, flagsOf: (r: RegionRecord) => number, op: string): void {
  // Splits happen only at the two edges: below max - 1 regions none can fail, so skip the walk.
  if (regions.size + 2 <= max) return;
  const rs = regions.overlapping(start, end);
  if (rs.length === 0) return;
  let count = regions.size;
  let prev: RegionRecord | undefined = regions.below(rs[0]!.start);
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    const ps = Math.max(start, r.start);
    const pe = Math.min(end, r.end);
    const piece = slice(r, ps, pe, prot ?? r.prot, flagsOf(r));
    if (piece.prot === r.prot && piece.flags === r.flags) {
      prev = r;
      continue;
    }
    const next = i + 1 < rs.length ? rs[i + 1] : regions.findFirstOverlapping(r.end, r.end + 1);
    const left = ps === r.start && prev !== undefined && canMerge(prev, piece);
    const right = pe === r.end && next !== undefined && canMerge(piece, next);
    if (left && right) count -= 2;
    else if (left || right) count -= ps === r.start && pe === r.end ? 1 : 0;
    else {
      if (ps > r.start) {
        if (count >= max) throw tooMany(op, regions.size, max);
        count++;
      }
      if (pe < r.end) {
        if (count >= max) throw tooMany(op, regions.size, max);
        count++;
      }
    }
    prev = left ? slice(piece, prev!.start, pe) : piece;
  }
}

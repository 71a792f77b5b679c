/** /proc/PID/maps lines, formatted as Linux's show_map_vma() prints them. */
import { formatProt } from './prot.js';
import type { RegionRecord } from './region.js';

/** Width seq_pad() pads the header to on 64-bit kernels (25 + sizeof(void *) * 6 - 1). */
export const MAPS_PAD = 72;
const PAD = MAPS_PAD;

/** Zero-padded hex of a 48-bit address, from its two 32-bit halves (Number#toString(16) of a large double is slow). */
function hex(n: number, width: number): string {
  const hi = Math.floor(n / 2 ** 32);
  const lo = (n >>> 0).toString(16);
  const s = hi === 0 ? lo : hi.toString(16) + '00000000'.slice(lo.length) + lo;
  return s.length >= width ? s : '00000000'.slice(0, width - s.length) + s;
}

/** What maps shows of a region's inode: a shared memory object's name, or a regular file's path. */
export type InodeName = { name: string; linked: boolean } | { path: string; linked: boolean };

/** Who a region's inode is, for its pathname column (undefined: it is gone). */
export type ObjectName = (id: number) => InodeName | undefined;

/** Where the process's heap and initial stack are (mm->start_brk, brk, start_stack): maps names regions by them. */
export interface ProcessLayout {
  readonly startBrk: number;
  readonly brk: number;
  readonly startStack: number;
}

/** The label get_vma_name gives anonymous private memory by position: '[heap]' (vma_is_initial_heap), '[stack]' (vma_is_initial_stack), or undefined. */
export function positionLabel(r: RegionRecord, p: ProcessLayout | undefined): '[heap]' | '[stack]' | undefined {
  if (p === undefined || r.backing.type !== 'anonymous' || r.shared) return undefined;
  if (r.start < p.brk && r.end > p.startBrk) return '[heap]';
  if (r.start <= p.startStack && r.end >= p.startStack) return '[stack]';
  return undefined;
}

/** The pathname column of a region ('' for none); `p` places [heap] and [stack] (without it, the regions' kinds do). */
export function mapsPathname(r: RegionRecord, objectName: ObjectName, p?: ProcessLayout): string {
  if (r.backing.type === 'object') {
    const o = objectName(r.backing.objectId);
    if (o && 'path' in o) return `${o.path}${o.linked ? '' : ' (deleted)'}`;
    if (!o || o.name === '') return '/dev/zero (deleted)'; // shared anonymous memory
    return `/dev/shm/${o.name}${o.linked ? '' : ' (deleted)'}`;
  }
  const label = positionLabel(r, p);
  if (label !== undefined) return label;
  // Without a process (a plain list of records), the kinds say it.
  if (p === undefined && r.kind === 'heap') return '[heap]';
  if (p === undefined && r.kind === 'stack') return '[stack]';
  if (r.name !== undefined && r.name !== '') return r.kind === 'code' || r.kind === 'data' ? r.name : `[anon:${r.name}]`;
  return '';
}

/** One /proc/PID/maps line of a region, without the newline (smaps starts each region's block with it). */
export function formatMapsLine(r: RegionRecord, objectName: ObjectName, layout?: ProcessLayout): string {
  const isObj = r.backing.type === 'object';
  const offset = r.backing.type === 'object' ? r.backing.offset : 0;
  // tmpfs (shared memory) is device 00:01, the disk filesystem 08:01.
  const dev = r.backing.type !== 'object' ? '00:00' : 'path' in (objectName(r.backing.objectId) ?? {}) ? '08:01' : '00:01';
  const line = `${hex(r.start, 8)}-${hex(r.end, 8)} ${formatProt(r.prot)}${r.shared ? 's' : 'p'} ${hex(offset, 8)} ${dev} ${isObj && r.backing.type === 'object' ? r.backing.objectId : 0} `;
  const name = mapsPathname(r, objectName, layout);
  return name === '' ? line : line.padEnd(PAD, ' ') + ' ' + name;
}

/** Zero-padded hex of a 48-bit address (the maps line's address columns). */
export function hexAddress(n: number, width = 8): string {
  return hex(n, width);
}

/** Formats regions as the text of /proc/PID/maps. */
export function formatMaps(regions: Iterable<RegionRecord>, objectName: ObjectName, layout?: ProcessLayout): string {
  // One string per line, joined once: appending to one growing string makes a rope the GC pays for.
  const lines: string[] = [];
  for (const r of regions) lines.push(formatMapsLine(r, objectName, layout));
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

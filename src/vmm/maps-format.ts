/** /proc/PID/maps lines, formatted as Linux's show_map_vma() prints them. */
import { formatProt } from './prot.js';
import type { RegionRecord } from './region.js';

/** Width seq_pad() pads the header to on 64-bit kernels (25 + sizeof(void *) * 6 - 1). */
const PAD = 72;

/** Zero-padded hex of a 48-bit address, from its two 32-bit halves (Number#toString(16) of a large double is slow). */
function hex(n: number, width: number): string {
  const hi = Math.floor(n / 2 ** 32);
  const lo = (n >>> 0).toString(16);
  const s = hi === 0 ? lo : hi.toString(16) + '00000000'.slice(lo.length) + lo;
  return s.length >= width ? s : '00000000'.slice(0, width - s.length) + s;
}

/** What maps shows of a region's inode: a shared memory object's name, or a regular file's path. */
export type InodeName = { name: string; linked: boolean } | { path: string; linked: boolean };

/** The pathname column of a region. */
function pathname(r: RegionRecord, objectName: (id: number) => InodeName | undefined): string {
  if (r.backing.type === 'object') {
    const o = objectName(r.backing.objectId);
    if (o && 'path' in o) return `${o.path}${o.linked ? '' : ' (deleted)'}`;
    if (!o || o.name === '') return '/dev/zero (deleted)'; // shared anonymous memory
    return `/dev/shm/${o.name}${o.linked ? '' : ' (deleted)'}`;
  }
  if (r.kind === 'heap') return '[heap]';
  if (r.kind === 'stack') return '[stack]';
  if (r.name !== undefined && r.name !== '') return r.kind === 'code' || r.kind === 'data' ? r.name : `[anon:${r.name}]`;
  return '';
}

/** Formats regions as the text of /proc/PID/maps. */
export function formatMaps(regions: Iterable<RegionRecord>, objectName: (id: number) => InodeName | undefined): string {
  // One string per line, joined once: appending to one growing string makes a rope the GC pays for.
  const lines: string[] = [];
  for (const r of regions) {
    const isObj = r.backing.type === 'object';
    const offset = r.backing.type === 'object' ? r.backing.offset : 0;
    // tmpfs (shared memory) is device 00:01, the disk filesystem 08:01.
    const dev = !isObj ? '00:00' : r.backing.type === 'object' && 'path' in (objectName(r.backing.objectId) ?? {}) ? '08:01' : '00:01';
    let line = `${hex(r.start, 8)}-${hex(r.end, 8)} ${formatProt(r.prot)}${r.shared ? 's' : 'p'} ${hex(offset, 8)} ${dev} ${isObj && r.backing.type === 'object' ? r.backing.objectId : 0} `;
    const name = pathname(r, objectName);
    if (name !== '') line = line.padEnd(PAD, ' ') + ' ' + name;
    lines.push(line);
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

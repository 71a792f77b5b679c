/** /proc/PID/maps lines, formatted as Linux's show_map_vma() prints them. */
import { formatProt } from './prot.js';
import type { RegionRecord } from './region.js';

/** Width seq_pad() pads the header to on 64-bit kernels (25 + sizeof(void *) * 6 - 1). */
const PAD = 72;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** The pathname column of a region. */
function pathname(r: RegionRecord, objectName: (id: number) => { name: string; linked: boolean } | undefined): string {
  if (r.backing.type === 'object') {
    const o = objectName(r.backing.objectId);
    if (!o || o.name === '') return '/dev/zero (deleted)'; // shared anonymous memory
    return `/dev/shm/${o.name}${o.linked ? '' : ' (deleted)'}`;
  }
  if (r.kind === 'heap') return '[heap]';
  if (r.kind === 'stack') return '[stack]';
  if (r.name !== undefined && r.name !== '') return r.kind === 'code' || r.kind === 'data' ? r.name : `[anon:${r.name}]`;
  return '';
}

/** Formats regions as the text of /proc/PID/maps. */
export function formatMaps(regions: Iterable<RegionRecord>, objectName: (id: number) => { name: string; linked: boolean } | undefined): string {
  let out = '';
  for (const r of regions) {
    const isObj = r.backing.type === 'object';
    const offset = r.backing.type === 'object' ? r.backing.offset : 0;
    let line = `${hex(r.start, 8)}-${hex(r.end, 8)} ${formatProt(r.prot)}${r.shared ? 's' : 'p'} ${hex(offset, 8)} ${isObj ? '00:01' : '00:00'} ${isObj && r.backing.type === 'object' ? r.backing.objectId : 0} `;
    const name = pathname(r, objectName);
    if (name !== '') line = line.padEnd(PAD, ' ') + ' ' + name;
    out += line + '\n';
  }
  return out;
}

/**
 * Region maps written as small ASCII pictures, as Linux's tools/testing/vma writes its merge
 * cases: one character per page from address 0, '.' for a free page, a letter for a page of a
 * region, '|' between two regions that touch. The letter says the region's attributes:
 * a = r--, b = rw-, c = r-x, n = ---, s = a rw- stack, h = the rw- heap, and digits 0-9 a
 * shared rw- mapping of object 1 at page offset = the digit (contiguous digits can merge).
 */
import { VM_GROWSDOWN } from '../../src/vmm/vm-flags.js';
import type { RegionRecord, RegionKind } from '../../src/vmm/region.js';

export const PAGE = 4096;

const LETTERS: Record<string, { prot: number; kind: RegionKind }> = {
  a: { prot: 1, kind: 'mmap' },
  b: { prot: 3, kind: 'mmap' },
  c: { prot: 5, kind: 'mmap' },
  n: { prot: 0, kind: 'mmap' },
  s: { prot: 3, kind: 'stack' },
  h: { prot: 3, kind: 'heap' },
};

/** The record of one page drawn as `ch` at page `page`. */
export function pageRecord(ch: string, page: number): RegionRecord {
  if (/[0-9]/.test(ch)) {
    return { start: page * PAGE, end: (page + 1) * PAGE, prot: 3, kind: 'shared', shared: true, backing: { type: 'object', objectId: 1, offset: Number(ch) * PAGE }, flags: 0, anon: 0 };
  }
  const l = LETTERS[ch];
  if (!l) throw new Error(`unknown region letter ${JSON.stringify(ch)}`);
  return { start: page * PAGE, end: (page + 1) * PAGE, prot: l.prot, kind: l.kind, shared: false, backing: { type: 'anonymous' }, flags: l.kind === 'stack' ? VM_GROWSDOWN : 0, anon: 0 };
}

/** The regions of a picture: each run of one letter not broken by '|' is one region. */
export function parseRegions(picture: string): RegionRecord[] {
  const out: RegionRecord[] = [];
  let page = 0;
  let cur: RegionRecord | undefined;
  let prevCh = '';
  for (const ch of picture) {
    if (ch === '|') {
      cur = undefined;
      continue;
    }
    if (ch === '.') {
      cur = undefined;
    } else if (cur && (ch === prevCh || (/[0-9]/.test(ch) && Number(ch) === Number(prevCh) + 1))) {
      cur.end += PAGE;
    } else {
      cur = pageRecord(ch, page);
      out.push(cur);
    }
    prevCh = ch;
    page++;
  }
  return out;
}

function letterOf(r: RegionRecord, page: number): string {
  if (r.backing.type === 'object') return String(r.backing.offset / PAGE + (page - r.start / PAGE));
  for (const [ch, l] of Object.entries(LETTERS)) if (l.prot === r.prot && l.kind === r.kind) return ch;
  return '?';
}

/** Draws regions over `pages` pages in the same notation. */
export function drawRegions(regions: Iterable<RegionRecord>, pages: number): string {
  let out = '';
  let page = 0;
  let prevEnd = -1;
  for (const r of regions) {
    const first = r.start / PAGE;
    for (; page < first; page++) out += '.';
    if (r.start === prevEnd) out += '|';
    for (; page < r.end / PAGE; page++) out += letterOf(r, page);
    prevEnd = r.end;
  }
  for (; page < pages; page++) out += '.';
  return out;
}

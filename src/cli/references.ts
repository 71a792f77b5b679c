/**
 * References for `vmsim policy`, as course tools take them: page numbers ("7,0,1,2w"), or
 * virtual addresses with a page size ("0x7ffd1234 W", one a line), from the command line, a
 * file or standard input; or random pages from a seed as OSTEP's paging-policy.py makes them.
 */
import { PythonRandom } from './python-random.js';

/** Parsed references: each one's page number and whether it writes; `hex` when the input wrote numbers in hex. */
export interface References {
  pages: number[];
  writes: boolean[];
  hex: boolean;
}

/** Why an item is not a reference: thrown as an Error whose message names the item and its position. */
export class ReferenceSyntaxError extends Error {
  override readonly name = 'ReferenceSyntaxError';
}

/**
 * Parses references separated by commas, spaces or newlines ('#' starts a comment): a number
 * (decimal or 0x hex), optionally with w/r right after it or as the next item ("0x1000 W").
 * With `pageSize`, numbers are byte addresses and the page is address / pageSize.
 */
export function parseReferences(text: string, pageSize?: number): References {
  const items = text
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .join(' ')
    .split(/[\s,;]+/)
    .filter((s) => s !== '');
  const pages: number[] = [];
  const writes: boolean[] = [];
  let hex = false;
  items.forEach((item, i) => {
    if (/^[rRwW]$/.test(item)) {
      if (pages.length === 0 || writes.length !== pages.length || (i > 0 && /[rRwW]$/.test(items[i - 1]!))) throw new ReferenceSyntaxError(`reference item #${i + 1} ${JSON.stringify(item)} follows no address`);
      writes[writes.length - 1] = item === 'w' || item === 'W';
      return;
    }
    const m = /^(0[xX][0-9a-fA-F]+|\d+)([rRwW]?)$/.exec(item);
    if (!m) throw new ReferenceSyntaxError(`reference #${pages.length + 1} ${JSON.stringify(item)} is not a ${pageSize ? 'virtual address' : 'page number'} (decimal or 0x hex, optionally followed by w for a write or r for a read)`);
    const isHex = /^0[xX]/.test(m[1]!);
    hex ||= isHex;
    const n = isHex ? parseInt(m[1]!.slice(2), 16) : Number(m[1]);
    const limit = pageSize ? 2 ** 47 : 2 ** 35;
    if (!Number.isSafeInteger(n) || n >= limit) throw new ReferenceSyntaxError(`reference #${pages.length + 1} ${JSON.stringify(item)} is beyond the ${pageSize ? '47-bit user address space' : 'largest page number of a 47-bit user space (2^35 - 1)'}`);
    pages.push(pageSize ? Math.floor(n / pageSize) : n);
    writes.push(m[2] === 'w' || m[2] === 'W');
  });
  if (pages.length === 0) throw new ReferenceSyntaxError('no references (write pages like 7,0,1,2w, or addresses with --page-size)');
  return { pages, writes, hex };
}

/** `count` random pages in [0, maxPage): OSTEP's paging-policy.py with -s seed -n count -m maxPage gives the same ones. */
export function randomReferences(count: number, maxPage: number, seed: number): References {
  const r = new PythonRandom(seed);
  const pages = Array.from({ length: count }, () => Math.floor(maxPage * r.random()));
  return { pages, writes: pages.map(() => false), hex: false };
}

/** The options of the /proc calls (format, frame visibility) and the range pagemap reads, validated. */
import { VmmError } from '../../errors.js';
import { describe } from '../../address.js';
import { hex } from '../../hex.js';
import { strictOptions } from '../../strict-options.js';
import { TASK_SIZE } from '../layout.js';

/** How a /proc call answers: the kernel's fields as an object (the default), or the file's exact text. */
export interface ProcFormatOptions {
  /** 'text': the file's bytes as Linux prints them, for diffing against the real file. */
  format?: 'text';
}

/** Options of pagemap(). */
export interface PagemapOptions {
  /** 'entries': decoded entries instead of the raw 64-bit words. */
  format?: 'entries';
  /** Show frame numbers and swap locations (default true, as for a reader with CAP_SYS_ADMIN; false zeroes them, as for other readers). */
  pfn?: boolean;
}

/** True for { format: 'text' }; EINVAL for unknown options or formats. */
export function procFormat(options: unknown, op: string): boolean {
  strictOptions(options, `${op} options`, ['format']);
  const f = (options as ProcFormatOptions | undefined)?.format;
  if (f !== undefined && f !== 'text') throw new VmmError('EINVAL', `${op}: format must be 'text' (or left out for the fields), got ${describe(f)}`);
  return f === 'text';
}

/** Most pages one pagemap() call reads (2^24 pages: 64 GiB of address space, a 128 MiB answer); read larger ranges in pieces. */
export const PAGEMAP_MAX_PAGES = 2 ** 24;

/** The first page and page count pagemap(addr, pages) reads (`addr` already a user address number), and its options; EINVAL naming the bad argument. */
export function pagemapRange(a: number, pages: unknown, options: unknown): { first: number; pages: number; entries: boolean; pfn: boolean } {
  if (typeof pages !== 'number' || !Number.isSafeInteger(pages) || pages < 0 || pages > PAGEMAP_MAX_PAGES) {
    throw new VmmError('EINVAL', `pagemap: pages must be an integer from 0 to ${PAGEMAP_MAX_PAGES}, got ${describe(pages)}`);
  }
  const first = Math.floor(a / 4096);
  if (a < 0 || (first + pages) * 4096 > TASK_SIZE) throw new VmmError('EINVAL', `pagemap: [${hex(a)}, +${pages} pages) is not inside user space (below ${hex(TASK_SIZE)})`);
  strictOptions(options, 'pagemap options', ['format', 'pfn']);
  const o = (options ?? {}) as PagemapOptions;
  if (o.format !== undefined && o.format !== 'entries') throw new VmmError('EINVAL', `pagemap: format must be 'entries' (or left out for the raw words), got ${describe(o.format)}`);
  if (o.pfn !== undefined && typeof o.pfn !== 'boolean') throw new VmmError('EINVAL', `pagemap: pfn must be a boolean, got ${describe(o.pfn)}`);
  return { first, pages, entries: o.format === 'entries', pfn: o.pfn ?? true };
}

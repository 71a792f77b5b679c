/** Reference strings as textbooks write them: "7,0,1,2w,0" — page numbers, `w` marking a write. */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';

/** A parsed reference string. */
export interface ReferenceString {
  /** Page number of each reference. */
  pages: number[];
  /** Whether each reference writes. */
  writes: boolean[];
}

/** Largest page number accepted (the user half of a 48-bit space holds 2^35 pages). */
const MAX_PAGE = 2 ** 35 - 1;

/** Parses "7,0,1,2w" (commas or whitespace between references); EINVAL names the bad item. */
export function parseReferenceString(text: unknown): ReferenceString {
  if (typeof text !== 'string') throw new VmmError('EINVAL', `reference string must be a string like "7,0,1,2w", got ${describe(text)}`);
  const items = text.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0) throw new VmmError('EINVAL', 'reference string is empty (write pages like "7,0,1,2w")');
  const pages: number[] = [];
  const writes: boolean[] = [];
  items.forEach((item, i) => {
    const m = /^(\d+)([wWrR]?)$/.exec(item);
    const page = m ? Number(m[1]) : NaN;
    if (!m || page > MAX_PAGE) throw new VmmError('EINVAL', `reference #${i + 1} ${JSON.stringify(item)} is not a page number (0 to ${MAX_PAGE}, optionally followed by w for a write)`);
    pages.push(page);
    writes.push(m[2] === 'w' || m[2] === 'W');
  });
  return { pages, writes };
}

/** formatMaps prints addresses as Linux's show_map_vma does: lowercase hex, at least 8 digits. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatMaps } from '../../src/vmm/maps-format.js';
import { propertyOptions } from '../property-options.js';

describe('formatMaps', () => {
  it('prints every 47-bit page address exactly (split into 32-bit halves internally)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 35 - 2 }), fc.integer({ min: 1, max: 4 }), (page, pages) => {
        const start = page * 4096;
        const end = start + pages * 4096;
        const line = formatMaps([{ start, end, prot: 3, kind: 'mmap', shared: false, backing: { type: 'anonymous' }, flags: 0, anon: 0 }], () => undefined);
        expect(line).toBe(`${start.toString(16).padStart(8, '0')}-${end.toString(16).padStart(8, '0')} rw-p 00000000 00:00 0 \n`);
      }),
      propertyOptions(500),
    );
    expect(formatMaps([], () => undefined)).toBe('');
  });
});

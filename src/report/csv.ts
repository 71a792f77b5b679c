/** CSV output (RFC 4180 quoting, '\n' line ends) and the flattening of a nested result into one row. */

/** What a CSV field may hold; null and undefined are empty fields. */
export type CsvCell = string | number | boolean | null | undefined;

/** A scalar a flattened object holds. */
export type FlatValue = string | number | boolean | null;

function field(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: the header line, then one line per row, each ending in '\n'; fields with , " CR or LF are quoted. */
export function toCsv(header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<CsvCell>>): string {
  return [header, ...rows].map((r) => r.map(field).join(',') + '\n').join('');
}

/** Nested plain objects and arrays as one level with dotted keys: { levels: [{ hits: 1 }] } → { 'levels.0.hits': 1 }. Throws a TypeError on a cycle. */
export function flattenObject(obj: object, prefix = ''): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  walk(obj, prefix, out, new Set());
  return out;
}

function walk(obj: object, prefix: string, out: Record<string, FlatValue>, open: Set<object>): void {
  if (open.has(obj)) throw new TypeError(`flattenObject: ${prefix || 'the object'} refers back to itself`);
  open.add(obj);
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (typeof v === 'bigint') out[key] = v.toString();
    // Dates would otherwise vanish (they have no own enumerable keys).
    else if (v instanceof Date) out[key] = Number.isNaN(v.getTime()) ? null : v.toISOString();
    else walk(v as object, key, out, open);
  }
  open.delete(obj);
}

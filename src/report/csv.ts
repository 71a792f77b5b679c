/** CSV output (RFC 4180 quoting) and the flattening of a nested result into one row. */

type Cell = string | number | boolean | null | undefined;

function field(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: the header line, then one line per row, each ending in '\n'. */
export function toCsv(header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<Cell>>): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\n') + '\n';
}

/** Nested plain objects and arrays as one level with dotted keys: { tlb: { hits: 1 } } → { 'tlb.hits': 1 }. */
export function flattenObject(obj: object, prefix = ''): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object') Object.assign(out, flattenObject(v as object, key));
    else if (v !== undefined && typeof v !== 'function') out[key] = v as string | number | boolean | null;
  }
  return out;
}

/**
 * A row as it travels through the queue: JSON, with the numbers JSON has no form for (NaN,
 * ±Infinity, -0) carried as {"$num": "NaN"} so the gathered row is the very object a local
 * sweep returns, not a copy with nulls in their place.
 */

/** The text form of `value` (plain data). */
export function encodeRow(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $num: Object.is(v, -0) ? '-0' : String(v) } : v));
}

/** The value `encodeRow` was given. */
export function decodeRow(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === '$num' && typeof (v as { $num: unknown }).$num === 'string') return Number((v as { $num: string }).$num);
    }
    return v;
  });
}

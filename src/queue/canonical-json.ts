/**
 * Canonical JSON: the same data always gives the same text (object keys sorted, undefined
 * members left out, as JSON.stringify leaves them out), so a configuration can be hashed.
 * Only plain data is allowed: a function, a class instance, a bigint or a non-finite number
 * has no JSON form another process could rebuild, so it is refused rather than lost.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';

/** The canonical JSON text of `value`; VmmError EINVAL naming the path (`arg`) of anything that is not plain data. */
export function canonicalJson(value: unknown, arg = 'value'): string {
  return write(value, arg, new Set());
}

function write(v: unknown, at: string, open: Set<object>): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new VmmError('EINVAL', `${at} must be a finite number, got ${String(v)}`);
    return JSON.stringify(v);
  }
  if (typeof v !== 'object') throw new VmmError('EINVAL', `${at} must be plain data (JSON), got ${describe(v)}`);
  if (open.has(v)) throw new VmmError('EINVAL', `${at} refers to itself`);
  open.add(v);
  try {
    if (Array.isArray(v)) return `[${v.map((x, i) => (x === undefined ? 'null' : write(x, `${at}[${i}]`, open))).join(',')}]`;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new VmmError('EINVAL', `${at} must be plain data (JSON), got ${describe(v)}`);
    const keys = Object.keys(v).sort();
    const parts: string[] = [];
    for (const k of keys) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      parts.push(`${JSON.stringify(k)}:${write(x, `${at}.${k}`, open)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    open.delete(v);
  }
}

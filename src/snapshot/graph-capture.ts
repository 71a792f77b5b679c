/**
 * Captures an object graph as a GraphImage: each reachable object once (identity and cycles
 * kept), buffers copied, classes by their registered names. What cannot be captured — an object
 * of an unregistered class, a closure nobody rebuilds, an accessor — stops it with the path
 * from the root, so a forgotten piece of state is an error, never a silent omission.
 */
import type { GraphImage, ObjRec, Val } from './graph-image.js';
import { classOf, constantName, isPlainClosure } from './class-registry.js';
import { SnapshotError } from './snapshot-error.js';

/** Objects captured as special records (the core): object → kind. */
export type Specials = ReadonlyMap<object, string>;

const TYPED = new Set(['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array']);

/** The graph reachable from `root` (the root's name in error paths: `rootName`). */
export function captureGraph(root: object, specials: Specials, rootName = 'machine'): GraphImage {
  const ids = new Map<object, number>();
  const objects: ObjRec[] = [];
  const blobs: Uint8Array[] = [];
  const kept: GraphImage['kept'] = [];
  // Where each object was first met, for the path in an error.
  const parent: number[] = [];
  const via: string[] = [];
  const queue: object[] = [];
  let current = -1;
  let currentKey = '';

  const path = (id: number, key?: string): string => {
    const parts: string[] = key === undefined ? [] : [key];
    for (let i = id; i >= 0; i = parent[i]!) parts.unshift(i === 0 ? rootName : via[i]!);
    return parts.join('');
  };
  const fail = (what: string): never => {
    throw new SnapshotError('EINVAL', `cannot capture ${path(current, currentKey)}: ${what}`);
  };
  const ref = (o: object): Val => {
    let id = ids.get(o);
    if (id === undefined) {
      id = objects.length;
      ids.set(o, id);
      objects.push(null as unknown as ObjRec);
      parent.push(current);
      via.push(currentKey);
      queue.push(o);
    }
    return { r: id };
  };
  const val = (v: unknown): Val => {
    switch (typeof v) {
      case 'number':
        if (Number.isFinite(v) && !Object.is(v, -0)) return v;
        return { n: Object.is(v, -0) ? '-0' : (String(v) as 'NaN' | 'Infinity' | '-Infinity') };
      case 'string':
      case 'boolean':
        return v;
      case 'undefined':
        return { u: 0 };
      case 'bigint':
        return { b: v.toString() };
      case 'symbol':
      case 'function': {
        const name = constantName(v);
        if (name === undefined) fail(typeof v === 'function' ? `a function (${(v as { name?: string }).name || 'anonymous'}) that no rule rebuilds` : `a symbol (${String(v)}) that is not a registered constant`);
        return { k: name! };
      }
      default: {
        if (v === null) return null;
        const name = constantName(v);
        if (name !== undefined) return { k: name };
        return ref(v as object);
      }
    }
  };

  ref(root);
  for (let id = 0; id < queue.length; id++) {
    const o = queue[id]!;
    current = id;
    currentKey = '';
    objects[id] = record(o);
  }
  return { objects, root: 0, blobs, kept };

  function record(o: object): ObjRec {
    const kind = specials.get(o);
    if (kind !== undefined) return { t: 'x', c: kind, v: null };
    if (Array.isArray(o)) {
      const v: Val[] = new Array(o.length);
      for (let i = 0; i < o.length; i++) {
        currentKey = `[${i}]`;
        v[i] = i in o ? val(o[i]) : { h: 0 };
      }
      return { t: 'a', v };
    }
    if (o instanceof Map) {
      const v: Val[] = [];
      let i = 0;
      for (const [k, x] of o) {
        currentKey = `<key ${i}>`;
        v.push(val(k));
        currentKey = `.get(${typeof k === 'object' ? `<key ${i}>` : String(k)})`;
        v.push(val(x));
        i++;
      }
      return { t: 'm', v };
    }
    if (o instanceof Set) {
      const v: Val[] = [];
      let i = 0;
      for (const x of o) {
        currentKey = `<member ${i++}>`;
        v.push(val(x));
      }
      return { t: 's', v };
    }
    if (o instanceof ArrayBuffer || o instanceof SharedArrayBuffer) {
      blobs.push(new Uint8Array(o).slice());
      return { t: o instanceof ArrayBuffer ? 'ab' : 'sab', d: blobs.length - 1 };
    }
    if (ArrayBuffer.isView(o)) {
      const c = o.constructor.name;
      if (!TYPED.has(c)) fail(`a ${c} (only typed arrays are captured)`);
      const t = o as Uint8Array;
      currentKey = '.buffer';
      const b = (ref(t.buffer) as { r: number }).r;
      return { t: 'ta', c, b, o: t.byteOffset, l: t.length };
    }
    const proto = Object.getPrototypeOf(o) as object | null;
    let cls: string;
    let skip: readonly string[] = [];
    let keep: ((o: object, field: string, value: unknown) => boolean) | undefined;
    if (proto === Object.prototype) cls = 'Object';
    else if (proto === null) cls = '';
    else {
      const e = classOf(proto);
      if (!e) fail(`an object of class ${(proto as { constructor?: { name?: string } }).constructor?.name ?? '?'} that snapshots do not know (only vmsim's own objects are captured)`);
      cls = e!.name;
      e!.rule.check?.(o, path(current));
      skip = e!.rule.skip ?? [];
      keep = e!.rule.keep;
    }
    const f: Array<[string, Val]> = [];
    for (const key of Reflect.ownKeys(o)) {
      currentKey = `.${String(key)}`;
      if (typeof key === 'symbol') fail('a symbol-keyed field');
      const k = key as string;
      if (skip.includes(k)) continue;
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      if (d.get || d.set) fail('an accessor property');
      if (typeof d.value === 'function' && cls === 'Object' && isPlainClosure(k)) continue;
      if (keep?.(o, k, d.value)) {
        kept.push({ value: d.value, path: path(current, currentKey) });
        f.push([k, { f: kept.length - 1 }]);
        continue;
      }
      f.push([k, val(d.value)]);
    }
    return { t: 'o', c: cls, f };
  }
}

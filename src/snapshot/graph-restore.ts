/**
 * Builds a new, independent object graph from a GraphImage: objects are made from their
 * classes' prototypes (no constructor runs: the captured fields are the state), buffers are
 * fresh copies of the blobs, special records (the core) are made last from the rest of the
 * graph, then each class's rebuild hook remakes its caches and closures.
 */
import type { GraphImage, Val } from './graph-image.js';
import { classNamed, constantNamed, type RestoreContext } from './class-registry.js';
import { SnapshotError } from './snapshot-error.js';

/** Makes a special object (kind as captured) once the rest of the graph exists. */
export type MakeSpecial = (kind: string, root: object) => object;

const TYPED: Record<string, new (b: ArrayBufferLike, o: number, l: number) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

const bad = (what: string): never => {
  throw new SnapshotError('EINVAL', `the snapshot's state is malformed: ${what}`);
};

/** The restored root. */
export function restoreGraph(img: GraphImage, makeSpecial: MakeSpecial): object {
  const n = img.objects.length;
  const made: unknown[] = new Array(n);
  const rebuilds: Array<[object, (o: object, ctx: RestoreContext) => void]> = [];
  const specials: number[] = [];
  // Phase 1: every object, empty (typed arrays after their buffers).
  for (let id = 0; id < n; id++) {
    const r = img.objects[id]!;
    switch (r.t) {
      case 'o':
        if (r.c === 'Object') made[id] = {};
        else if (r.c === '') made[id] = Object.create(null);
        else {
          const e = classNamed(r.c);
          made[id] = Object.create(e.proto);
          if (e.rule.rebuild) rebuilds.push([made[id] as object, e.rule.rebuild]);
        }
        break;
      case 'a':
        made[id] = new Array(r.v.length);
        break;
      case 'm':
        made[id] = new Map();
        break;
      case 's':
        made[id] = new Set();
        break;
      case 'ab':
      case 'sab': {
        const blob = img.blobs[r.d] ?? bad(`blob ${r.d} is missing`);
        const buf = r.t === 'ab' ? new ArrayBuffer(blob.length) : new SharedArrayBuffer(blob.length);
        new Uint8Array(buf).set(blob);
        made[id] = buf;
        break;
      }
      case 'x':
        made[id] = {};
        specials.push(id);
        break;
      case 'ta':
        break;
      default:
        bad(`object ${id} has an unknown type`);
    }
  }
  for (let id = 0; id < n; id++) {
    const r = img.objects[id]!;
    if (r.t !== 'ta') continue;
    const C = TYPED[r.c] ?? bad(`typed array type ${r.c}`);
    const buf = made[r.b];
    if (!(buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer)) bad(`typed array ${id} has no buffer`);
    made[id] = new C(buf as ArrayBufferLike, r.o, r.l);
  }
  // Phase 2: fields and members; references to special objects are patched once those exist.
  const specialIds = new Set(specials);
  const patches: Array<[id: number, target: Record<string | number, unknown>, key: string | number]> = [];
  const get = (v: Val, target?: Record<string | number, unknown>, key?: string | number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if ('r' in v) {
      if (!(v.r >= 0 && v.r < n)) bad(`reference ${v.r}`);
      if (specialIds.has(v.r)) {
        if (!target) bad('a special object inside a map or set');
        patches.push([v.r, target!, key!]);
      }
      return made[v.r];
    }
    if ('n' in v) return v.n === '-0' ? -0 : Number(v.n);
    if ('u' in v) return undefined;
    if ('b' in v) return BigInt(v.b);
    if ('k' in v) return constantNamed(v.k);
    if ('f' in v) return v.f >= 0 && v.f < img.kept.length ? img.kept[v.f]!.value : bad(`kept value ${v.f}`);
    return bad('a value of unknown form');
  };
  for (let id = 0; id < n; id++) {
    const r = img.objects[id]!;
    const o = made[id] as Record<string | number, unknown>;
    switch (r.t) {
      case 'o':
        for (const [k, v] of r.f) Object.defineProperty(o, k, { value: get(v, o, k), writable: true, enumerable: true, configurable: true });
        break;
      case 'a':
        r.v.forEach((v, i) => {
          if (!(v !== null && typeof v === 'object' && 'h' in v)) o[i] = get(v, o, i);
        });
        break;
      case 'm': {
        const m = made[id] as Map<unknown, unknown>;
        for (let i = 0; i < r.v.length; i += 2) m.set(get(r.v[i]!), get(r.v[i + 1]!));
        break;
      }
      case 's': {
        const s = made[id] as Set<unknown>;
        for (const v of r.v) s.add(get(v));
        break;
      }
    }
  }
  const root = made[img.root] as object;
  // Phase 3: the special objects, then the references to them.
  for (const id of specials) {
    const r = img.objects[id] as { c: string };
    made[id] = makeSpecial(r.c, root);
  }
  for (const [id, target, key] of patches) target[key] = made[id];
  // Phase 4: caches and closures.
  const ctx: RestoreContext = { root };
  for (const [o, rebuild] of rebuilds) rebuild(o, ctx);
  return root;
}

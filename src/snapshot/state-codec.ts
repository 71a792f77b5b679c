/**
 * The STATE section: the machine's object graph and the core's numbers as one JSON document,
 * followed by the binary blobs it names by index (typed arrays' buffers, reference counts,
 * hierarchy arrays).
 */
import type { GraphImage, ObjRec } from './graph-image.js';
import type { CpuImage } from './core-image.js';
import { SnapshotError } from './snapshot-error.js';

/** The core's numbers (its RAM is in the pages). */
export interface CoreNumbers {
  readonly backend: 'native' | 'js';
  readonly memoryBytes: number;
  readonly refs: Uint32Array;
  readonly used?: Uint32Array;
  readonly selected: number;
  readonly cpus: readonly CpuImage[];
}

interface StateJson {
  graph: { objects: ObjRec[]; root: number; blobs: number[] };
  core: {
    backend: 'native' | 'js';
    memoryBytes: number;
    selected: number;
    refs: number;
    used: number | null;
    cpus: Array<{ root: number; tag: number; pending: number; hier: Array<number | null> | null }>;
  };
}

/** The payload of the STATE section. */
export function encodeState(graph: GraphImage, core: CoreNumbers): Uint8Array {
  const blobs: Uint8Array[] = [...graph.blobs];
  const blob = (a: ArrayBufferView): number => blobs.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) - 1;
  const json: StateJson = {
    graph: { objects: graph.objects, root: graph.root, blobs: [] },
    core: {
      backend: core.backend,
      memoryBytes: core.memoryBytes,
      selected: core.selected,
      refs: blob(core.refs),
      used: core.used ? blob(core.used) : null,
      cpus: core.cpus.map((c) => ({ root: c.root, tag: c.tag, pending: c.pending, hier: c.hier ? c.hier.map((d) => (d ? blob(d) : null)) : null })),
    },
  };
  json.graph.blobs = blobs.slice(0, graph.blobs.length).map((b) => b.length);
  const sizes = blobs.map((b) => b.length);
  const text = Buffer.from(JSON.stringify({ ...json, sizes }), 'utf8');
  const out = new Uint8Array(4 + text.length + sizes.reduce((a, b) => a + b, 0));
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 4);
  let at = 4 + text.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** The graph and core numbers of a STATE payload. */
export function decodeState(p: Uint8Array, path: string): { graph: GraphImage; core: CoreNumbers } {
  const bad = (why: string): never => {
    throw new SnapshotError('EIO', `${path}: its state is malformed (${why})`);
  };
  if (p.length < 4) bad('too short');
  const n = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0, true);
  if (n > p.length - 4) bad('its JSON runs past the end');
  let json: StateJson & { sizes: number[] };
  try {
    json = JSON.parse(Buffer.from(p.buffer, p.byteOffset + 4, n).toString('utf8')) as StateJson & { sizes: number[] };
  } catch (e) {
    return bad(`JSON: ${(e as Error).message}`);
  }
  const blobs: Uint8Array[] = [];
  let at = 4 + n;
  for (const size of json.sizes ?? bad('no blob sizes')) {
    if (!Number.isSafeInteger(size) || size < 0 || size > p.length - at) bad('a blob runs past the end');
    blobs.push(new Uint8Array(p.subarray(at, at + size)));
    at += size;
  }
  const blobAt = (i: unknown): Uint8Array => (typeof i === 'number' && blobs[i] ? blobs[i]! : bad(`blob ${String(i)}`));
  const u32 = (i: unknown) => {
    const b = blobAt(i);
    return new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
  };
  const f64 = (i: unknown) => {
    const b = blobAt(i);
    return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const c = json.core;
  const graphBlobs = json.graph.blobs.length;
  return {
    graph: { objects: json.graph.objects, root: json.graph.root, blobs: blobs.slice(0, graphBlobs), kept: [] },
    core: {
      backend: c.backend,
      memoryBytes: c.memoryBytes,
      selected: c.selected,
      refs: u32(c.refs),
      ...(c.used !== null ? { used: u32(c.used) } : {}),
      cpus: c.cpus.map((x) => ({ root: x.root, tag: x.tag, pending: x.pending, hier: x.hier ? x.hier.map((d) => (d === null ? null : f64(d))) : null })),
    },
  };
}

/**
 * The object graph of a machine as plain data: every object reachable from the machine once,
 * by number, with its class's registered name and its own fields in order; buffers as byte
 * blobs; references as `{ r: id }`. It is what a Snapshot holds in memory and what a snapshot
 * file stores as JSON (docs/snapshots.md, "State").
 */

/** A field's value: a JSON number, string, boolean or null, or one of the tagged forms. */
export type Val =
  | number
  | string
  | boolean
  | null
  | { r: number } // a reference to object r
  | { n: 'NaN' | 'Infinity' | '-Infinity' | '-0' } // numbers JSON cannot hold
  | { u: 0 } // undefined
  | { b: string } // a bigint
  | { h: 0 } // an array hole
  | { k: string } // a registered constant (a module-level function, symbol or object)
  | { f: number }; // the user's code kept by reference (an in-memory snapshot's `kept` list)

/** One object of the graph. */
export type ObjRec =
  | { t: 'o'; c: string; f: Array<[string, Val]> } // an object: class name ('Object', or '' with a null prototype) and own fields
  | { t: 'a'; v: Val[] } // an Array
  | { t: 'm'; v: Val[] } // a Map: keys and values alternating
  | { t: 's'; v: Val[] } // a Set
  | { t: 'ab' | 'sab'; d: number } // an ArrayBuffer / SharedArrayBuffer: blob d
  | { t: 'ta'; c: string; b: number; o: number; l: number } // a typed array: constructor name, buffer object, byte offset, length
  | { t: 'x'; c: string; v: Val }; // a special object (the core): kind and its data

/** The graph: records by id, the root's id, and the blobs. */
export interface GraphImage {
  readonly objects: ObjRec[];
  readonly root: number;
  readonly blobs: Uint8Array[];
  /** The user's callbacks (ClassRule.keep) with the path where each was met: an in-memory snapshot shares them; a file cannot hold them. */
  readonly kept: Array<{ value: unknown; path: string }>;
}

/**
 * What a snapshot may capture: vmsim's own classes by a stable name, each with its rule (the
 * fields that are caches or closures, rebuilt after a restore; a check that refuses what
 * cannot be captured), and the module-level constants (functions, symbols) that state may
 * point at. Each stateful component registers itself here (src/snapshot/machine-classes.ts);
 * an object of a class that is not registered stops a capture with its path, so state added
 * later cannot be left out silently (test/snapshot/graph-coverage.test.ts).
 */
import { SnapshotError } from './snapshot-error.js';

/** What a rebuild hook may use: the restored machine (the graph's root). */
export interface RestoreContext {
  readonly root: object;
}

/** How one class is captured and restored. */
export interface ClassRule<T extends object = object> {
  /** Own fields not captured: caches (rebuilt empty) and closures (made again by rebuild). */
  readonly skip?: readonly string[];
  /** Fields whose value is the user's code (a callback): kept by reference by an in-memory snapshot (shared with the original), refused by a file. */
  keep?(o: T, field: string, value: unknown): boolean;
  /** Throws a SnapshotError when the object cannot be captured (a plug-in's code inside it). */
  check?(o: T, path: string): void;
  /** Run on each restored object once the whole graph is in place (the core included), in capture order. */
  rebuild?(o: T, ctx: RestoreContext): void;
}

interface Entry {
  readonly name: string;
  readonly proto: object;
  readonly rule: ClassRule;
}

const byProto = new Map<object, Entry>();
const byName = new Map<string, Entry>();
const constantsByValue = new Map<unknown, string>();
const constantsByName = new Map<string, unknown>();
const plainClosures = new Set<string>();

/** Registers a class whose instances may be captured (name: stable across versions, for files). */
export function snapshotClass<T extends object>(ctor: abstract new (...args: never[]) => T, rule: ClassRule<T> = {}, name: string = ctor.name): void {
  const have = byName.get(name);
  if (have && have.proto !== ctor.prototype) throw new Error(`snapshot class name ${name} registered twice`);
  const e: Entry = { name, proto: ctor.prototype as object, rule: rule as ClassRule };
  byProto.set(e.proto, e);
  byName.set(name, e);
}

/** Registers a module-level value (a function, a symbol, a shared frozen object) that state may point at: captured by name, never copied. */
export function snapshotConstant(name: string, value: unknown): void {
  constantsByValue.set(value, name);
  constantsByName.set(name, value);
}

/** A closure field of plain objects (records like a resident set's config) that its owner's rebuild makes again. */
export function snapshotPlainClosure(field: string): void {
  plainClosures.add(field);
}

/** @internal The entry of an object's class, or undefined. */
export function classOf(proto: object): Entry | undefined {
  return byProto.get(proto);
}

/** @internal The entry of a class name (a file's), or a SnapshotError. */
export function classNamed(name: string): Entry {
  const e = byName.get(name);
  if (!e) throw new SnapshotError('EINVAL', `the snapshot holds an object of class ${name}, which this version of vmsim does not know`);
  return e;
}

/** @internal The constant's registered name, or undefined. */
export function constantName(v: unknown): string | undefined {
  return constantsByValue.get(v);
}

/** @internal The constant registered under `name`. */
export function constantNamed(name: string): unknown {
  if (!constantsByName.has(name)) throw new SnapshotError('EINVAL', `the snapshot names a constant ${name} that this version of vmsim does not know`);
  return constantsByName.get(name);
}

/** @internal True when plain objects' `field` is a closure its owner rebuilds. */
export function isPlainClosure(field: string): boolean {
  return plainClosures.has(field);
}

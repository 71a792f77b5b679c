/** Counts per place (a page, an instruction address): accesses, TLB misses, page walks and page faults. */

/** The events of one place. */
export interface Events {
  accesses: number;
  misses: number;
  walks: number;
  faults: number;
}

/** Events keyed by a number (a page, an instruction's address), kept as four numbers per key. */
export class EventTable {
  private readonly rows = new Map<number, Float64Array>();

  /** Adds to the row of `key`. */
  add(key: number, accesses: number, misses: number, walks: number, faults: number): void {
    let r = this.rows.get(key);
    if (!r) this.rows.set(key, (r = new Float64Array(4)));
    r[0] += accesses;
    r[1] += misses;
    r[2] += walks;
    r[3] += faults;
  }

  /** Every row, in key order. */
  entries(): Array<[number, Events]> {
    return [...this.rows.entries()].sort((a, b) => a[0] - b[0]).map(([k, r]) => [k, { accesses: r[0]!, misses: r[1]!, walks: r[2]!, faults: r[3]! }]);
  }

  get size(): number {
    return this.rows.size;
  }
}

/** The sum of `list`. */
export function sumEvents(list: Iterable<Events>): Events {
  const t = { accesses: 0, misses: 0, walks: 0, faults: 0 };
  for (const e of list) {
    t.accesses += e.accesses;
    t.misses += e.misses;
    t.walks += e.walks;
    t.faults += e.faults;
  }
  return t;
}

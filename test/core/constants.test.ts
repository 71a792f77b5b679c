/** One source of truth per language: the numbers of native/constants.h (exported by the addon) equal those of src/core/constants.ts. */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import * as C from '../../src/core/constants.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { packRecord, recordKind, recordLa, recordSize, RECORD_RESERVED_BITS } from '../../src/trace/trace-record.js';

/** The TS value named like "PTE.RW" or "TWO48". */
function tsValue(name: string): number {
  const [head, field] = name.split('.') as [string, string | undefined];
  const v = (C as Record<string, unknown>)[head];
  return (field === undefined ? v : (v as Record<string, number>)[field]) as number;
}

describe('constants', () => {
  it.skipIf(!nativeAvailable())('native/constants.h and src/core/constants.ts agree, name by name', () => {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => { constants: Record<string, number> };
    const native = nodeGypBuild(new URL('../..', import.meta.url).pathname).constants;
    const names = Object.keys(native);
    expect(names.length).toBeGreaterThan(60);
    for (const name of names) expect({ name, value: tsValue(name) }).toEqual({ name, value: native[name] });
    // And every TS table the core uses is covered by the native export.
    for (const table of ['PTE', 'Status', 'Feature', 'PFEC', 'Counter', 'Result', 'TlbFlag', 'TraceRecord', 'TlbOp'] as const) {
      for (const field of Object.keys(C[table])) if (!(table === 'PTE' && field === 'SW_SPARE')) expect(names).toContain(`${table}.${field}`);
    }
  });

  it('the trace record helpers use the record layout of constants.ts', () => {
    const R = C.TraceRecord;
    const words = new Uint32Array(2);
    packRecord(words, 0, 2 ** 48 - 8, 3, 4096);
    expect(words[1]! >>> R.RESERVED_SHIFT).toBe(0);
    expect((words[1]! >>> R.KIND_SHIFT) & R.KIND_MASK).toBe(3);
    expect(((words[1]! >>> R.SIZE_SHIFT) & R.SIZE_MASK) + 1).toBe(4096);
    expect((words[1]! & R.ADDR_HI_MASK) * 2 ** 32 + words[0]!).toBe(2 ** 48 - 8);
    expect([recordLa(words, 0), recordKind(words, 0), recordSize(words, 0)]).toEqual([2 ** 48 - 8, 3, 4096]);
    expect(RECORD_RESERVED_BITS >>> 0).toBe((~0 << R.RESERVED_SHIFT) >>> 0);
    expect(C.PAGE_SIZE).toBe(2 ** C.PAGE_SHIFT);
  });
});

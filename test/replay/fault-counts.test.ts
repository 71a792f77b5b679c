/**
 * Fault counts that reconcile: replay's page faults split by what they did (page-ins, writes to
 * zero-page or COW pages, refusals) and as Linux counts them (minor + major); the page-ins are
 * what curve (and a textbook) calls faults. `pagesTouched` split by page size.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { faultCurve, replay, runReferenceString } from '../../src/index.js';
import { formatReplaySummary } from '../../src/cli/replay-summary.js';
import { main } from '../../src/cli/main.js';
import { packRecord } from '../../src/trace/trace-record.js';
import type { ReplayResult } from '../../src/replay/replay-result.js';

const SHIPPED = 'traces/ls.lackey.gz';

/** The identities every replay's faults satisfy. */
function expectReconciled(r: ReplayResult): void {
  const f = r.faults;
  expect(f.total).toBe(f.pageIns + f.writeProtect + f.segv);
  expect(f.minor + f.major).toBe(f.pageIns + f.writeProtect);
  expect(f.cow).toBeLessThanOrEqual(f.writeProtect);
  expect(r.pagesTouchedBySize['4k'] + r.pagesTouchedBySize['2m']).toBe(r.pagesTouched);
}

async function runCli(...argv: string[]): Promise<string> {
  let out = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } });
  expect(code).toBe(0);
  return out;
}

describe.each(BACKENDS)('fault counts (%s)', (backend) => {
  it('under a resident limit: page-ins = resident.pageIns = curve\'s faults; the rest are writes to zero-page mappings', async () => {
    const r = await replay(SHIPPED, { backend, frames: 64, policy: 'lru' });
    expectReconciled(r);
    expect(r.faults.pageIns).toBe(r.resident!.pageIns);
    const c = await faultCurve(SHIPPED, { frames: [64], policies: ['lru'], backend });
    expect(c.rows[0]!.faults).toBe(r.faults.pageIns);
    // The trace reads some pages before writing them: those writes are faults that bring no page in.
    expect(r.faults.writeProtect).toBeGreaterThan(0);
    expect(r.faults.cow).toBe(0);
    expect(r.faults.total).toBe(r.faults.pageIns + r.faults.writeProtect);
  });

  it('without a limit every page comes in once: page-ins = pages touched', async () => {
    const r = await replay(SHIPPED, { backend });
    expectReconciled(r);
    expect(r.faults.pageIns).toBe(r.pagesTouched);
    expect(r.faults.major).toBe(0);
  });

  it("with pageSize '2m', pages touched are split into 2 MiB and 4 KiB pages, and each came in by one fault", async () => {
    const r = await replay(SHIPPED, { backend, pageSize: '2m' });
    expectReconciled(r);
    const { '2m': huge, '4k': small } = r.pagesTouchedBySize;
    expect(huge).toBeGreaterThan(0);
    expect(small).toBeGreaterThan(0);
    expect(r.bytesTouched).toBe(huge * 2 ** 21 + small * 4096);
    expect(r.faults.pageIns).toBe(r.pagesTouched);
  });

  it('a load, a store to the same page, and a refused access: one page-in, one write-protect fault, one SIGSEGV', async () => {
    const words = new Uint32Array(3 * 2);
    packRecord(words, 0, 0x10_0000, 0, 8); // a load: maps the zero page (a page-in)
    packRecord(words, 1, 0x10_0000, 1, 8); // a store: the zero page is replaced (no page in)
    packRecord(words, 2, 0x1000, 0, 8); // below mmap_min_addr: refused
    const r = await replay([{ words, count: 3 }], { backend });
    expect(r.faults).toEqual({ total: 3, pageIns: 1, writeProtect: 1, minor: 2, major: 0, cow: 0, segv: 1 });
  });
});

describe("replay's text reconciles with curve's", () => {
  it('prints the page-ins (curve\'s faults) and the writes to zero-page pages under the page faults', async () => {
    const text = await runCli('replay', SHIPPED, '--frames', '64', '--policy', 'lru');
    const curve = JSON.parse(await runCli('curve', SHIPPED, '--frames', '64', '--policy', 'lru', '--json')) as { rows: Array<{ faults: number }> };
    const row = (label: string) => Number(new RegExp(`${label.replace(/[()"/+]/g, '\\$&')}\\s+([\\d,]+)\\n`).exec(text)![1]!.replace(/,/g, ''));
    const total = row('page faults');
    const pageIns = row(`page-ins (curve's "faults")`);
    const writes = row('writes to zero-page/COW pages');
    expect(pageIns).toBe(curve.rows[0]!.faults);
    expect(total).toBe(pageIns + writes + row('refused (SIGSEGV)'));
    const [minor, major] = /minor \+ major \(read from swap\)\s+([\d,]+) \+ ([\d,]+)/.exec(text)!.slice(1).map((v) => Number(v.replace(/,/g, '')));
    expect(minor! + major!).toBe(pageIns + writes);
  });

  it("names the two page sizes with pageSize '2m'", async () => {
    const r = await replay(SHIPPED, { pageSize: '2m' });
    const text = formatReplaySummary(r);
    expect(text).toMatch(new RegExp(`pages touched \\(2 MiB \\+ 4 KiB\\)\\s+${r.pagesTouchedBySize['2m']} \\+ ${r.pagesTouchedBySize['4k']}\\n`));
    expect(text).not.toMatch(/pages touched \(2m\)/);
  });
});

describe('runReferenceString: faults = minorFaults + majorFaults', () => {
  it('a write to a page read before (mapped as the zero page) is not a fault, and not a minor fault either', () => {
    const r = runReferenceString('1,1w,2,2w,2', { frames: 2, policy: 'fifo' });
    expect(r.faults).toBe(2);
    expect(r.minorFaults).toBe(2);
    expect(r.majorFaults).toBe(0);
  });

  it('the written pages evicted come back as major faults; the rest are minor', () => {
    const r = runReferenceString('1w,2w,3w,1,2,3,4,4w', { frames: 2, policy: 'fifo' });
    expect(r.minorFaults + r.majorFaults).toBe(r.faults);
    expect(r.majorFaults).toBe(3);
  });
});

/**
 * The university simulators' trace format (`I|L|S|M hexaddr[,size]`, the letter at column 0
 * or after a blank, lines starting with `=` skipped) is read by the lackey parser as is, and
 * replays under memory pressure with their summary lines.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../support/temp-dir.js';
import { join } from 'node:path';
import { LackeyParser } from '../../src/trace/lackey-parser.js';
import { TraceKind } from '../../src/trace/trace-record.js';
import { main } from '../../src/cli/main.js';
import { collect, type Rec } from './helpers.js';

/** A course trace: '=' header lines, I and L at column 0 without a size, the lackey layout with sizes. */
const COURSE = ['= course trace, 4 pages', '==12== valgrind says hi', '=L 20000000', 'I 400000', 'L 10000000', 'S 10001000,4', ' M 10000000', 'L 10002000', ' L 10001008,8', 'I  00400004,3', 'L 10000000'].join('\n') + '\n';

describe('course trace format', () => {
  it('reads letters at column 0 without a size (1 byte) and skips every line starting with =', () => {
    const p = new LackeyParser();
    const records: Rec[] = [];
    collect(p.feed(Buffer.from(COURSE)), records);
    collect(p.finish(), records);
    expect(records).toEqual([
      { la: 0x400000, kind: TraceKind.INSTR, size: 1 },
      { la: 0x10000000, kind: TraceKind.LOAD, size: 1 },
      { la: 0x10001000, kind: TraceKind.STORE, size: 4 },
      { la: 0x10000000, kind: TraceKind.MODIFY, size: 1 },
      { la: 0x10002000, kind: TraceKind.LOAD, size: 1 },
      { la: 0x10001008, kind: TraceKind.LOAD, size: 8 },
      { la: 0x400004, kind: TraceKind.INSTR, size: 3 },
      { la: 0x10000000, kind: TraceKind.LOAD, size: 1 },
    ]);
    expect([p.ignoredLines, p.skipped]).toEqual([3, 0]);
  });

  it('replays with --frames and prints the summary lines (8 references, 4 pages; OPT with 2 frames misses 6 times)', async () => {
    const file = join(tempDir('course'), 'course.trace');
    writeFileSync(file, COURSE);
    let out = '';
    const code = await main(['replay', file, '--frames', '2', '--policy', 'opt', '--course-summary'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } });
    expect(code).toBe(0);
    // Pages 400,10000,10001,10000,10002,10001,400,10000 with 2 frames, Belady: 400, 10000 fault;
    // 10001 evicts 400 (used at 7th); 10000 hits; 10002 evicts 10000 (used at 8th); 10001 hits;
    // 400 and 10000 fault: 6 misses, 2 hits.
    expect(out).toMatch(/^Total references: 8$/m);
    expect(out).toMatch(/^Misses: 6$/m);
    expect(out).toMatch(/^Hits: 2$/m);
  });
});

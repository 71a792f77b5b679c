/** The progress bar: silent off a terminal, throttled by the injected clock, cleared by finish(). */
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/report/index.js';

/** A fake stream that records what was written, and a clock the test moves. */
function setup(isTTY: boolean | undefined, columns = 80) {
  const writes: string[] = [];
  const stream = { isTTY, columns, write: (s: string) => (writes.push(s), true) };
  const clock = { t: 0 };
  return { writes, stream, clock, now: () => clock.t };
}

describe('ProgressBar', () => {
  it('writes nothing at all when the stream is not a TTY', () => {
    for (const isTTY of [false, undefined]) {
      const { writes, stream, clock, now } = setup(isTTY);
      const bar = new ProgressBar({ stream, total: 10, label: 'x ', now });
      for (let i = 0; i <= 10; i++) {
        clock.t += 1000;
        bar.update(i);
      }
      bar.finish();
      expect(writes).toEqual([]);
    }
  });

  it('with elapsed, an open-ended count shows the time since the start (record: accesses so far)', () => {
    const { writes, stream, clock, now } = setup(true);
    const bar = new ProgressBar({ stream, label: 'record t.bin: ', unit: 'accesses', elapsed: true, now });
    clock.t = 12_300;
    bar.update(1_234_567);
    expect(writes).toEqual(['\rrecord t.bin: | 1,234,567 accesses, 12.3 s 100.4k accesses/s']);
  });

  it('draws label, bar, percent and rate, at most once per minIntervalMs', () => {
    const { writes, stream, clock, now } = setup(true);
    const bar = new ProgressBar({ stream, total: 10, label: 'run ', now });
    bar.update(1); // t = 0: drawn, no time has passed so no rate
    clock.t = 50;
    bar.update(2); // too soon
    clock.t = 99.9;
    bar.update(2); // still too soon
    clock.t = 100;
    bar.update(3);
    expect(writes).toEqual([
      '\rrun [' + '#'.repeat(4) + '.'.repeat(36) + ']  10%',
      '\rrun [' + '#'.repeat(12) + '.'.repeat(28) + ']  30% 30.0 units/s',
    ]);
  });

  it('honours a custom interval and unit', () => {
    const { writes, stream, clock, now } = setup(true);
    const bar = new ProgressBar({ stream, total: 4, unit: 'B', minIntervalMs: 1000, now });
    for (const t of [0, 500, 999, 1000, 1500, 2000]) {
      clock.t = t;
      bar.update(t / 500);
    }
    expect(writes.length).toBe(3);
    expect(writes[2]).toBe('\r[' + '#'.repeat(40) + '] 100% 2 B/s');
  });

  it('shows bytes in binary units (MiB/s, GiB done), never "58.4M B/s"', () => {
    const { writes, stream, clock, now } = setup(true);
    const total = new ProgressBar({ stream, total: 2 ** 32, label: 'replay ', unit: 'B', now });
    clock.t = 1000;
    total.update(58.4 * 2 ** 20);
    expect(writes.at(-1)).toMatch(/ 58\.4 MiB\/s$/);
    const open = new ProgressBar({ stream, label: 'replay ', unit: 'B', now });
    clock.t = 3000;
    open.update(3 * 2 ** 30);
    expect(writes.at(-1)).toMatch(/replay . 3\.0 GiB done 1\.5 GiB\/s/);
  });

  it('shows a spinner and "N units done" when the total is unknown, covering a longer previous line', () => {
    const { writes, stream, clock, now } = setup(true);
    const bar = new ProgressBar({ stream, label: 'scan ', now });
    clock.t = 100;
    bar.update(123_456_789);
    clock.t = 200;
    bar.update(5);
    const first = 'scan | 123,456,789 units done 1.2G units/s';
    expect(writes).toEqual(['\r' + first, '\r' + 'scan / 5 units done 25.0 units/s'.padEnd(first.length)]);
  });

  it('keeps the line shorter than the terminal so it never wraps', () => {
    const { writes, stream, clock, now } = setup(true, 30);
    const bar = new ProgressBar({ stream, total: 100, label: 'a-long-label ', now });
    clock.t = 1000;
    bar.update(50);
    expect(writes).toHaveLength(1);
    // 13 + 12 + 5 = 30 characters would reach the last column: the rate is dropped, then the end cut.
    expect(writes[0]).toBe('\ra-long-label [#####.....]  50');
    const draw = (columns: number) => {
      const w = setup(true, columns);
      const b = new ProgressBar({ stream: w.stream, total: 100, label: 'a-long-label ', now: w.now });
      w.clock.t = 1000;
      b.update(50);
      return w.writes;
    };
    // 60 columns: the bar takes what the label, percent and rate leave (59 - 13 - 2 - 5 - 13 = 26).
    expect(draw(60)).toEqual(['\ra-long-label [' + '#'.repeat(13) + '.'.repeat(13) + ']  50% 50.0 units/s']);
    // 40 columns: the rate would leave a bar under 10, so it goes and the bar keeps 19.
    expect(draw(40)).toEqual(['\ra-long-label [' + '#'.repeat(9) + '.'.repeat(10) + ']  50%']);
  });

  it('finish() clears the widest line drawn, and does nothing if nothing was drawn', () => {
    const { writes, stream, clock, now } = setup(true);
    const idle = new ProgressBar({ stream, total: 10, now });
    idle.finish();
    expect(writes).toEqual([]);

    const bar = new ProgressBar({ stream, total: 10, label: 'go ', now });
    bar.update(0);
    clock.t = 500;
    bar.update(5);
    const widest = Math.max(...writes.map((w) => w.length - 1));
    bar.finish();
    expect(writes.at(-1)).toBe('\r' + ' '.repeat(widest) + '\r');
    expect(widest).toBe('go [####################....................]  50% 10.0 units/s'.length);
    bar.finish();
    expect(writes).toHaveLength(3);
  });
});

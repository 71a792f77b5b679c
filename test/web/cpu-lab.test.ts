/**
 * The CPU view's engine (web/src/engine/cpu-lab.ts) in Node: the script's new lines (threads,
 * run, idle, madvise), the explanation of every flush request and context switch against the
 * library's own counters, the golden shootdown scenario against the library called directly,
 * and the same results on both backends.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { CpuLab } from '../../web/src/engine/cpu-lab.js';
import { parseScript, apiCall, ScriptError } from '../../web/src/engine/script.js';
import { ProcessLab } from '../../web/src/engine/process-lab.js';
import { SCENARIOS } from '../../web/src/engine/scenarios.js';
import { propertyOptions } from '../property-options.js';
import { cpuScriptArb } from '../support/cpu-scripts.js';

const BACKENDS = nativeAvailable() ? (['js', 'native'] as const) : (['js'] as const);

function lab(script: string, steps = Number.MAX_SAFE_INTEGER, backend: 'js' | 'native' = 'js'): CpuLab {
  return new CpuLab(parseScript(script), steps, backend);
}

/** Everything the view shows, as plain data. */
function observe(l: CpuLab): unknown {
  return JSON.parse(JSON.stringify({ results: l.lab.results.map((r) => [r.ok, r.message]), requests: l.requests, switches: l.switches, cpus: l.cpus(), before: l.before }));
}

describe('the script: threads, CPUs and madvise', () => {
  it('parses the new lines and shows the library call each makes', () => {
    const cmds = parseScript('machine cpus=4 ceiling=8\np1 = spawn\nt1 = thread p1\nrun cpu1 t1\nrun 0 p1\nidle 1\nmadvise p1 0x1000 4K MADV_DONTNEED\nexit t1\nexit p1');
    expect(cmds[0]).toMatchObject({ op: 'machine', options: { cpus: 4, shootdown: { ceiling: 8 } } });
    expect(cmds.slice(2).map(apiCall)).toEqual([
      'const t1 = p1.createThread()',
      'machine.cpu(1).run(t1)',
      'machine.cpu(0).run(p1)',
      'machine.cpu(1).idle()',
      "p1.madvise(0x1000, 4096, 'dontneed')",
      't1.exit()',
      'p1.destroy()',
    ]);
  });

  it.each([
    ['machine cpus=9', /line 1: cpus= must be 1 to 8/],
    ['machine cpus=0', /cpus= must be 1 to 8/],
    ['machine ceiling', /machine takes memory=, swap=, zswap, tlb=, cpus= and ceiling=, not "ceiling"/],
    ['p1 = spawn\nt1 = thread p1\nmunmap t1 0x1000 4K', /line 3: t1 is a thread: munmap is a call of its process/],
    ['p1 = spawn\nt1 = thread p1\nt2 = thread t1', /line 3: t1 is a thread/],
    ['p1 = spawn\nt1 = thread p1\nt1 = fork p1\nmunmap t1 0x1000 4K', null],
    ['run x p1', /expected a CPU number like 0 or cpu1, got "x"/],
    ['idle', /expected a CPU number/],
    ['madvise p1 0x1000 4K pageout', /madvise takes dontneed, free or cold, got "pageout"/],
    ['p1 = thread', /expected a process name/],
  ])('refuses %j with a message naming the line', (script, message) => {
    if (message === null) expect(() => parseScript(script)).not.toThrow();
    else expect(() => parseScript(script)).toThrow(ScriptError), expect(() => parseScript(script)).toThrow(message);
  });

  it("reports the library's errors as failed lines and goes on", () => {
    const l = new ProcessLab(parseScript('machine cpus=2\np1 = spawn\nt1 = thread p1\nrun 5 p1\nrun 0 t1\nrun 1 t1\np1 = spawn\nt9 = thread p1\np9 = spawn\np9 = thread p1\nexit t1\nwrite t1 0x1000\nexit t1'), Number.MAX_SAFE_INTEGER);
    try {
      expect(l.results.map((r) => [r.command.text, r.ok, r.message])).toEqual([
        ['machine cpus=2', true, '4096 frames of 4 KiB, 2 CPUs'], // 16 MiB unless the line says otherwise
        ['p1 = spawn', true, 'pid 1'],
        ['t1 = thread p1', true, 'thread 2 of p1'],
        ['run 5 p1', false, 'VmmError: EINVAL: cpu index must be an integer in [0, 1], got 5'],
        ['run 0 t1', true, 'CPU 0 runs t1'],
        ['run 1 t1', false, 'VmmError: EBUSY: the task runs on CPU 0 already: one task runs on one CPU at a time (idle that CPU first)'],
        ['p1 = spawn', false, 'VmmError: EEXIST: p1 exists already'],
        ['t9 = thread p1', true, 'thread 3 of p1'],
        ['p9 = spawn', true, 'pid 2'],
        ['p9 = thread p1', false, 'VmmError: EEXIST: p9 is a process'],
        ['exit t1', true, 'thread 2 exited; CPU 0 idle, p1 stays loaded (lazy)'],
        ['write t1 0x1000', false, 'VmmError: ESRCH: thread 2 has exited'],
        ['exit t1', false, 'VmmError: ESRCH: thread 2 has exited already'],
      ]);
    } finally {
      l.dispose();
    }
  });
});

describe('the golden shootdown: 4 threads on 4 CPUs', () => {
  const script = SCENARIOS.cpus[0]!.script;
  const munmap10 = parseScript(script).findIndex((c) => c.text.startsWith('munmap p1 0x108000'));

  it.each(BACKENDS)('munmap of 10 pages: 3 IPIs and 10 INVLPGs on each CPU; of 40 pages: a full flush on each (%s)', (backend) => {
    const l = lab(script, munmap10 + 2, backend);
    try {
      const [ten, forty] = [l.eventsOf(munmap10).requests, l.eventsOf(munmap10 + 1).requests];
      expect(ten).toHaveLength(1);
      expect(ten[0]).toMatchObject({ mm: 'p1', initiator: 0, pages: 10, full: false, freedTables: false });
      expect(ten[0]!.cpus.map((o) => [o.decision, o.invlpg, o.fullFlush])).toEqual([['local', 10, false], ['ipi', 10, false], ['ipi', 10, false], ['ipi', 10, false]]);
      expect(forty[0]).toMatchObject({ pages: 40, full: true });
      expect(forty[0]!.cpus.map((o) => [o.decision, o.invlpg, o.fullFlush])).toEqual([['local', 0, true], ['ipi', 0, true], ['ipi', 0, true], ['ipi', 0, true]]);
      // The cost model term by term: ipiSend + 2 × ipiPerTarget + the slowest handler + the initiator's own flush.
      expect(ten[0]!.cost.terms.map(([, n]) => n)).toEqual([1000, 400, 1500 + 10 * 250, 10 * 250]);
      expect(ten[0]!.cost.total).toBe(7900);
      expect(forty[0]!.cost.terms.map(([, n]) => n)).toEqual([1000, 400, 1500 + 300, 300]);
    } finally {
      l.dispose();
    }
  });

  it.each(BACKENDS)("each CPU's counters are what the library gives for the same calls made directly (%s)", (backend) => {
    using m = new Machine({ cpus: 4, memory: '16MiB', backend });
    const p = m.createAddressSpace({ stack: false });
    p.mmap({ addr: 0x100000, length: 256 * 1024, prot: 'rw', fixed: true });
    const [t1, t2, t3] = [p.createThread(), p.createThread(), p.createThread()];
    m.cpu(0).run(p);
    [t1, t2, t3].forEach((t, i) => m.cpu(i + 1).run(t));
    const touch = (t: { read(a: number, n: number): unknown }, from: number, pages: number) => {
      for (let k = 0; k < pages; k++) t.read(from + k * 4096, 1);
    };
    for (let k = 0; k < 64; k++) p.write(0x100000 + k * 4096, [(k & 0xff) || 1]);
    touch(t1, 0x104000, 16);
    touch(t2, 0x110000, 4);
    touch(t3, 0x120000, 4);
    p.munmap(0x108000, 10 * 4096);
    p.munmap(0x114000, 40 * 4096);
    touch(t1, 0x104000, 4);
    const l = lab(script, Number.MAX_SAFE_INTEGER, backend);
    try {
      expect(l.cpus().map((c) => c.stats)).toEqual([0, 1, 2, 3].map((i) => m.cpu(i).stats()));
    } finally {
      l.dispose();
    }
  });
});

describe('the explanations agree with the counters', () => {
  it('the lazy scenario: a lazy CPU and a CPU running another process are skipped until page tables are freed', () => {
    const cmds = parseScript(SCENARIOS.cpus[1]!.script);
    const l = lab(SCENARIOS.cpus[1]!.script);
    try {
      // The last line that starts so (the scenario runs t2 on CPU 2 twice).
      const at = (prefix: string) => l.eventsOf(cmds.map((c) => c.text.startsWith(prefix)).lastIndexOf(true));
      const one = at('munmap p1 0x100000 4K').requests[0]!;
      expect(one.cpus.map((o) => o.decision)).toEqual(['local', 'ipi', 'lazy-skipped', 'other-mm-skipped']);
      expect(one.cpus[2]!.rule).toBe('should_flush_tlb (is_lazy)');
      const freed = at('munmap p1 0x400000').requests[0]!;
      expect(freed.freedTables).toBe(true);
      expect(freed.cpus.map((o) => [o.decision, o.toInitMm, o.leftMask])).toEqual([['local', false, false], ['ipi', false, false], ['ipi', true, false], ['ipi', false, true]]);
      const back = at('run 2 t2').switches;
      expect(back.map((s) => [s.cpu, s.from, s.to, s.flushed])).toEqual([[2, 'init_mm', 'p1', true]]);
      expect(back[0]!.why).toMatch(/slot is behind \(tlb_gen 0 < 2\)/);
    } finally {
      l.dispose();
    }
  });

  it('seven processes on one CPU: once the six ASIDs are taken, every switch flushes and names the slot it takes', () => {
    const l = lab(SCENARIOS.cpus[3]!.script);
    try {
      const sw = l.switches.map((s) => [l.commands[s.line]!.text.replace(/\s*#.*/, ''), s.asid, s.flushed]);
      expect(sw).toEqual([
        ['run 0 p1', 1, true],
        ['run 0 p2', 2, true],
        ['run 0 p3', 3, true],
        ['run 0 p4', 4, true],
        ['run 0 p5', 5, true],
        ['run 0 p1', 1, false],
        ['run 0 p6', 0, true],
        ['run 0 p7', 1, true],
        ['run 0 p1', 2, true],
        ['run 0 p2', 3, true],
        ['run 0 p3', 4, true],
      ]);
      expect(l.switches[7]!.why).toMatch(/p7 holds none of this CPU's 6 ASIDs: it takes ASID 1 \(PCID 2\).*p1 held that slot/);
      expect(l.cpus()[0]!.stats.switchFlushes).toBe(10);
    } finally {
      l.dispose();
    }
  });

  it('random scripts: the requests account for every IPI, INVLPG and full flush; the cost terms add up; both backends agree', () => {
    fc.assert(
      fc.property(cpuScriptArb, (script) => {
        const runs = BACKENDS.map((b) => lab(script, Number.MAX_SAFE_INTEGER, b));
        try {
          const l = runs[0]!;
          const cpus = l.cpus();
          const sum = (f: (s: (typeof cpus)[number]['stats']) => number) => cpus.reduce((n, c) => n + f(c.stats), 0);
          const outcomes = l.requests.flatMap((r) => r.cpus);
          expect(outcomes.filter((o) => o.decision === 'ipi').length).toBe(sum((s) => s.ipisReceived));
          expect(outcomes.filter((o) => o.decision === 'lazy-skipped').length).toBe(sum((s) => s.lazySkipped));
          expect(outcomes.filter((o) => o.decision === 'other-mm-skipped').length).toBe(sum((s) => s.otherMmSkipped));
          expect(outcomes.reduce((n, o) => n + o.invlpg, 0)).toBe(sum((s) => s.flushes.single));
          expect(outcomes.filter((o) => o.fullFlush).length).toBe(sum((s) => s.flushes.full));
          expect(l.switches.filter((s) => s.flushed).length).toBe(sum((s) => s.switchFlushes));
          for (const s of l.switches) expect(s.rule).toBe('switch_mm_irqs_off → choose_new_asid');
          for (const r of l.requests) {
            if (r.cost.terms.length) expect(r.cost.terms.reduce((n, [, x]) => n + x, 0), script).toBe(r.cost.total);
            // Nothing reaches a CPU outside the mask, and only the initiator works without an IPI.
            for (const o of r.cpus) if (!o.inMask && !o.initiator) expect(o.decision).toBe('not-in-mask');
            // Every decision is explained and names the Linux function whose rule it is.
            for (const o of r.cpus) expect([o.why.length > 20, /^[a-z_]+( \(.*\))?( → [a-z_]+( \(.*\))?)*$/.test(o.rule)], o.rule).toEqual([true, true]);
          }
          if (runs[1]) expect(observe(runs[1])).toEqual(observe(l));
        } finally {
          for (const r of runs) r.dispose();
        }
      }),
      propertyOptions(200, 40),
    );
  });
});

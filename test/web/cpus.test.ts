/**
 * The CPUs tab in a real browser (Chromium from the distribution): its per-CPU counters, TLB
 * entries and flush requests in the DOM against the library in Node (native when it loads),
 * the golden shootdown, and the keyboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, NO_CHROMIUM, openPage, type PageRig } from '../support/browser.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { Machine } from '../../src/system/machine.js';
import { CpuLab } from '../../web/src/engine/cpu-lab.js';
import { parseScript } from '../../web/src/engine/script.js';
import { SCENARIOS } from '../../web/src/engine/scenarios.js';

const BACKEND = nativeAvailable() ? 'native' : 'js';
const GOLDEN = SCENARIOS.cpus[0]!.script;
/** The step (1-based) that runs the line starting with `prefix`, the last such line. */
const stepOf = (script: string, prefix: string) => parseScript(script).map((c) => c.text.startsWith(prefix)).lastIndexOf(true) + 1;

/** What the view's counter tables say, per CPU: stat name → total. */
type Counters = Record<string, number>[];

describe.skipIf(!HAVE_CHROMIUM)(`the CPUs tab in Chromium ${HAVE_CHROMIUM ? '' : NO_CHROMIUM}`, () => {
  let rig: PageRig;
  const open = async (hash: string) => {
    await rig.page.goto('about:blank');
    await rig.page.goto(`${rig.url}#${hash}`);
    await rig.page.waitForSelector('[role=tabpanel] h2');
  };
  /** The CPUs tab at a step of a script: a new URL fragment re-renders the page already loaded (the page listens to hashchange), as a pasted link does. */
  const openScript = async (script: string, step: number) => {
    const hash = `tab=cpus&script=${encodeURIComponent(script)}&step=${step}`;
    if (!rig.page.url().startsWith(rig.url)) return open(hash);
    // The page's hashchange listener was added first, so it has rendered when this one runs.
    await rig.page.evaluate((h) => {
      const w = globalThis as unknown as { location: { hash: string }; addEventListener(t: string, f: () => void, o: { once: boolean }): void };
      return new Promise<void>((resolve) => {
        if (w.location.hash === `#${h}`) return resolve();
        w.addEventListener('hashchange', () => resolve(), { once: true });
        w.location.hash = h;
      });
    }, hash);
  };
  const counters = (): Promise<Counters> =>
    rig.page.$$eval('table[data-counters]', (ts) => ts.map((t) => Object.fromEntries([...t.querySelectorAll('tr[data-stat]')].map((r) => [r.getAttribute('data-stat'), Number(r.querySelector('td[data-total]')!.getAttribute('data-total'))]))));
  /** The same figures from the library's stats. */
  const fromStats = (stats: ReturnType<CpuLab['cpus']>[number]['stats'][]): Counters =>
    stats.map((s) => ({ ipisReceived: s.ipisReceived, ipisSent: s.ipisSent, tlbShootdowns: s.tlbShootdowns, 'flushes.single': s.flushes.single, 'flushes.full': s.flushes.full, lazySkipped: s.lazySkipped, otherMmSkipped: s.otherMmSkipped, switchFlushes: s.switchFlushes, 'cycles.initiator': s.cycles.initiator, 'cycles.handler': s.cycles.handler, 'tlb.hits': s.tlb.hits, 'tlb.misses': s.tlb.misses }));
  /** Node's run of the same script to the same step. */
  const inNode = <T>(script: string, step: number, f: (l: CpuLab) => T): T => {
    const l = new CpuLab(parseScript(script), step, BACKEND);
    try {
      return f(l);
    } finally {
      l.dispose();
    }
  };

  beforeAll(async () => {
    rig = await openPage();
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the golden shootdown: munmap of 10 pages sends 3 IPIs and runs 10 INVLPGs on each remote CPU; of 40 pages, a full flush on each', async () => {
    const ten = stepOf(GOLDEN, 'munmap p1 0x108000');
    await openScript(GOLDEN, ten);
    const rows = () => rig.page.$$eval('.request tr[data-cpu]', (trs) => trs.map((t) => [t.getAttribute('data-decision'), Number(t.querySelector('[data-invlpg]')!.getAttribute('data-invlpg')), t.querySelector('[data-full-flush]')!.getAttribute('data-full-flush')]));
    expect(await rig.page.getAttribute('.request', 'data-pages')).toBe('10');
    expect(await rig.page.getAttribute('.request', 'data-full')).toBe('false');
    expect(await rows()).toEqual([['local', 10, 'false'], ['ipi', 10, 'false'], ['ipi', 10, 'false'], ['ipi', 10, 'false']]);
    expect(await rig.page.textContent('.request')).toMatch(/10 pages at the 4 KiB stride ≤ tlb_single_page_flush_ceiling \(33\)[\s\S]*3 IPIs sent/);
    expect(await rig.page.getAttribute('.request .cost', 'data-cost')).toBe('7900');
    const afterTen = await counters();
    expect(afterTen.map((c) => [c.ipisSent, c.ipisReceived, c['flushes.single']])).toEqual([[3, 0, 10], [0, 1, 10], [0, 1, 10], [0, 1, 10]]);
    await rig.screenshot('cpus-munmap-10-pages');
    await openScript(GOLDEN, ten + 1);
    expect(await rig.page.getAttribute('.request', 'data-full')).toBe('true');
    expect(await rows()).toEqual([['local', 0, 'true'], ['ipi', 0, 'true'], ['ipi', 0, 'true'], ['ipi', 0, 'true']]);
    expect(await rig.page.textContent('.request')).toMatch(/40 pages at the 4 KiB stride > tlb_single_page_flush_ceiling \(33\)/);
    expect((await counters()).map((c) => c['flushes.full'])).toEqual([1, 1, 1, 1]);
    await rig.screenshot('cpus-munmap-40-pages');
  });

  it("shows each CPU's counters as the library computes them for the same calls made in Node", async () => {
    using m = new Machine({ cpus: 4, memory: '16MiB', backend: BACKEND });
    const p = m.createAddressSpace({ stack: false });
    p.mmap({ addr: 0x100000, length: 256 * 1024, prot: 'rw', fixed: true });
    const [t1, t2, t3] = [p.createThread(), p.createThread(), p.createThread()];
    m.cpu(0).run(p);
    [t1, t2, t3].forEach((t, i) => m.cpu(i + 1).run(t));
    for (let k = 0; k < 64; k++) p.write(0x100000 + k * 4096, [(k & 0xff) || 1]);
    for (const [t, from, pages] of [[t1, 0x104000, 16], [t2, 0x110000, 4], [t3, 0x120000, 4]] as const) for (let k = 0; k < pages; k++) t.read(from + k * 4096, 1);
    p.munmap(0x108000, 10 * 4096);
    p.munmap(0x114000, 40 * 4096);
    for (let k = 0; k < 4; k++) t1.read(0x104000 + k * 4096, 1);
    await openScript(GOLDEN, parseScript(GOLDEN).length);
    expect(await counters()).toEqual(fromStats([0, 1, 2, 3].map((i) => m.cpu(i).stats())));
  });

  it("every scenario: the counters, TLB entries, ASID slots and flush decisions in the DOM are Node's, step by step where lines flush", async () => {
    for (const { name, script } of SCENARIOS.cpus) {
      const cmds = parseScript(script);
      // The last step, and every step that made a flush request or a context switch that flushed.
      const steps = inNode(script, cmds.length, (l) => [...new Set([...l.requests.map((r) => r.line + 1), ...l.switches.filter((s) => s.flushed).map((s) => s.line + 1), cmds.length])]);
      for (const step of steps.slice(-4)) {
        await openScript(script, step);
        const node = inNode(script, step, (l) => ({
          counters: fromStats(l.cpus().map((c) => c.stats)),
          tlb: l.cpus().map((c) => [c.tlb.length, c.tlb.filter((e) => !e.usable).length]),
          slots: l.cpus().map((c) => c.slots.map((s) => s.holder ?? '\u2014')),
          decisions: l.eventsOf(step - 1).requests.map((r) => r.cpus.map((o) => o.decision)),
          switches: l.eventsOf(step - 1).switches.map((s) => [s.cpu, String(s.flushed)]),
        }));
        const dom = {
          counters: await counters(),
          tlb: await rig.page.$$eval('table.tlb-entries', (ts) => ts.map((t) => [Number(t.getAttribute('data-valid')), [...t.querySelectorAll('tr.stale')].reduce((n, r) => n + Number(r.getAttribute('data-pages')), 0)])),
          slots: await rig.page.$$eval('table.asids', (ts) => ts.map((t) => [...t.querySelectorAll('tbody tr')].map((r) => r.children[2]!.textContent))),
          decisions: await rig.page.$$eval('.request', (rs) => rs.map((r) => [...r.querySelectorAll('tr[data-cpu]')].map((t) => t.getAttribute('data-decision')))),
          switches: await rig.page.$$eval('.event.switch', (ss) => ss.map((s) => [Number(s.getAttribute('data-cpu')), s.getAttribute('data-flushed')])),
        };
        expect(dom, `${name}, step ${step}`).toEqual(node);
      }
    }
  });

  it('explains the skipped CPUs: lazy, running another process, and the IPIs of freed page tables', async () => {
    const script = SCENARIOS.cpus[1]!.script;
    await openScript(script, stepOf(script, 'munmap p1 0x100000 4K'));
    const why = () => rig.page.$$eval('.request tr[data-cpu] td.why', (ts) => ts.map((t) => t.textContent));
    const one = await why();
    expect(one[2]).toMatch(/lazy \(idle, p1 still loaded\)[\s\S]*should_flush_tlb \(is_lazy\)/);
    expect(one[3]).toMatch(/runs p2, not p1[\s\S]*should_flush_tlb/);
    await rig.screenshot('cpus-lazy-skipped');
    await openScript(script, stepOf(script, 'munmap p1 0x400000'));
    const freed = await why();
    expect(freed[2]).toMatch(/IPI although lazy: the request has freed_tables[\s\S]*switches it to init_mm/);
    expect(freed[3]).toMatch(/takes it out of mm_cpumask\(p1\)/);
    await rig.screenshot('cpus-freed-tables');
  });

  it('seven processes on one CPU: the switch that takes a slot flushes it, and says whose entries go', async () => {
    const script = SCENARIOS.cpus[3]!.script;
    await openScript(script, stepOf(script, 'run 0 p7'));
    expect(await rig.page.textContent('.event.switch')).toMatch(/p6 → p7, ASID 1 \(PCID 2\) — the TLB is flushed[\s\S]*p1 held that slot/);
    await rig.screenshot('cpus-asids-p7');
    await openScript(script, stepOf(script, 'read p1 0x10000 16K'));
    await rig.page.setViewportSize({ width: 720, height: 900 });
    await rig.screenshot('cpus-asids-narrow');
    await rig.page.setViewportSize({ width: 1280, height: 900 });
  });

  it('works from the keyboard: the tab, a scenario, the add-a-line buttons and the steps', async () => {
    await open('tab=pressure');
    await rig.page.focus('[role=tab][data-tab=pressure]');
    await rig.page.keyboard.press('ArrowRight');
    expect(await rig.page.getAttribute(':focus', 'data-tab')).toBe('cpus');
    expect(rig.page.url()).toMatch(/tab=cpus/);
    // Tab walks into the panel: the scenarios first.
    const focused = () => rig.page.$eval(':focus', (a) => `${a.tagName.toLowerCase()}|${a.textContent?.trim() ?? ''}|${a.getAttribute('data-op') ?? ''}|${a.getAttribute('data-step') ?? ''}`).catch(() => '');
    const tabTo = async (want: (f: string) => boolean) => {
      for (let i = 0; i < 40; i++) {
        await rig.page.keyboard.press('Tab');
        if (want(await focused())) return;
      }
      throw new Error(`Tab never reached it (last: ${await focused()})`);
    };
    await tabTo((f) => f.includes('lazy, idle and busy CPUs'));
    await rig.page.keyboard.press('Enter');
    expect(await rig.page.inputValue('#cpus-script')).toBe(SCENARIOS.cpus[1]!.script);
    const last = parseScript(SCENARIOS.cpus[1]!.script).length;
    expect(await rig.page.textContent('.step-label')).toBe(`line ${last} of ${last}`);
    await tabTo((f) => f.endsWith('|munmap|'));
    await tabTo((f) => f.endsWith('|madvise dontneed|'));
    await tabTo((f) => f.endsWith('|←'));
    await rig.page.keyboard.press('Enter');
    await rig.page.keyboard.press('ArrowLeft');
    expect(await rig.page.textContent('.step-label')).toBe(`line ${last - 2} of ${last}`);
    expect(rig.page.url()).toMatch(new RegExp(`step=${last - 2}(&|$)`));
    expect(await rig.page.textContent('.cpu-events h3')).toBe(`What line ${last - 2} did: ${parseScript(SCENARIOS.cpus[1]!.script)[last - 3]!.text}`);
    // An add-a-line button continues from the step shown: the lines after it go.
    await rig.page.fill('[data-op-field=cpu]', '3');
    await rig.page.focus('button[data-op=idle]');
    await rig.page.keyboard.press('Enter');
    expect((await rig.page.inputValue('#cpus-script')).split('\n').slice(-1)[0]).toBe('idle 3');
    expect(await rig.page.textContent('.step-label')).toBe(`line ${last - 1} of ${last - 1}`);
  });

  it('made no network request and logged no error', () => {
    expect(rig.requests.filter((u) => !u.startsWith('file://') && u !== 'about:blank')).toEqual([]);
    expect(rig.errors).toEqual([]);
  });
});

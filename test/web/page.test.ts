/**
 * The teaching page in a real browser (Chromium from the distribution): the built bundle opened
 * from a file, checked against the library running in Node on its own (native when it loads).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, NO_CHROMIUM, openPage, type PageRig } from '../support/browser.js';
import { main } from '../../src/cli/main.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { TranslationLab, PRESETS, encodeAccesses } from '../../web/src/engine/translation.js';
import { parseScript } from '../../web/src/engine/script.js';
import { ProcessLab } from '../../web/src/engine/process-lab.js';
import { frameUses } from '../../web/src/engine/memory-map.js';
import { SCENARIOS, TEXTBOOK_REFS } from '../../web/src/engine/scenarios.js';
import { translationExercise } from '../../web/src/engine/exercises.js';

const BACKEND = nativeAvailable() ? 'native' : 'js';

/** `vmsim policy REFS --frames N --policy P -c`'s table as rows of cells (label, then one cell per reference). */
async function policyTable(refs: string, frames: number, policy: string): Promise<Map<string, string[]>> {
  let out = '';
  const code = await main(['policy', refs, '--frames', String(frames), '--policy', policy, '-c'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } });
  expect(code).toBe(0);
  // The table starts at its 'ref' line (a heading and a blank line come first).
  const all = out.split('\n');
  const lines = all.slice(all.findIndex((l) => l.startsWith('ref ')));
  const n = refs.split(',').length;
  const rows = new Map<string, string[]>();
  // Cells of equal width, one space apart, measured on the 'ref' line (others end at their last mark).
  const w = (lines[0]!.length - 8 + 1) / n - 1;
  for (const line of lines.slice(0, frames + 3)) {
    const label = line.slice(0, 8).trim();
    const rest = line.slice(8);
    rows.set(label, Array.from({ length: n }, (_, i) => rest.slice(i * (w + 1), i * (w + 1) + w).trim()));
  }
  return rows;
}

describe.skipIf(!HAVE_CHROMIUM)(`the teaching page in Chromium ${HAVE_CHROMIUM ? '' : NO_CHROMIUM}`, () => {
  let rig: PageRig;
  const open = async (hash: string) => {
    await rig.page.goto('about:blank');
    await rig.page.goto(`${rig.url}#${hash}`);
    await rig.page.waitForSelector('[role=tabpanel] h2');
  };

  beforeAll(async () => {
    rig = await openPage();
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('runs the textbook string with FIFO, LRU and OPT: every cell of each frame table is `vmsim policy`\u2019s', async () => {
    await open(`tab=replace&refs=${TEXTBOOK_REFS}&frames=3&policies=fifo,lru,opt`);
    for (const policy of ['fifo', 'lru', 'opt']) {
      const cli = await policyTable(TEXTBOOK_REFS, 3, policy);
      const dom = await rig.page.$$eval(`table.frames[data-policy=${policy}] tr`, (trs) =>
        trs.map((tr) => [tr.children[0]!.textContent!.trim(), ...[...tr.children].slice(1).map((c) => (c.querySelector('.pg') ?? c).textContent!.trim())]),
      );
      expect(dom.length).toBe(cli.size);
      for (const [label, ...cells] of dom) expect(cells, `${policy} ${label}`).toEqual(cli.get(label!));
    }
    // The textbook's totals, in the headings.
    const heads = await rig.page.$$eval('section.policy h3', (hs) => hs.map((x) => x.textContent));
    expect(heads.join('\n')).toMatch(/FIFO — 15 faults so far, 15 in all[\s\S]*LRU — 12 faults[\s\S]*OPT — 9 faults/);
    await rig.screenshot('replace-textbook');
  });

  it('translates addresses: each level of the walk shown is the entry space.walk() reads, and the physical address matches', async () => {
    const specs = PRESETS.map((p) => p.spec);
    const lab = new TranslationLab(BACKEND);
    try {
      for (let k = 1; k <= specs.length; k++) {
        const rec = lab.access(specs[k - 1]!);
        await open(`tab=translate&acc=${encodeAccesses(specs)}&step=${k}`);
        const space = specs[k - 1]!.space === 'linux' ? lab.linux : lab.giant;
        const walk = space.walk(specs[k - 1]!.va);
        const dom = await rig.page.$$eval('.record .level', (ls) => ls.map((l) => [Number(l.getAttribute('data-level')), l.getAttribute('data-entry')]));
        expect(dom, `access ${k}`).toEqual(walk.map((s) => [s.level, '0x' + s.entry.toString(16).padStart(16, '0')]));
        const result = await rig.page.getAttribute('.record .result', 'data-result');
        expect(result).toBe(rec.physical === undefined ? 'fault' : '0x' + rec.physical.toString(16));
        if (k === 2 || k === 6) await rig.screenshot(`translate-step-${k}`);
      }
    } finally {
      lab.dispose();
    }
    // The NX case: a fault with the x86 error code 0x15 and the kernel's answer.
    await open(`tab=translate&acc=${encodeAccesses(specs)}&step=7`);
    expect(await rig.page.textContent('.record ol.faults')).toMatch(/error code 0x15 = protection\|user\|instruction-fetch[\s\S]*SIGSEGV/);
  });

  it('fork then write: the frame grid shows the shared frames (×2), then the copy', async () => {
    const script = SCENARIOS.processes[0]!.script;
    const grid = () => rig.page.$$eval('.frame-grid li', (ls) => ls.map((l) => ({ pfn: Number(l.getAttribute('data-pfn')), kind: l.getAttribute('data-kind'), owners: l.getAttribute('data-owners'), refs: Number(l.getAttribute('data-refs')) })));
    const expected = (step: number) => {
      const lab = new ProcessLab(parseScript(script), step, BACKEND);
      try {
        return frameUses(lab.machine, lab.procs).filter((f) => f.pfn >= 259).map((f) => ({ pfn: f.pfn, kind: f.kind, owners: [...new Set(f.owners.map((o) => o.pid))].join(','), refs: f.refCount }));
      } finally {
        lab.dispose();
      }
    };
    await open(`tab=processes&script=${encodeURIComponent(script)}&step=4`);
    const afterFork = await grid();
    expect(afterFork).toEqual(expected(4));
    expect(afterFork.filter((f) => f.kind === 'page' && f.owners === '1,2' && f.refs === 2)).toHaveLength(4);
    await rig.screenshot('processes-after-fork');
    await open(`tab=processes&script=${encodeURIComponent(script)}&step=5`);
    const afterWrite = await grid();
    expect(afterWrite).toEqual(expected(5));
    expect(afterWrite.filter((f) => f.kind === 'page' && f.owners === '1,2')).toHaveLength(3);
    expect(afterWrite.filter((f) => f.kind === 'page' && f.owners === '2' && f.refs === 1)).toHaveLength(1);
    await rig.screenshot('processes-after-cow');
  });

  it('steps back by replaying from the start: the state equals the earlier step\u2019s', async () => {
    const snapshot = () => rig.page.$eval('[role=tabpanel]', (p) => {
      // The form fields' values are not state (a typed address not yet sent); the rest is.
      const c = p.cloneNode(true) as typeof p;
      c.querySelectorAll('input,textarea').forEach((i: { remove(): void }) => i.remove());
      return c.innerHTML;
    });
    const script = encodeURIComponent(SCENARIOS.pressure[0]!.script);
    for (const [hash, step] of [[`tab=processes&script=${encodeURIComponent(SCENARIOS.processes[0]!.script)}`, 5], [`tab=pressure&script=${script}`, 4], [`tab=replace&refs=${TEXTBOOK_REFS}&frames=3&policies=clock,fifo`, 9], [`tab=translate&acc=${encodeAccesses(PRESETS.map((p) => p.spec))}`, 3], [`tab=cpus&script=${encodeURIComponent(SCENARIOS.cpus[1]!.script)}`, 21]] as const) {
      await open(`${hash}&step=${step}`);
      await rig.page.click('button[data-step="←"]');
      const back = await snapshot();
      await open(`${hash}&step=${step - 1}`);
      expect(back, hash).toBe(await snapshot());
    }
  });

  it('shows memory pressure: swap-outs, major faults and an OOM kill', async () => {
    await open(`tab=pressure&script=${encodeURIComponent(SCENARIOS.pressure[0]!.script)}`);
    const vmstat = Object.fromEntries(await rig.page.$$eval('table[data-table=vmstat] tr', (trs) => trs.map((t) => [t.children[0]!.textContent, t.children[1]!.textContent])));
    expect(Number(vmstat.pswpout)).toBeGreaterThan(0);
    expect(Number(vmstat.pgmajfault)).toBeGreaterThan(0);
    expect(await rig.page.$$('ul.tree li[data-type=swap]')).not.toHaveLength(0);
    await rig.screenshot('pressure-swap');
    await open(`tab=pressure&script=${encodeURIComponent(SCENARIOS.pressure[2]!.script)}`);
    expect(await rig.page.textContent('ol[data-list=oom]')).toMatch(/killed p2/);
    await rig.screenshot('pressure-oom');
  });

  it('works from the keyboard: arrow keys move between tabs and steps', async () => {
    await open(`tab=replace&refs=${TEXTBOOK_REFS}&frames=3&policies=fifo&step=5`);
    await rig.page.focus('[role=tab][data-tab=replace]');
    await rig.page.keyboard.press('ArrowRight');
    expect(await rig.page.getAttribute('[role=tab][data-tab=processes]', 'aria-selected')).toBe('true');
    expect(await rig.page.getAttribute(':focus', 'data-tab')).toBe('processes');
    await rig.page.keyboard.press('ArrowLeft');
    expect(await rig.page.getAttribute('[role=tab][data-tab=replace]', 'aria-selected')).toBe('true');
    await open(`tab=replace&refs=${TEXTBOOK_REFS}&frames=3&policies=fifo&step=5`);
    await rig.page.focus('button[data-step="→"]');
    await rig.page.keyboard.press('Enter');
    await rig.page.keyboard.press('ArrowLeft');
    await rig.page.keyboard.press('ArrowLeft');
    expect(await rig.page.textContent('.step-label')).toBe('reference 4 of 20');
    expect(rig.page.url()).toMatch(/step=4/);
  });

  it('makes seeded exercises: the same seed, the same problem; answers on request', async () => {
    await open('tab=exercises&kind=replace&seed=7&policy=lru&frames=3&n=10&max=9&answers=0');
    const q = await rig.page.textContent('.exercise');
    expect(q).not.toMatch(/HIT|MISS/);
    await rig.page.check('text=show answers (-c)');
    const a = await rig.page.textContent('.exercise');
    expect(a).toMatch(/FINALSTATS hits \d+ misses \d+/);
    await open('tab=exercises&kind=replace&seed=7&policy=lru&frames=3&n=10&max=9&answers=1');
    expect(await rig.page.textContent('.exercise')).toBe(a);
    await open('tab=exercises&kind=translate&seed=3&answers=1');
    expect(await rig.page.$$('.questions > li .answer')).toHaveLength(5);
    await rig.screenshot('exercises-translate');
  });

  it('frame-grid cells are reachable from the keyboard: one Tab stop, arrow keys between cells, each described', async () => {
    await open(`tab=processes&script=${encodeURIComponent(SCENARIOS.processes[0]!.script)}&step=4`);
    // The control before the grid is the last process's page-table summary; Tab goes from it into the grid.
    await rig.page.focus('.procs article:last-of-type details summary');
    await rig.page.keyboard.press('Tab');
    const cell = async () => ({ ...(await rig.page.$eval(':focus', (a) => ({ pfn: a.getAttribute('data-pfn'), label: a.getAttribute('aria-label') }))), detail: await rig.page.textContent('[data-frame-detail]') });
    const first = await cell();
    const pfns = await rig.page.$$eval('.frame-grid li', (ls) => ls.map((l) => l.getAttribute('data-pfn')));
    expect(first.pfn).toBe(pfns[0]);
    expect(first.detail).toBe(first.label);
    expect(first.label).toMatch(/^frame \d+: /);
    await rig.page.keyboard.press('ArrowRight');
    const second = await cell();
    expect(second.pfn).toBe(pfns[1]);
    expect(second.detail).toBe(second.label);
    // A row down is as many cells as the grid shows in a row now.
    const cols = await rig.page.$$eval('.frame-grid li', (ls) => {
      const top = (l: unknown) => (l as { offsetTop: number }).offsetTop;
      return ls.filter((l) => top(l) === top(ls[0]!)).length;
    });
    await rig.page.keyboard.press('ArrowDown');
    expect((await cell()).pfn).toBe(pfns[Math.min(1 + cols, pfns.length - 1)]);
    await rig.page.keyboard.press('End');
    expect((await cell()).pfn).toBe(pfns[pfns.length - 1]);
    // One Tab stop: the cell left is out of the Tab order, the one in focus in it; Tab leaves the grid.
    expect(await rig.page.$$eval('.frame-grid li[tabindex="0"]', (ls) => ls.map((l) => l.getAttribute('data-pfn')))).toEqual([pfns[pfns.length - 1]]);
    await rig.page.keyboard.press('Tab');
    expect(await rig.page.$$('.frame-grid li:focus')).toHaveLength(0);
    await rig.screenshot('processes-frame-focus');
  });

  it('asks for permission faults: the error codes in the answers are the machine\u2019s (read-only write, supervisor page, NX fetch)', async () => {
    // A seed whose questions have all three (the same seed gives the same exercise everywhere).
    let seed = 0;
    const want = [0x5, 0x7, 0x15];
    while (!want.every((c) => translationExercise(seed, 8).questions.some((q) => q.errorCode === c))) seed++;
    const ex = translationExercise(seed, 8);
    await open(`tab=exercises&kind=translate&seed=${seed}&n=8&answers=1`);
    const dom = await rig.page.$$eval('.questions > li', (ls) => ls.map((l) => [l.getAttribute('data-kind'), l.querySelector('.answer')!.getAttribute('data-error-code')]));
    expect(dom).toEqual(ex.questions.map((q) => [q.kind, q.errorCode === undefined ? null : String(q.errorCode)]));
    const text = await rig.page.textContent('.exercise');
    expect(text).toMatch(/error code 0x5 \(protection\|user\): the PML4 entry \(level 4\) has U\/S = 0/);
    expect(text).toMatch(/error code 0x7 \(protection\|write\|user\): the PT entry \(level 1\) has R\/W = 0/);
    expect(text).toMatch(/error code 0x15 \(protection\|user\|instruction-fetch\): the PT entry \(level 1\) has XD \(bit 63\) = 1/);
    expect(text).toMatch(/Virtual address 0xffff888/);
    await rig.screenshot('exercises-permission-faults');
  });

  it('made no network request and logged no error', () => {
    expect(rig.requests.filter((u) => !u.startsWith('file://') && u !== 'about:blank')).toEqual([]);
    expect(rig.errors).toEqual([]);
  });
});

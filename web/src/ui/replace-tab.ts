/** The page-replacement view: frame tables step by step, several policies against OPT, the fault curve. */
import { h, field, replace, svg } from './dom.js';
import { Stepper } from './stepper.js';
import { intParam, type Params } from './url-state.js';
import { runPolicy, faultCurve, type PolicyRun } from '../engine/replacement.js';
import { randomReferenceString } from '../engine/random.js';
import { TEXTBOOK_REFS } from '../engine/scenarios.js';
import { POLICY_NAMES, policySummary, isPolicyName, parseReferenceString, type PolicyName } from '../engine/lib.js';

const CLOCK_FAMILY = new Set<PolicyName>(['clock', 'nru']);

/** Builds the view. */
export function mountReplace(panel: HTMLElement, params: Params, save: (p: Params) => void): void {
  let refs = params.get('refs') ?? TEXTBOOK_REFS;
  let frames = intParam(params, 'frames', 3, 1, 64);
  let policies = (params.get('policies') ?? 'fifo,lru,opt').split(',').filter(isPolicyName);
  if (policies.length === 0) policies = ['fifo'];
  const seed = intParam(params, 'seed', 1, 0, 2 ** 31);

  const refsInput = h('input', { type: 'text', value: refs, size: 48, spellcheck: 'false', autocomplete: 'off' });
  const framesInput = h('input', { type: 'number', min: 1, max: 64, value: frames });
  const boxes = POLICY_NAMES.map((n) => h('input', { type: 'checkbox', value: n, checked: policies.includes(n) }));
  const seedInput = h('input', { type: 'number', min: 0, value: seed });
  const lenInput = h('input', { type: 'number', min: 1, max: 200, value: 20 });
  const maxInput = h('input', { type: 'number', min: 1, max: 99, value: 7 });
  const writesInput = h('input', { type: 'checkbox' });
  const error = h('p', { className: 'error', role: 'alert' });
  const out = h('div', { className: 'replace-out' });
  const curve = h('div', { className: 'curve' });

  const form = h(
    'form',
    { className: 'controls', onsubmit: (e: Event) => (e.preventDefault(), apply(0)) },
    field('Reference string', refsInput, "pages separated by commas; 'w' after a page marks a write (2w)"),
    field('Frames', framesInput),
    h('fieldset', { className: 'policies' }, h('legend', {}, 'Policies'), ...boxes.map((b) => h('label', { title: policySummary(b.value as PolicyName) }, b, ' ', b.value))),
    h('button', { type: 'submit' }, 'Run'),
    h(
      'details',
      { className: 'generate' },
      h('summary', {}, 'Generate a reference string from a seed'),
      field('Seed', seedInput),
      field('Length', lenInput),
      field('Highest page', maxInput),
      h('label', {}, writesInput, ' with writes'),
      h('button', { type: 'button', onclick: () => ((refsInput.value = randomReferenceString(Number(seedInput.value) >>> 0, Number(lenInput.value) || 20, Number(maxInput.value) || 7, writesInput.checked)), apply(0)) }, 'Generate'),
    ),
  );
  replace(panel, h('h2', {}, 'Page replacement'), h('p', { className: 'intro' }, 'A process whose resident limit is N frames touches one page per reference on the real machine; evicted pages go to swap. Each table is what ', h('code', {}, 'vmsim policy'), ' prints; A and D are the Accessed and Dirty bits of the page\u2019s entry after the reference, and \u25b8 marks the page under the clock hand.'), form, error, out, curve);

  let runs: PolicyRun[] = [];
  let optFaults = 0;
  let stepper: Stepper | undefined;
  const tables = h('div', { className: 'tables' });

  function apply(step: number): void {
    refs = refsInput.value.trim();
    frames = Math.max(1, Math.min(64, Number(framesInput.value) || 1));
    policies = boxes.filter((b) => b.checked).map((b) => b.value as PolicyName);
    error.textContent = '';
    try {
      parseReferenceString(refs);
      if (policies.length === 0) throw new Error('choose at least one policy');
      runs = policies.map((p) => runPolicy(refs, frames, p, seed));
      optFaults = runs.find((r) => r.policy === 'opt')?.result.faults ?? runPolicy(refs, frames, 'opt').result.faults;
    } catch (e) {
      error.textContent = (e as Error).message;
      return;
    }
    const n = runs[0]!.result.references;
    stepper?.stop();
    stepper = new Stepper(Math.min(step, n), n, (s) => show(s), 'reference');
    replace(out, stepper.el, tables);
    show(stepper.current);
    drawCurve();
  }

  function show(step: number): void {
    const p = new URLSearchParams({ refs, frames: String(frames), policies: policies.join(','), step: String(step) });
    if (seed !== 1) p.set('seed', String(seed));
    save(p);
    replace(tables, ...runs.map((r) => policyTable(r, step, optFaults)));
    // Long strings scroll sideways: keep the current reference in view (without moving the page up or down).
    for (const box of tables.querySelectorAll<HTMLElement>('.scroll')) {
      const now = box.querySelector<HTMLElement>('th.now');
      if (now && (now.offsetLeft < box.scrollLeft || now.offsetLeft + now.offsetWidth > box.scrollLeft + box.clientWidth)) box.scrollLeft = now.offsetLeft - box.clientWidth / 2;
    }
  }

  function drawCurve(): void {
    const distinct = new Set(parseReferenceString(refs).pages).size;
    const max = Math.min(distinct + 1, 16);
    const withOpt = policies.includes('opt') ? policies : [...policies, 'opt' as PolicyName];
    const { curves, mattson } = faultCurve(refs, max, withOpt, seed);
    replace(curve, h('h3', {}, 'Faults by number of frames'), chart(curves, mattson, max), legend([...curves.keys()]), curveTable(curves, mattson, max));
  }

  apply(intParam(params, 'step', Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER));
}

/** One policy's frame table up to `step` (later columns are empty), as `vmsim policy` lays it out. */
function policyTable(run: PolicyRun, step: number, optFaults: number): HTMLElement {
  const r = run.result;
  const steps = r.steps;
  const shown = steps.slice(0, step);
  const faults = shown.filter((s) => s.fault).length;
  const col = (i: number) => (i === step - 1 ? { 'aria-current': 'step', className: 'now' } : i >= step ? { className: 'later' } : {});
  const head = h('tr', { 'data-row': 'ref' }, h('th', { scope: 'row' }, 'ref'), ...steps.map((s, i) => h('th', { scope: 'col', ...col(i) }, `${s.page}${s.write ? 'w' : ''}`)));
  const rows: HTMLElement[] = [];
  for (let f = 0; f < r.frames; f++) {
    rows.push(
      h('tr', { 'data-row': `frame ${f}` }, h('th', { scope: 'row' }, `frame ${f}`), ...steps.map((s, i) => {
        if (i >= step || s.frames[f] === undefined) return h('td', col(i));
        const b = run.bits[i]![f]!;
        const hand = run.hand[i] === f;
        const bits = `${b.accessed ? 'A' : '\u00b7'}${b.dirty ? 'D' : '\u00b7'}`;
        return h('td', { ...col(i), className: `${col(i).className ?? ''} ${s.fault && s.page === s.frames[f] ? 'loaded' : ''}`.trim(), title: `page ${s.frames[f]}: Accessed ${b.accessed ? 1 : 0}, Dirty ${b.dirty ? 1 : 0}${hand ? ', under the clock hand' : ''}` }, hand ? h('span', { className: 'hand', 'aria-label': 'clock hand' }, '\u25b8') : null, h('span', { className: 'pg' }, String(s.frames[f])), h('span', { className: 'bits', 'aria-label': `bits ${bits}` }, bits));
      })),
    );
  }
  rows.push(h('tr', { 'data-row': 'fault' }, h('th', { scope: 'row' }, 'fault'), ...steps.map((s, i) => h('td', col(i), i < step && s.fault ? 'F' : ''))));
  rows.push(h('tr', { 'data-row': 'evicted' }, h('th', { scope: 'row' }, 'evicted'), ...steps.map((s, i) => h('td', col(i), i < step && s.evicted !== undefined ? String(s.evicted) : ''))));
  const vs = run.policy === 'opt' ? '' : ` (OPT: ${optFaults}${r.faults > optFaults ? `, ${r.faults - optFaults} more` : ''})`;
  return h(
    'section',
    { className: 'policy', 'data-policy': run.policy },
    h('h3', {}, `${run.policy.toUpperCase()} \u2014 ${faults} fault${faults === 1 ? '' : 's'} so far, ${r.faults} in all${vs}`, CLOCK_FAMILY.has(run.policy) ? ' \u2014 \u25b8 clock hand' : ''),
    run.agrees ? null : h('p', { className: 'error', role: 'alert' }, 'The instrumented run disagrees with the library here: the bits shown may be wrong.'),
    h('div', { className: 'scroll', tabindex: 0, role: 'region', 'aria-label': `${run.policy} frame table` }, h('table', { className: 'frames', 'data-policy': run.policy }, h('thead', {}, head), h('tbody', {}, ...rows))),
  );
}

const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2'];
const MARKS = ['circle', 'square', 'diamond', 'triangle', 'cross'];

function chart(curves: Map<PolicyName, { frames: number; faults: number }[]>, mattson: { frames: number; faults: number }[], max: number): SVGElement {
  const W = 560, H = 260, L = 48, B = 36, T = 12, R = 16;
  const top = Math.max(1, ...[...curves.values()].flat().map((p) => p.faults));
  const x = (f: number) => L + ((f - 1) / Math.max(1, max - 1)) * (W - L - R);
  const y = (v: number) => T + (1 - v / top) * (H - T - B);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'fault curve: faults by frames for each policy (the table below has the numbers)', class: 'chart' });
  g.appendChild(svg('line', { x1: L, y1: y(0), x2: W - R, y2: y(0), class: 'axis' }));
  g.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: y(0), class: 'axis' }));
  for (let f = 1; f <= max; f++) g.appendChild(svg('text', { x: x(f), y: H - B + 16, 'text-anchor': 'middle' }, String(f)));
  for (const v of [0, Math.round(top / 2), top]) g.appendChild(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  g.appendChild(svg('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, 'frames'));
  [...curves.entries()].forEach(([name, pts], k) => {
    g.appendChild(svg('polyline', { points: pts.map((p) => `${x(p.frames)},${y(p.faults)}`).join(' '), class: `series s${k % 8}`, 'stroke-dasharray': DASHES[k % DASHES.length]! }));
    for (const p of pts) g.appendChild(marker(MARKS[k % MARKS.length]!, x(p.frames), y(p.faults), `series s${k % 8}`));
  });
  g.appendChild(svg('polyline', { points: mattson.map((p) => `${x(p.frames)},${y(p.faults)}`).join(' '), class: 'mattson' }));
  return g;
}

/** The chart's key: each policy's line style and marker, named (colour is not the only difference). */
function legend(names: PolicyName[]): HTMLElement {
  return h('ul', { className: 'legend' }, ...names.map((n, k) => {
    const s = svg('svg', { width: 40, height: 12, 'aria-hidden': 'true' }, svg('line', { x1: 2, y1: 6, x2: 38, y2: 6, class: `series s${k % 8}`, 'stroke-dasharray': DASHES[k % DASHES.length]! }), marker(MARKS[k % MARKS.length]!, 20, 6, `series s${k % 8}`));
    return h('li', {}, s, ' ', n);
  }), h('li', {}, svg('svg', { width: 40, height: 12, 'aria-hidden': 'true' }, svg('line', { x1: 2, y1: 6, x2: 38, y2: 6, class: 'mattson' })), ' LRU by Mattson\u2019s stack algorithm (exact)'));
}

function marker(kind: string, cx: number, cy: number, cls: string): SVGElement {
  const r = 3.5;
  if (kind === 'circle') return svg('circle', { cx, cy, r, class: cls });
  if (kind === 'square') return svg('rect', { x: cx - r, y: cy - r, width: 2 * r, height: 2 * r, class: cls });
  if (kind === 'diamond') return svg('polygon', { points: `${cx},${cy - r - 1} ${cx + r + 1},${cy} ${cx},${cy + r + 1} ${cx - r - 1},${cy}`, class: cls });
  if (kind === 'triangle') return svg('polygon', { points: `${cx},${cy - r - 1} ${cx + r + 1},${cy + r} ${cx - r - 1},${cy + r}`, class: cls });
  return svg('path', { d: `M${cx - r},${cy - r}L${cx + r},${cy + r}M${cx + r},${cy - r}L${cx - r},${cy + r}`, class: cls });
}

function curveTable(curves: Map<PolicyName, { frames: number; faults: number }[]>, mattson: { frames: number; faults: number }[], max: number): HTMLElement {
  const fr = Array.from({ length: max }, (_, i) => i + 1);
  return h(
    'details',
    {},
    h('summary', {}, 'The numbers (faults for each number of frames)'),
    h('table', { className: 'curve-table' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'policy'), ...fr.map((f) => h('th', { scope: 'col' }, String(f))))), h('tbody', {}, ...[...curves.entries()].map(([n, pts]) => h('tr', { 'data-policy': n }, h('th', { scope: 'row' }, n), ...pts.map((p) => h('td', {}, String(p.faults))))), h('tr', {}, h('th', { scope: 'row' }, 'LRU (Mattson, exact)'), ...mattson.map((p) => h('td', {}, String(p.faults)))))),
  );
}

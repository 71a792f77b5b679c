/** Homework in the style of OSTEP's scripts: a seed makes the problem, answers on request. */
import { h, field, replace } from './dom.js';
import { intParam, type Params } from './url-state.js';
import { translationExercise, replacementExercise } from '../engine/exercises.js';
import { hex, vaHex } from '../engine/bits.js';
import { POLICY_NAMES, isPolicyName, type PolicyName } from '../engine/lib.js';

/** Builds the view. */
export function mountExercises(panel: HTMLElement, params: Params, save: (p: Params) => void): void {
  const kindSel = h('select', {}, h('option', { value: 'translate' }, 'address translation (paging-multilevel-translate)'), h('option', { value: 'replace' }, 'page replacement (paging-policy)'));
  kindSel.value = params.get('kind') === 'replace' ? 'replace' : 'translate';
  const seed = h('input', { type: 'number', min: 0, value: intParam(params, 'seed', 0, 0, 2 ** 31) });
  const count = h('input', { type: 'number', min: 1, max: 20, value: intParam(params, 'n', kindSel.value === 'replace' ? 10 : 5, 1, 50) });
  const policy = h('select', {}, ...POLICY_NAMES.filter((p) => p !== 'random').map((p) => h('option', { value: p }, p)));
  policy.value = isPolicyName(params.get('policy')) ? params.get('policy')! : 'fifo';
  const frames = h('input', { type: 'number', min: 1, max: 16, value: intParam(params, 'frames', 3, 1, 16) });
  const maxPage = h('input', { type: 'number', min: 1, max: 99, value: intParam(params, 'max', 9, 1, 99) });
  const answers = h('input', { type: 'checkbox', checked: params.get('answers') === '1' });
  const out = h('div', { className: 'exercise', 'aria-live': 'polite' });
  const replaceOnly = h('div', { className: 'replace-only' }, field('Policy (-p)', policy), field('Frames (-C)', frames), field('Highest page (-m)', maxPage));
  const form = h('form', { className: 'controls', onsubmit: (e: Event) => (e.preventDefault(), render()) }, field('Exercise', kindSel), field('Seed (-s)', seed), field('Questions (-n)', count), replaceOnly, h('label', {}, answers, ' show answers (-c)'), h('button', { type: 'submit' }, 'Generate'));
  kindSel.addEventListener('change', render);
  answers.addEventListener('change', render);
  replace(panel, h('h2', {}, 'Exercises'), h('p', { className: 'intro' }, 'Problems made from a seed, as OSTEP\u2019s homework scripts make them: the same seed gives the same problem on any computer, so a teacher can hand out seeds and check answers. The answers come from the simulated machine.'), form, out);

  function render(): void {
    const kind = kindSel.value;
    replaceOnly.hidden = kind !== 'replace';
    const p = new URLSearchParams({ kind, seed: String(Number(seed.value) >>> 0), n: String(Number(count.value) || 5), answers: answers.checked ? '1' : '0' });
    if (kind === 'replace') {
      p.set('policy', policy.value);
      p.set('frames', frames.value);
      p.set('max', maxPage.value);
    }
    save(p);
    replace(out, kind === 'replace' ? replacementView() : translationView());
  }

  function translationView(): HTMLElement {
    const ex = translationExercise(Number(seed.value) >>> 0, Math.max(1, Math.min(20, Number(count.value) || 5)));
    const show = answers.checked;
    return h(
      'div',
      {},
      h('p', {}, `ARG seed ${ex.seed}. A process on an x86-64 machine with 4-level paging and 4 KiB pages; CR3 = ${hex(ex.cr3)}. These are the non-empty entries of its page tables (of the PML4's kernel half, entries 256\u2013511, only the one that leads to a kernel page asked about). An entry's bit 0 is Present, bit 1 Writable (R/W), bit 2 User (U/S), bit 5 Accessed, bit 6 Dirty, bit 63 Execute-disable (XD); bits 12\u201351 hold the physical address of the next table or of the page. An access is allowed only if every entry on the way allows it.`),
      ...ex.tables.map((t) => h('div', { className: 'dump' }, h('h4', {}, `${['', 'PT', 'PD', 'PDPT', 'PML4'][t.level]} at ${hex(t.address)}`), h('pre', {}, t.entries.map((e) => `[${String(e.index).padStart(3)}] ${hex(e.entry, 16)}`).join('\n')))),
      h('h4', {}, 'For each user-mode access: the physical address it reaches, or the page fault and its error code (P = 1 protection violation / 0 not present, W/R = 2 write, U/S = 4 user mode, I/D = 16 instruction fetch).'),
      h('ol', { className: 'questions' }, ...ex.questions.map((q) => h('li', { 'data-va': vaHex(q.va), 'data-kind': q.kind }, `Virtual address ${vaHex(q.va, 12)} (${q.kind === 'execute' ? 'instruction fetch' : q.kind}): what physical address, or which page fault (error code)?`, show ? h('div', { className: 'answer', 'data-error-code': q.errorCode ?? null }, h('strong', {}, q.answer), h('ul', {}, ...q.steps.map((s) => h('li', {}, s)))) : null))),
    );
  }

  function replacementView(): HTMLElement {
    const pol = policy.value as PolicyName;
    const ex = replacementExercise(Number(seed.value) >>> 0, pol, Math.max(1, Number(frames.value) || 3), Math.max(1, Math.min(50, Number(count.value) || 10)), Math.max(1, Number(maxPage.value) || 9));
    const show = answers.checked;
    let hits = 0;
    return h(
      'div',
      {},
      h('p', {}, `ARG seed ${ex.seed}, policy ${pol.toUpperCase()}, ${ex.frames} frames, ${ex.answers.length} references, pages 0\u2013${maxPage.value}. Assuming this replacement policy and a memory of ${ex.frames} frames, figure out whether each reference hits or misses, and what memory holds after it.`),
      h('p', {}, `References: ${ex.refs}`),
      h('ol', { className: 'questions' }, ...ex.answers.map((a) => {
        if (a.hit) hits++;
        return h('li', {}, `Access: ${a.page}  Hit/Miss?  State of memory?`, show ? h('div', { className: 'answer' }, h('strong', {}, a.hit ? 'HIT ' : 'MISS'), ` memory [${a.frames.join(', ')}]${a.evicted !== undefined ? `, replaced ${a.evicted}` : ''} [hits ${hits}, misses ${ex.answers.indexOf(a) + 1 - hits}]`) : null);
      })),
      show ? h('p', {}, `FINALSTATS hits ${ex.hits} misses ${ex.misses} hitrate ${((100 * ex.hits) / (ex.hits + ex.misses)).toFixed(2)}`) : null,
    );
  }

  render();
}

/** The translation view: an address through the TLB and the 4-level walk, bit by bit, and what a fault made the kernel do. */
import { h, field, replace } from './dom.js';
import { Stepper } from './stepper.js';
import { intParam, type Params } from './url-state.js';
import { TranslationLab, PRESETS, type AccessRecord, type AccessSpec, type Kind, type SpaceId } from '../engine/translation.js';
import { ENTRY_BITS, bit, entryAddress, hex, parseAddress, splitAddress } from '../engine/bits.js';
import type { WalkStep } from '../engine/lib.js';

const LEVEL_NAMES = ['', 'PT', 'PD', 'PDPT', 'PML4'];
const KIND_LETTER: Record<Kind, string> = { read: 'r', write: 'w', execute: 'x' };

/** Encodes accesses for the URL: linux:w:600010,... */
export function encodeAccesses(list: AccessSpec[]): string {
  return list.map((a) => `${a.space}:${KIND_LETTER[a.kind]}:${a.va.toString(16)}`).join(',');
}

/** Decodes the URL's accesses, skipping malformed ones. */
export function decodeAccesses(text: string | null): AccessSpec[] {
  if (!text) return [];
  const kinds: Record<string, Kind> = { r: 'read', w: 'write', x: 'execute' };
  return text.split(',').flatMap((t) => {
    const [space, k, va] = t.split(':');
    const v = parseAddress('0x' + (va ?? ''));
    return (space === 'linux' || space === 'giant') && kinds[k ?? ''] && v !== undefined ? [{ space: space as SpaceId, kind: kinds[k!]!, va: v }] : [];
  });
}

/** Builds the view. */
export function mountTranslate(panel: HTMLElement, params: Params, save: (p: Params) => void): void {
  let accesses = params.has('acc') ? decodeAccesses(params.get('acc')) : PRESETS.map((p) => p.spec);
  const spaceSel = h('select', {}, h('option', { value: 'linux' }, 'process (4 KiB pages, a 2 MiB THP region)'), h('option', { value: 'giant' }, 'kernel-built 1 GiB page'));
  const vaInput = h('input', { type: 'text', value: '0x600010', size: 18, spellcheck: 'false', autocomplete: 'off' });
  const kindSel = h('select', {}, h('option', { value: 'read' }, 'read'), h('option', { value: 'write' }, 'write'), h('option', { value: 'execute' }, 'execute'));
  const error = h('p', { className: 'error', role: 'alert' });
  const out = h('div', { className: 'translate-out' });
  const view = h('div', {});
  const history = h('ol', { className: 'history' });
  let stepper: Stepper | undefined;

  const presetButtons = PRESETS.map((p) => h('button', { type: 'button', onclick: () => add(p.spec) }, p.label));
  replace(
    panel,
    h('h2', {}, 'Translation'),
    h('p', { className: 'intro' }, 'Each access runs through the CPU of the simulated machine: the TLB, the 4-level walk over tables in simulated RAM (which sets the Accessed and Dirty bits), and on a fault the kernel\u2019s handler, then the access again. The machine has 2 GiB of RAM; the process has code at 0x400000, data at 0x600000, a read-only page at 0x700000 and a THP region at 0x40000000; the second address space maps one 1 GiB page at 0x8000000000.'),
    h('div', { className: 'presets', role: 'group', 'aria-label': 'example accesses' }, ...presetButtons),
    h('form', { className: 'controls', onsubmit: (e: Event) => (e.preventDefault(), addTyped()) }, field('Address space', spaceSel), field('Virtual address', vaInput, 'hex (0x...) or decimal'), field('Access', kindSel), h('button', { type: 'submit' }, 'Access'), h('button', { type: 'button', onclick: () => ((accesses = []), render(0)) }, 'Start over')),
    error,
    out,
  );

  function addTyped(): void {
    const va = parseAddress(vaInput.value);
    if (va === undefined) {
      error.textContent = `${JSON.stringify(vaInput.value)} is not an address (0 to 2^48 - 1, hex with 0x or decimal)`;
      return;
    }
    add({ space: spaceSel.value as SpaceId, va, kind: kindSel.value as Kind });
  }

  function add(spec: AccessSpec): void {
    error.textContent = '';
    const step = stepper?.current ?? accesses.length;
    accesses = [...accesses.slice(0, step), spec];
    render(accesses.length);
  }

  function render(step: number): void {
    stepper?.stop();
    stepper = new Stepper(Math.min(step, accesses.length), accesses.length, (s) => show(s), 'access');
    replace(out, stepper.el, h('h3', {}, 'Accesses so far'), history, view);
    show(stepper.current);
  }

  function show(step: number): void {
    save(new URLSearchParams({ acc: encodeAccesses(accesses), step: String(step) }));
    // Replay from the start: a fresh machine runs the first `step` accesses.
    const lab = new TranslationLab();
    let last: AccessRecord | undefined;
    const records: AccessRecord[] = [];
    try {
      for (let i = 0; i < step; i++) records.push((last = lab.access(accesses[i]!)));
    } finally {
      lab.dispose();
    }
    replace(history, ...accesses.map((a, i) => h('li', i === step - 1 ? { 'aria-current': 'step', className: 'now' } : i >= step ? { className: 'later' } : {}, `${a.kind} ${hex(a.va)} (${a.space === 'linux' ? 'process' : '1 GiB space'})`, i < step ? ` \u2192 ${summary(records[i]!)}` : '')));
    replace(view, last ? record(last) : h('p', {}, 'Choose an example above or type an address.'));
  }

  render(intParam(params, 'step', params.has('acc') ? accesses.length : 1, 0, accesses.length));
}

function summary(r: AccessRecord): string {
  if (r.physical !== undefined) return `${hex(r.physical)}${r.faults.length ? ` after ${r.faults.length} fault${r.faults.length > 1 ? 's' : ''}` : r.tlbHits ? ' (TLB hit)' : ''}`;
  return r.faults.length ? `fault ${hex(r.faults[0]!.errorCode)}: ${r.faults[r.faults.length - 1]!.outcome}` : 'refused';
}

/** Everything one access did. */
function record(r: AccessRecord): HTMLElement {
  const va = r.spec.va;
  const leaf = r.after[r.after.length - 1]!;
  const size = leaf.flags.present && leaf.flags.largePage ? (leaf.level === 3 ? 2 ** 30 : 2 ** 21) : 4096;
  return h(
    'section',
    { className: 'record', 'data-va': hex(va) },
    h('h3', {}, `${r.spec.kind} ${hex(va)}`),
    addressBits(va, size),
    h('p', {}, `CR3 = ${hex(r.before[0]!.entryAddress - r.before[0]!.index * 8)} (the top-level table), PCID ${r.pcid}.`),
    tlbView(r),
    h('h4', {}, 'The walk (entries in simulated RAM, before \u2192 after the access)'),
    h('p', { className: 'hint' }, 'Bits that changed are marked 0\u21921. * D and G mean nothing in an entry that points to a table (Linux writes D there anyway: its table entries end in 0x67).'),
    ...r.after.map((s, i) => levelView(r.before[i], s)),
    r.faults.length ? h('h4', {}, 'Page faults') : null,
    r.faults.length ? h('ol', { className: 'faults' }, ...r.faults.map((f) => h('li', {}, `#PF at ${hex(f.address)}, error code ${hex(f.errorCode)} = ${f.decoded}`, h('br'), `kernel: ${f.action}`))) : null,
    h('p', { className: r.physical !== undefined ? 'result ok' : 'result bad', 'data-result': r.physical !== undefined ? hex(r.physical) : 'fault' }, r.physical !== undefined ? `Physical address ${hex(r.physical)} (a ${size === 4096 ? '4 KiB' : size === 2 ** 21 ? '2 MiB' : '1 GiB'} page at ${hex(r.physical - (va % size))} + offset ${hex(va % size)})` : `No translation: ${r.error ?? 'refused'}`),
  );
}

function addressBits(va: number, pageSize: number): HTMLElement {
  const { indices, offset } = splitAddress(va);
  const bin = (v: number, n: number) => v.toString(2).padStart(n, '0');
  const off = va % pageSize;
  const fields =
    pageSize === 4096
      ? [['PML4', 47, 39, indices[0]], ['PDPT', 38, 30, indices[1]], ['PD', 29, 21, indices[2]], ['PT', 20, 12, indices[3]], ['offset', 11, 0, offset]]
      : pageSize === 2 ** 21
        ? [['PML4', 47, 39, indices[0]], ['PDPT', 38, 30, indices[1]], ['PD', 29, 21, indices[2]], ['offset (2 MiB page)', 20, 0, off]]
        : [['PML4', 47, 39, indices[0]], ['PDPT', 38, 30, indices[1]], ['offset (1 GiB page)', 29, 0, off]];
  return h(
    'table',
    { className: 'addr-bits' },
    h('caption', {}, `${hex(va)}: bits 63\u201348 copy bit 47 (canonical form)`),
    h('thead', {}, h('tr', {}, ...fields.map(([n, hi, lo]) => h('th', { scope: 'col', className: `fld f-${String(n).split(' ')[0]}` }, `${n} (bits ${hi}\u2013${lo})`)))),
    h('tbody', {}, h('tr', {}, ...fields.map(([n, hi, lo, v]) => h('td', { className: `fld f-${String(n).split(' ')[0]}` }, h('code', {}, bin(v as number, (hi as number) - (lo as number) + 1)), h('br'), `= ${n === 'offset' || String(n).startsWith('offset') ? hex(v as number) : String(v)}`)))),
  );
}

function tlbView(r: AccessRecord): HTMLElement {
  const e = r.tlbAfter;
  const b = r.tlbBefore;
  const allows = b && (r.spec.kind === 'read' || (r.spec.kind === 'write' ? b.flags.includes('WRITABLE') && b.flags.includes('DIRTY') : !b.flags.includes('NX')));
  const why = b && !allows ? (r.spec.kind === 'execute' ? ' but the entry says NX: the CPU faults' : b.flags.includes('WRITABLE') ? ' but the entry is not yet dirty: the CPU walks to set D' : ' but the entry is read-only: the CPU walks the tables again') : '';
  const before = b ? `hit: entry ${b.index} (set ${b.set}, way ${b.way})${why}` : 'miss: no entry of this PCID translates the page';
  return h(
    'div',
    { className: 'tlb' },
    h('h4', {}, `TLB (${r.tlbSets} sets \u00d7 ${r.tlbWays} ways, one array for 4 KiB, 2 MiB and 1 GiB entries)`),
    h('ul', {}, h('li', { 'data-tlb': 'before' }, `Lookup: ${before}.`), h('li', {}, `During the access: ${r.tlbHits} hit${r.tlbHits === 1 ? '' : 's'}, ${r.tlbMisses} miss${r.tlbMisses === 1 ? '' : 'es'}, ${r.walks} walk${r.walks === 1 ? '' : 's'}.`), h('li', { 'data-tlb': 'after' }, e ? `${r.tlbBefore ? 'Entry' : 'Filled'}: entry ${e.index} (set ${e.set}, way ${e.way}): ${e.pageSize === 4096 ? '4 KiB' : e.pageSize === 2 ** 21 ? '2 MiB' : '1 GiB'} page \u2192 ${hex(e.pbase)}, ${e.flags.join(' ')}.` : 'No entry after the access (a fault leaves none).')),
  );
}

function levelView(before: WalkStep | undefined, s: WalkStep): HTMLElement {
  const large = s.flags.largePage;
  const changed = before !== undefined && before.entry !== s.entry;
  const next = s.flags.present ? entryAddress(s.entry, s.level, large) : undefined;
  const bits = ENTRY_BITS.filter((b) => !(b.name === 'PS' && s.level === 1));
  return h(
    'div',
    { className: 'level', 'data-level': s.level, 'data-entry': hex(s.entry, 16) },
    h('h5', {}, `${LEVEL_NAMES[s.level]} (level ${s.level}): table at ${hex(s.entryAddress - s.index * 8)}, index ${s.index}, entry at ${hex(s.entryAddress)}`),
    h('p', {}, h('code', {}, before && changed ? `${hex(before.entry, 16)} \u2192 ` : '', hex(s.entry, 16)), before === undefined ? ' (a new entry: the kernel wrote it during this access)' : changed ? ' (changed by this access)' : '', ' \u2014 ', !s.flags.present ? 'not present' : large ? `maps a ${s.level === 3 ? '1 GiB' : '2 MiB'} page at ${hex(next!)}` : s.level === 1 ? `maps the 4 KiB frame at ${hex(next!)}` : `points to the ${LEVEL_NAMES[s.level - 1]} at ${hex(next!)}`),
    h(
      'table',
      { className: 'entry-bits' },
      h('thead', {}, h('tr', {}, ...bits.map((b) => h('th', { scope: 'col', title: b.meaning }, `${b.name === 'PS' && s.level === 1 ? 'PAT' : b.name}`, h('br'), h('small', {}, `bit ${b.bit}`))))),
      h('tbody', {}, h('tr', {}, ...bits.map((b) => {
        const now = bit(s.entry, b.bit);
        const was = before ? bit(before.entry, b.bit) : now;
        const ignored = s.level > 1 && !large && (b.name === 'D' || b.name === 'G');
        return h('td', { className: `${now ? 'one' : 'zero'}${was !== now ? ' flipped' : ''}${ignored ? ' ignored' : ''}`, title: ignored ? `${b.meaning}: ignored by the CPU in an entry that points to a table (Linux sets D in its table entries)` : b.meaning, 'data-bit': b.name }, was !== now ? `${was ? 1 : 0}\u2192${now ? 1 : 0}` : now ? '1' : '0', ignored ? '*' : '');
      }))),
    ),
  );
}

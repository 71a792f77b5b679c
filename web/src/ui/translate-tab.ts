/** The translation view: an address through the TLB and the 4-level walk, bit by bit, and what a fault made the kernel do. */
import { h, field, replace } from './dom.js';
import { Stepper } from './stepper.js';
import { intParam, type Params } from './url-state.js';
import { TranslationLab, PRESETS, encodeAccesses, decodeAccesses, type AccessRecord, type AccessSpec, type Kind, type SpaceId } from '../engine/translation.js';
import { ENTRY_BITS, bit, entryAddress, hex, parseAddress, splitAddress } from '../engine/bits.js';
import type { WalkStep } from '../engine/lib.js';

const LEVEL_NAMES = ['', 'PT', 'PD', 'PDPT', 'PML4'];

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
    h('p', { className: 'intro' }, 'Each access runs through a CPU of the simulated machine: its TLBs and paging-structure caches (a Skylake core\u2019s), the 4-level walk over tables in simulated RAM (which sets the Accessed and Dirty bits), and on a fault the kernel\u2019s handler, then the access again. The machine has 2 GiB of RAM; the process has code at 0x400000, data at 0x600000, a read-only page at 0x700000 and a THP region at 0x40000000; the second address space maps one 1 GiB page at 0x8000000000.'),
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
  if (r.physical !== undefined) return `${hex(r.physical)}${r.faults.length ? ` after ${r.faults.length} fault${r.faults.length > 1 ? 's' : ''}` : r.hierWalks === 0 ? ' (TLB hit)' : ''}`;
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

const ARRAY_LABEL: Record<string, string> = { l1i: 'L1 iTLB (4 KiB)', 'l1i-2m': 'L1 iTLB (2 MiB)', l1d: 'L1 dTLB (4 KiB)', 'l1d-2m': 'L1 dTLB (2 MiB)', 'l1d-1g': 'L1 dTLB (1 GiB)', stlb: 'second-level TLB (4 KiB + 2 MiB)', 'stlb-1g': 'second-level TLB (1 GiB)', l2i: 'L2 iTLB', 'pwc-pml4e': 'paging-structure cache: PML4 entries', 'pwc-pdpte': 'paging-structure cache: PDPT entries', 'pwc-pde': 'paging-structure cache: PD entries' };

function tlbView(r: AccessRecord): HTMLElement {
  const used = r.levels.filter((l) => l.hits + l.misses + l.fills > 0);
  const word = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;
  return h(
    'div',
    { className: 'tlb' },
    h('h4', {}, 'The TLBs (a Skylake core\u2019s: replay\u2019s --cpu skylake)'),
    used.length === 0
      ? h('p', {}, 'No TLB array was looked up.')
      : h('table', { className: 'tlb-levels' }, h('thead', {}, h('tr', {}, ...['array', 'size', 'looked up', 'filled'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...used.map((l) => h('tr', { 'data-array': l.name }, h('th', { scope: 'row' }, ARRAY_LABEL[l.name] ?? l.name), h('td', {}, `${l.entries} entries, ${l.ways === l.entries ? 'fully associative' : `${l.ways}-way`}`), h('td', {}, l.hits + l.misses === 0 ? '\u2014' : [l.hits ? word(l.hits, 'hit') : '', l.misses ? word(l.misses, 'miss', 'misses') : ''].filter(Boolean).join(', ')), h('td', {}, l.fills ? `filled${l.evictions ? `, evicting ${word(l.evictions, 'entry', 'entries')}` : ''}` : '\u2014'))))),
    h('p', {}, r.hierWalks === 0 ? 'No page walk: a TLB translated the address.' : `${word(r.hierWalks, 'page walk')}${r.hierWalks > 1 ? ' (the access ran again after the fault, or a hit that did not allow it walked)' : ''}; entries read from memory: ${['PML4E', 'PDPTE', 'PDE', 'PTE'].map((n, i) => `${r.walkReads[i]} ${n}`).join(', ')}${r.walkReads[0]! < r.hierWalks ? ' \u2014 the paging-structure caches gave the upper entries' : ''}.`),
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

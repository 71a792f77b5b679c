/**
 * The invariant auditor of a machine (as Linux's tools/testing/vma checks VMA trees and
 * CONFIG_DEBUG_VM checks page counts), run after every step of the property tests:
 * - the regions of every VMM space are ordered, non-overlapping and page-aligned;
 * - every frame's reference count equals the holders the auditor finds: page-table entries
 *   (read from simulated RAM in the hardware format, one reference per 4 KiB frame a leaf
 *   covers), the tables themselves, roots, and the frames the VMM holds (zero pages, shared
 *   memory objects), plus frame 0 and whatever the test allocated itself (`extraHeld`);
 * - on every CPU, no TLB entry that can still be used translates what the tables do not: its
 *   page maps the same frames in the tables of the space its PCID belongs to, with no permission
 *   the tables lack (a TLB may be less permissive than the tables, never more). An entry can be
 *   used when its tag is the CPU's current PCID on a CPU that runs a task, or when a switch to
 *   the space that holds the tag would not flush it (the tag's ASID slot is up to date with the
 *   space's tlb_gen, or it is the space's global ASID); entries of a dead space or of a slot
 *   behind its space's generation are unreachable (the switch that could reach them flushes).
 *   A CPU with a hierarchy is checked array by array (hierDump); its walk caches only count
 *   references (the walk always reads RAM), so they translate nothing;
 * - the scheduler's state is consistent: a task and its CPU point at each other, a CPU that runs
 *   a task has its address space loaded and is not lazy, a CPU stays in the cpumask of the
 *   space it has loaded, and each cpumask's count matches its bits;
 * - with swap, every slot's reference count equals its holders: swap entries in the page
 *   tables (non-present entries in Linux's encoding), processes' clean swap copies, and shared
 *   memory objects' swapped pages; and every swap-cache page's slot is in use;
 * - the page cache and the files' reverse maps (audit-files.ts);
 * - in every VMM space, every present page and every swap entry lies inside a region, its RSS
 *   counter is the pages mapped less zero-page mappings, and the resident set agrees with the tables: its tracked and locked pages are present, its swapped
 *   pages' entries hold their slots (a failure in the middle of munmap or destroy breaks these);
 * It throws an Error naming the first broken invariant.
 */
import { AddressSpace, type Machine } from '../../src/index.js';
import { GLOBAL_TAG, TlbFlag } from '../../src/core/constants.js';
import { DUMP_ENTRY, Slot } from '../../src/tlb/layout.js';
import type { Cpu } from '../../src/machine/cpu.js';
import type { MmContext } from '../../src/machine/mm-context.js';
import type { MmuSpace } from '../../src/machine/mmu-space.js';
import { decodeSwapEntry } from '../../src/reclaim/swap-entry.js';
import { auditFiles } from './audit-files.js';

const P = 1;
const RW = 2;
const US = 4;
const PS = 0x80;
const TWO32 = 2 ** 32;

interface Leaf {
  pa: number;
  size: number;
  rw: boolean;
  us: boolean;
  nx: boolean;
}

/** Audits `m`; `extraHeld` lists frames the test holds references on itself (each once per reference). */
export function auditMachine(m: Machine, extraHeld: readonly number[] = []): void {
  // One walk of each space's user half serves the frame, slot and mapping audits.
  const walks = new Map<MmuSpace, Entries>();
  for (const s of m.addressSpaces()) {
    const e: Entries = { la: [], size: [], lo: [], hi: [], tables: [] };
    userEntries(m, s.rootFrame, 4, 0, e);
    walks.set(s, e);
    if (!(s instanceof AddressSpace)) continue;
    auditRegions(s);
    auditMappings(s, e);
  }
  auditFrames(m, extraHeld, walks);
  auditCpus(m);
  for (const cpu of m.cpuArray) auditTlb(m, cpu);
  auditSlots(m, walks);
  auditFiles(m);
}

function auditSlots(m: Machine, walks: Map<MmuSpace, Entries>): void {
  const swap = m.vmm.swap;
  if (!swap) return;
  const refs = new Map<number, number>();
  const add = (slot: number) => refs.set(slot, (refs.get(slot) ?? 0) + 1);
  for (const [s, e] of walks) {
    // Swap entries: non-present, non-zero 4 KiB-level entries.
    for (let x = 0; x < e.lo.length; x++) if ((e.lo[x]! & P) === 0) add(decodeSwapEntry(e.lo[x]!, e.hi[x]!));
    if (s instanceof AddressSpace) for (const slot of s.vm.resident?.cached.values() ?? []) add(slot);
  }
  for (const slot of m.vmm.heldSlots()) add(slot);
  for (let slot = 1; slot <= swap.slots.total; slot++) {
    const want = refs.get(slot) ?? 0;
    const got = swap.slots.refs(slot);
    if (got !== want) throw new Error(`swap slot ${slot}: reference count ${got}, but ${want} holder(s) found`);
  }
  for (const [slot] of m.vmm.swapCache.entries()) if (swap.slots.refs(slot) === 0) throw new Error(`swap cache page of free slot ${slot}`);
}

/** The user-half entries under one table (present leaves and swap entries), in address order: address, size, low and high word. */
interface Entries {
  la: number[];
  size: number[];
  lo: number[];
  hi: number[];
  /** The table frames below the root. */
  tables: number[];
}

function userEntries(m: Machine, table: number, level: number, base: number, out: Entries): void {
  const w = tableWords(m, table);
  const span = 2 ** (12 + 9 * (level - 1));
  const n = level === 4 ? 256 : 512;
  for (let i = 0; i < n; i++) {
    const lo = w[2 * i]!;
    const hi = w[2 * i + 1]!;
    if (lo === 0 && hi === 0) continue;
    if ((lo & P) === 0 ? level === 1 : level === 1 || (level <= 3 && (lo & PS) !== 0)) {
      out.la.push(base + i * span);
      out.size.push(span);
      out.lo.push(lo);
      out.hi.push(hi);
    } else if ((lo & P) !== 0) {
      out.tables.push(frameOf(lo, hi));
      userEntries(m, frameOf(lo, hi), level - 1, base + i * span, out);
    }
  }
}

/**
 * Pages and swap entries only inside regions; the resident set's pages as the tables have them.
 * The walk yields entries in address order, as the regions and the resident set's views iterate:
 * each check is one merge of two sorted lists, no lookup per page (the property tests run this at every step).
 */
function auditMappings(s: AddressSpace, e: Entries): void {
  const regions = [...s.vm.regions];
  const present: Array<[first: number, end: number]> = []; // vpn ranges of present leaves, in order
  const swapped: Array<[vpn: number, slot: number]> = [];
  const zero = s.vm.ctx.zeroFrame;
  const hugeZero = s.vm.ctx.hugeZeroStart;
  let rss = 0;
  let k = 0;
  for (let x = 0; x < e.la.length; x++) {
    const la = e.la[x]!;
    const lo = e.lo[x]!;
    const end = la + e.size[x]!;
    while (k < regions.length && regions[k]!.end <= la) k++;
    // The leaf lies in regions end to end (a large leaf may span touching ones).
    let at = la;
    for (let j = k; j < regions.length && regions[j]!.start <= at && at < end; j++) at = regions[j]!.end;
    if (at < end) throw new Error(`space ${s.pcid}: ${(lo & P) !== 0 ? 'a page' : 'a swap entry'} at 0x${la.toString(16)} lies in no region`);
    const vpn = la / 4096;
    if ((lo & P) === 0) swapped.push([vpn, decodeSwapEntry(lo, e.hi[x]!)]);
    else {
      present.push([vpn, end / 4096]);
      const pfn = frameOf(lo, e.hi[x]!);
      // The huge zero page's 512 frames are zero pages too (a split leaves 4 KiB entries to each).
      if (pfn !== zero && !(hugeZero >= 0 && pfn >= hugeZero && pfn < hugeZero + 512)) rss += (end - la) / 4096;
    }
  }
  // The RSS counter (resident pages less zero-page mappings, kept as pages are mapped) is what the tables hold.
  if (s.vm.pages.rss !== rss) throw new Error(`space ${s.pcid}: RSS ${s.vm.pages.rss} by the counters, ${rss} pages in the tables`);
  const rs = s.vm.resident;
  if (!rs) return;
  const mustBePresent = (what: string, vpns: Iterable<number>) => {
    let i = 0;
    for (const v of vpns) {
      while (i < present.length && present[i]![1] <= v) i++;
      if (i === present.length || present[i]![0] > v) throw new Error(`space ${s.pcid}: ${what} page 0x${(v * 4096).toString(16)} is not present`);
    }
  };
  mustBePresent('tracked', rs.tracked);
  mustBePresent('locked', rs.locked);
  let i = 0;
  for (const [v, slot] of rs.swapped) {
    while (i < swapped.length && swapped[i]![0] < v) i++;
    const held = i < swapped.length && swapped[i]![0] === v ? swapped[i]![1] : undefined;
    if (held !== slot) throw new Error(`space ${s.pcid}: page 0x${(v * 4096).toString(16)} is in swap slot ${slot} but its entry holds ${held ?? 'none'}`);
  }
}

/** Regions ordered, non-overlapping, page-aligned and non-empty, and the region tree's own figures right (RegionMap.check). */
export function auditRegions(s: AddressSpace): void {
  s.vm.regions.check();
}

/** The 512 entries of a table as 1024 words (lo, hi), a view of simulated RAM (no copy). */
function tableWords(m: Machine, table: number): Uint32Array {
  const pa = table * 4096;
  const dv = m.physical.viewAt(pa);
  return new Uint32Array(dv.buffer, dv.byteOffset + (pa % 2 ** 30), 1024);
}

function entryAt(m: Machine, table: number, index: number): [number, number] {
  const w = tableWords(m, table);
  return [w[2 * index]!, w[2 * index + 1]!];
}

function frameOf(lo: number, hi: number): number {
  return ((lo & 0xfffff000) >>> 0) / 4096 + (hi & 0xfffff) * (TWO32 / 4096);
}

/** Walks one table level: counts tables and leaf frames into `refs`. */
function walkTable(m: Machine, table: number, level: number, from: number, to: number, refs: Float64Array): void {
  const w = tableWords(m, table);
  for (let i = from; i < to; i++) {
    const lo = w[2 * i]!;
    if ((lo & P) === 0) continue;
    const hi = w[2 * i + 1]!;
    if (level === 1 || (level <= 3 && (lo & PS) !== 0)) {
      // A large leaf's bit 12 is its PAT bit, not an address bit.
      const f = frameOf(level === 1 ? lo : lo & ~0x1000, hi);
      const frames = level === 1 ? 1 : level === 2 ? 512 : 512 * 512;
      for (let k = 0; k < frames; k++) refs[f + k]!++;
    } else {
      const f = frameOf(lo, hi);
      refs[f]!++;
      walkTable(m, f, level - 1, 0, 512, refs);
    }
  }
}

function auditFrames(m: Machine, extraHeld: readonly number[], walks: Map<MmuSpace, Entries>): void {
  const total = m.physical.totalFrames;
  // Frames a corrupt entry names beyond RAM land in the spare slot at the end.
  const refs = new Float64Array(total + 1);
  const add = (f: number) => refs[f < total ? f : total]!++;
  add(0); // frame 0 reports one reference and is never handed out
  const roots = [m.idleRoot, ...m.addressSpaces().map((s) => s.rootFrame)];
  for (const r of roots) add(r);
  // The kernel half is the same 256 PDPTs under every root: walk it once.
  walkTable(m, m.idleRoot, 4, 256, 512, refs);
  for (const e of walks.values()) {
    for (const t of e.tables) add(t);
    for (let x = 0; x < e.lo.length; x++) {
      const lo = e.lo[x]!;
      if ((lo & P) === 0) continue;
      // A large leaf's bit 12 is its PAT bit, not an address bit; one reference per 4 KiB frame it covers.
      const size = e.size[x]!;
      const f = frameOf(size === 4096 ? lo : lo & ~0x1000, e.hi[x]!);
      for (let k = 0; k < size / 4096; k++) add(f + k);
    }
  }
  for (const f of m.vmm.heldFrames()) add(f);
  for (const f of extraHeld) add(f);
  if (refs[total]! > 0) throw new Error(`${refs[total]} reference(s) to frames beyond RAM`);
  for (let f = 0; f < total; f++) {
    const want = refs[f]!;
    const got = m.core.refCount(f);
    if (got !== want) throw new Error(`frame ${f}: reference count ${got}, but ${want} holder(s) found`);
  }
}

/** The leaf mapping `la` in the tables under `root`, with the permissions of the whole walk. */
function walk(m: Machine, root: number, la: number): Leaf | undefined {
  let table = root;
  let rw = true;
  let us = true;
  let nx = false;
  for (let level = 4; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const [lo, hi] = entryAt(m, table, Math.floor(la / 2 ** shift) % 512);
    if ((lo & P) === 0) return undefined;
    rw &&= (lo & RW) !== 0;
    us &&= (lo & US) !== 0;
    nx ||= hi >>> 31 === 1;
    if (level === 1 || (level <= 3 && (lo & PS) !== 0)) {
      const size = 2 ** shift;
      return { pa: frameOf(lo & ~(level === 1 ? 0 : 0x1000), hi) * 4096 + (la % size), size, rw, us, nx };
    }
    table = frameOf(lo, hi);
  }
  return undefined;
}

/** The scheduler's and the TLB code's bookkeeping agree with each other. */
function auditCpus(m: Machine): void {
  const spaces = m.addressSpaces();
  for (const cpu of m.cpuArray) {
    const t = cpu.task;
    if (t !== undefined) {
      if (t.cpu !== cpu) throw new Error(`CPU ${cpu.index} runs a task that says it runs on ${t.cpu?.index ?? 'no CPU'}`);
      if (t.mm !== cpu.loaded) throw new Error(`CPU ${cpu.index} runs a task whose address space is not the one it has loaded`);
      if (cpu.lazy) throw new Error(`CPU ${cpu.index} runs a task and is lazy`);
    }
    if (cpu.loaded !== m.initMm && !cpu.loaded.dead && cpu.loaded.cpumask[cpu.index] !== 1) throw new Error(`CPU ${cpu.index} has a space loaded but is not in its cpumask`);
    if (cpu.tag !== (m.pcidEnabled ? cpu.asids.pcid(cpu.asid) : 0)) throw new Error(`CPU ${cpu.index}: tag ${cpu.tag} is not the PCID of its ASID ${cpu.asid}`);
  }
  for (const s of spaces) {
    let bits = 0;
    for (const b of s.mm.cpumask) bits += b;
    if (bits !== s.mm.cpusInMask) throw new Error(`space ${s.mm.ctxId}: cpumask has ${bits} bits but counts ${s.mm.cpusInMask}`);
    for (const task of (s as MmuSpace).tasks()) if (task.cpu !== undefined && task.cpu.task !== task) throw new Error(`a task of space ${s.mm.ctxId} says it runs on CPU ${task.cpu.index}, which runs another`);
  }
}

/**
 * The space whose tables an entry tagged `tag` on `cpu` answers for when it can still be used
 * (see the module comment), 'unreachable' when no switch can use it without a flush first, or
 * undefined when it belongs to nobody (an error).
 */
function ownerOf(m: Machine, cpu: Cpu, tag: number, live: Map<number, MmContext>): MmContext | 'unreachable' | undefined {
  if (tag === cpu.tag && cpu.task !== undefined) return cpu.loaded;
  for (const mm of live.values()) if (mm.globalAsid !== 0 && mm.globalAsid + 1 === tag) return mm;
  const h = cpu.asids.holder(tag);
  // A tag no slot holds (the static model's shared PCID 0 of an idle CPU) flushes at the next switch to it.
  if (h === undefined) return 'unreachable';
  const mm = live.get(h.ctxId);
  if (mm === undefined || mm.tlbGen !== h.gen) return 'unreachable';
  return mm;
}

/** The valid entries of one CPU's TLB arrays: the single TLB's, or every TLB array of its hierarchy (hierDump). */
function entriesOf(m: Machine, cpu: Cpu): Array<{ key: number; pbase: number; flags: number; where: string }> {
  const out: Array<{ key: number; pbase: number; flags: number; where: string }> = [];
  if (!cpu.hierStats) {
    const t = cpu.tlbState;
    for (let e = 0; e < t.key.length; e++) if ((t.flags[e]! & TlbFlag.VALID) !== 0) out.push({ key: t.key[e]!, pbase: t.pbase[e]!, flags: t.flags[e]!, where: `TLB entry ${e}` });
    return out;
  }
  const was = m.selected;
  m.selectCpu(cpu.index);
  try {
    for (let slot = 0; slot < Slot.PWC_PML4; slot++) {
      const buf = new Float64Array((1 << 20) * (DUMP_ENTRY + 1) + 2);
      const n = m.core.hierDump(slot, buf);
      if (n < 0) continue;
      const entries = (n - 2) / (DUMP_ENTRY + 1);
      for (let e = 0; e < entries; e++) {
        const key = buf[e * DUMP_ENTRY]!;
        if (key !== -1) out.push({ key, pbase: buf[e * DUMP_ENTRY + 1]!, flags: buf[e * DUMP_ENTRY + 2]! | TlbFlag.VALID, where: `hierarchy slot ${slot} entry ${e}` });
      }
    }
  } finally {
    m.selectCpu(was);
  }
  return out;
}

function auditTlb(m: Machine, cpu: Cpu): void {
  const spaces = m.addressSpaces();
  const live = new Map<number, MmContext>(spaces.map((s) => [s.mm.ctxId, s.mm]));
  live.set(m.initMm.ctxId, m.initMm);
  const rootOf = new Map<MmContext, number>(spaces.map((s) => [s.mm, s.rootFrame]));
  rootOf.set(m.initMm, m.idleRoot);
  for (const { key, pbase, flags, where } of entriesOf(m, cpu)) {
    const q = Math.floor(key / 8192);
    const tag = key - q * 8192;
    const sc = q % 4;
    const size = sc === 0 ? 4096 : sc === 1 ? 2 ** 21 : 2 ** 30;
    const la = Math.floor(q / 4) * size;
    const global = tag === GLOBAL_TAG;
    let owners: number[];
    if (global) owners = [m.idleRoot];
    else {
      const mm = ownerOf(m, cpu, tag, live);
      if (mm === 'unreachable') continue;
      if (mm === undefined || (mm !== m.initMm && mm.dead)) throw new Error(`CPU ${cpu.index} ${where} (la ${la}, tag ${tag}) belongs to no live address space`);
      owners = [rootOf.get(mm) ?? m.idleRoot];
    }
    const ok = owners.some((root) => {
      // Every 4 KiB page of the entry must map the same frame in the tables, with at least the entry's permissions.
      for (let off = 0; off < size; off += 4096) {
        const l = walk(m, root, la + off);
        if (!l || l.pa !== pbase + off) return false;
        if ((flags & TlbFlag.WRITABLE) !== 0 && !l.rw) return false;
        if ((flags & TlbFlag.USER) !== 0 && !l.us) return false;
        if ((flags & TlbFlag.NX) === 0 && l.nx) return false;
        if (size > 4096 && off === 0 && size > 2 ** 21) break; // a 1 GiB entry: its first page stands for the rest
      }
      return true;
    });
    if (!ok) throw new Error(`CPU ${cpu.index} ${where} (la 0x${la.toString(16)}, tag ${tag}, flags ${flags}) translates what the page tables do not`);
  }
}

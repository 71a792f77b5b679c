/**
 * The invariant auditor of a machine (as Linux's tools/testing/vma checks VMA trees and
 * CONFIG_DEBUG_VM checks page counts), run after every step of the property tests:
 * - the regions of every VMM space are ordered, non-overlapping and maximally merged;
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
 *   memory objects' swapped pages; and every swap-cache page's slot is in use.
 * It throws an Error naming the first broken invariant.
 */
import { AddressSpace, type Machine } from '../../src/index.js';
import { GLOBAL_TAG, TlbFlag } from '../../src/core/constants.js';
import { DUMP_ENTRY, Slot } from '../../src/tlb/layout.js';
import type { Cpu } from '../../src/machine/cpu.js';
import type { MmContext } from '../../src/machine/mm-context.js';
import type { MmuSpace } from '../../src/machine/mmu-space.js';
import { decodeSwapEntry } from '../../src/reclaim/swap-entry.js';

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
  for (const s of m.addressSpaces()) if (s instanceof AddressSpace) auditRegions(s);
  auditFrames(m, extraHeld);
  auditCpus(m);
  for (const cpu of m.cpuArray) auditTlb(m, cpu);
  auditSlots(m);
}

/** Swap entries (non-present, non-zero 4 KiB-level entries) under one table level of a root: counted into `refs` by slot. */
function walkSwapEntries(m: Machine, table: number, level: number, to: number, refs: Map<number, number>): void {
  const w = tableWords(m, table);
  for (let i = 0; i < to; i++) {
    const lo = w[2 * i]!;
    const hi = w[2 * i + 1]!;
    if ((lo & P) === 0) {
      if (level === 1 && (lo !== 0 || hi !== 0)) {
        const slot = decodeSwapEntry(lo, hi);
        refs.set(slot, (refs.get(slot) ?? 0) + 1);
      }
      continue;
    }
    if (level > 1 && !(level <= 3 && (lo & PS) !== 0)) walkSwapEntries(m, frameOf(lo, hi), level - 1, 512, refs);
  }
}

function auditSlots(m: Machine): void {
  const swap = m.vmm.swap;
  if (!swap) return;
  const refs = new Map<number, number>();
  const add = (slot: number) => refs.set(slot, (refs.get(slot) ?? 0) + 1);
  for (const s of m.addressSpaces()) {
    walkSwapEntries(m, s.rootFrame, 4, 256, refs);
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

/** Regions ordered, non-overlapping, page-aligned, non-empty and maximally merged, and the region tree's own figures right (RegionMap.check). */
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

function auditFrames(m: Machine, extraHeld: readonly number[]): void {
  const total = m.physical.totalFrames;
  // Frames a corrupt entry names beyond RAM land in the spare slot at the end.
  const refs = new Float64Array(total + 1);
  const add = (f: number) => refs[f < total ? f : total]!++;
  add(0); // frame 0 reports one reference and is never handed out
  const roots = [m.idleRoot, ...m.addressSpaces().map((s) => s.rootFrame)];
  for (const r of roots) add(r);
  // The kernel half is the same 256 PDPTs under every root: walk it once.
  walkTable(m, m.idleRoot, 4, 256, 512, refs);
  for (const s of m.addressSpaces()) walkTable(m, s.rootFrame, 4, 0, 256, refs);
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

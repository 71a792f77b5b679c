/**
 * The invariant auditor of a machine (as Linux's tools/testing/vma checks VMA trees and
 * CONFIG_DEBUG_VM checks page counts), run after every step of the property tests:
 * - the regions of every VMM space are ordered, non-overlapping and maximally merged;
 * - every frame's reference count equals the holders the auditor finds: page-table entries
 *   (read from simulated RAM in the hardware format, one reference per 4 KiB frame a leaf
 *   covers), the tables themselves, roots, and the frames the VMM holds (zero pages, shared
 *   memory objects), plus frame 0 and whatever the test allocated itself (`extraHeld`);
 * - no valid TLB entry translates what the tables do not: its page maps the same frames in
 *   the tables of its PCID's space, with no permission the tables lack (a TLB may be less
 *   permissive than the tables, never more);
 * - with swap, every slot's reference count equals its holders: swap entries in the page
 *   tables (non-present entries in Linux's encoding), processes' clean swap copies, and shared
 *   memory objects' swapped pages; and every swap-cache page's slot is in use;
 * - the page cache and the files' reverse maps (audit-files.ts).
 * It throws an Error naming the first broken invariant.
 */
import { AddressSpace, type Machine } from '../../src/index.js';
import { GLOBAL_TAG, TlbFlag } from '../../src/core/constants.js';
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
  for (const s of m.addressSpaces()) if (s instanceof AddressSpace) auditRegions(s);
  auditFrames(m, extraHeld);
  auditTlb(m);
  auditSlots(m);
  auditFiles(m);
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

function auditTlb(m: Machine): void {
  const t = m.tlbState;
  const spaces = m.addressSpaces();
  for (let e = 0; e < t.key.length; e++) {
    const flags = t.flags[e]!;
    if ((flags & TlbFlag.VALID) === 0) continue;
    const q = Math.floor(t.key[e]! / 8192);
    const tag = t.key[e]! - q * 8192;
    const sc = q % 4;
    const size = sc === 0 ? 4096 : sc === 1 ? 2 ** 21 : 2 ** 30;
    const la = Math.floor(q / 4) * size;
    const global = tag === GLOBAL_TAG;
    // Which tables the entry answers for: its PCID's space (the current one without PCIDs), any space for a global entry.
    const owners = global ? [m.idleRoot] : m.pcidEnabled ? (tag === 0 ? [m.idleRoot, ...spaces.filter((s) => s.pcid === 0).map((s) => s.rootFrame)] : spaces.filter((s) => s.pcid === tag).map((s) => s.rootFrame)) : [m.current?.rootFrame ?? m.idleRoot];
    if (owners.length === 0) throw new Error(`TLB entry ${e} (la ${la}, tag ${tag}) belongs to no live address space`);
    const ok = owners.some((root) => {
      // Every 4 KiB page of the entry must map the same frame in the tables, with at least the entry's permissions.
      for (let off = 0; off < size; off += 4096) {
        const l = walk(m, root, la + off);
        if (!l || l.pa !== t.pbase[e]! + off) return false;
        if ((flags & TlbFlag.WRITABLE) !== 0 && !l.rw) return false;
        if ((flags & TlbFlag.USER) !== 0 && !l.us) return false;
        if ((flags & TlbFlag.NX) === 0 && l.nx) return false;
        if (size > 4096 && off === 0 && size > 2 ** 21) break; // a 1 GiB entry: its first page stands for the rest
      }
      return true;
    });
    if (!ok) throw new Error(`TLB entry ${e} (la 0x${la.toString(16)}, tag ${tag}, flags ${flags}) translates what the page tables do not`);
  }
}

/**
 * The reference model of the per-CPU TLB hierarchy (the js backend runs it; native/hierarchy.cc
 * is its fast twin and the differential tests compare the two entry by entry).
 *
 * One page touch of a user-mode access: the L1 arrays of its side (instruction fetches the L1I,
 * data the L1D), then the second-level arrays (for fetches the separate L2 ITLB when the
 * hierarchy has one, as AMD's cores do), then a page walk through the machine's real
 * walker (which sets Accessed/Dirty in the page tables). An entry that is found but does not
 * permit the access (a write through a read-only or clean entry) is a hit at its level that
 * needs an *assist*: a walk, which sets Dirty or raises the fault. A completed walk fills the
 * second level and the L1 (the arrays holding the page's size; non-inclusive, no
 * back-invalidation); a second-level hit fills the L1. The paging-structure caches shorten the
 * walk: the deepest cached upper entry is used, and only the levels below it are read.
 *
 * Counting: a lookup is counted once, when first made; the retry after a resolved fault goes
 * straight to the walk (the fault dropped the address everywhere). A level's miss is attributed
 * to the array that holds the page's size once the translation is known (the level's first
 * array when the access was refused).
 */
import { GLOBAL_TAG, TlbFlag } from '../constants.js';
import { userHitAllowed } from '../tlb-state.js';
import { CONF_FIELDS, HIER_RETRY, HierOp, HierStat, Slot, SlotStat } from '../../tlb/layout.js';
import { TlbArray } from './tlb-array.js';

/** What the model needs of the CPU: CR3's root and tag, the walker, the permission rules, RAM's page-table entries. */
export interface HierCpu {
  readonly root: number;
  readonly tag: number;
  /** A walk with the access's intent (flags bit 0 user, bit 1 AC): 0 (outputs below set) or a page-fault value (< 0; the fault is raised as by access()). */
  walkFor(la: number, kind: number, flags: number): number;
  /** SDM §4.6's permission check (Cpu.allowed). */
  allowed(kind: number, user: boolean, ac: boolean, u: boolean, w: boolean, nx: boolean): boolean;
  readonly walkPbase: number;
  readonly walkFlags: number;
  readonly walkSizeClass: number;
  /** Low and high words of the 8-byte entry at physical address `pa`, or undefined beyond RAM. */
  entryAt(pa: number): [number, number] | undefined;
  readonly nxe: boolean;
}

const L1_SLOTS = [
  [Slot.L1I, Slot.L1I_2M],
  [Slot.L1D, Slot.L1D_2M, Slot.L1D_1G],
];
const STLB_SLOTS = [Slot.STLB, Slot.STLB_1G];
const L2I_SLOTS = [Slot.L2I];
/** PWC slot of the upper level L (index L): PD for 2, PDPT for 3, PML4 for 4. */
const PWC_SLOT = [-1, -1, Slot.PWC_PD, Slot.PWC_PDPT, Slot.PWC_PML4];
const TWO32 = 2 ** 32;
const TWO48 = 2 ** 48;
const SIZES = [4096, 2 ** 21, 2 ** 30];

/** The hierarchy of one CPU over a core's walker. */
export class HierarchyModel {
  readonly arrays: Array<TlbArray | undefined> = [];
  /** Pending touch (faulted, not yet retried or skipped): bit 0 set, bit 1 its L1 missed, bit 2 its second level missed; side in bit 3. */
  private pending = 0;
  /** The physical address of touch()'s access when it succeeded, its fault value when not. */
  private lastPa = 0;
  private lastFault = 0;

  constructor(
    config: Float64Array,
    readonly stats: Float64Array,
    private readonly cpu: HierCpu,
  ) {
    for (let s = 0; s < Slot.COUNT; s++) {
      const b = s * CONF_FIELDS;
      const entries = config[b]!;
      this.arrays.push(entries > 0 ? new TlbArray(entries, config[b + 1]!, config[b + 2]!, config[b + 3]!, config[b + 4]!) : undefined);
    }
  }

  /** See Core.hierTraceBatch. */
  traceBatch(w: Uint32Array, start: number, end: number, flags: number, out: Float64Array): number {
    let retry = (flags & HIER_RETRY) !== 0;
    // A batch that does not retry the pending touch settles it (the caller skipped that access).
    if (!retry && this.pending !== 0) this.abandon();
    for (let pos = start; pos < end * 2; ) {
      const i = pos >> 1;
      const hi = w[2 * i + 1]!;
      const la = (hi & 0xffff) * TWO32 + w[2 * i]!;
      const tk = (hi >>> 16) & 3;
      const kind = tk === 3 ? 1 : tk;
      const side = tk === 2 ? 0 : 1;
      let last = la + ((hi >>> 18) & 0xfff);
      if (last >= TWO48) last -= TWO48;
      const lastVpn = Math.floor(last / 4096);
      const split = Math.floor(la / 4096) !== lastVpn;
      if ((pos & 1) === 0) {
        if (!this.touch(la, kind, side, retry, 1)) return pos;
        retry = false;
      }
      if (split) {
        if (!this.touch(lastVpn * 4096, kind, side, retry, 1)) return 2 * i + 1;
        retry = false;
      }
      out[tk]! += 1;
      if (split) out[4]! += 1;
      pos = 2 * i + 2;
    }
    return end * 2;
  }

  /**
   * One access of the machine API through the hierarchy (Cpu.access when one is attached): the
   * physical address, or the fault value. flags: bit 0 user, bit 1 AC, bit 3 (HIER_RETRY) the
   * access retries the one that faulted (its lookups were counted).
   */
  access(la: number, kind: number, flags: number): number {
    return this.touch(la, kind, kind === 2 ? 0 : 1, (flags & HIER_RETRY) !== 0, flags & 3) ? this.lastPa : this.lastFault;
  }

  /** Whether entry flags `f` let the access through with nothing else to do: userHitAllowed in user mode, else the SDM's supervisor rules (and Dirty for a write). */
  private hitOk(f: number, kind: number, mode: number): boolean {
    if ((mode & 1) !== 0) return userHitAllowed(f, kind);
    if ((f & TlbFlag.VALID) === 0 || !this.cpu.allowed(kind, false, (mode & 2) !== 0, (f & TlbFlag.USER) !== 0, (f & TlbFlag.WRITABLE) !== 0, (f & TlbFlag.NX) !== 0)) return false;
    return kind !== 1 || (f & TlbFlag.DIRTY) !== 0;
  }

  private hit(s: number): void {
    this.stats[s * SlotStat.FIELDS + SlotStat.HITS]! += 1;
  }

  private missAt(s: number): void {
    this.stats[s * SlotStat.FIELDS + SlotStat.MISSES]! += 1;
  }

  /** The slot of `slots` holding page size class sc, or -1. */
  private holder(slots: readonly number[], sc: number): number {
    for (const s of slots) if (this.arrays[s] && (this.arrays[s]!.sizes & (1 << sc)) !== 0) return s;
    return -1;
  }

  private fillSlot(s: number, la: number, sc: number, tag: number, pbase: number, flags: number): void {
    if (s < 0) return;
    const a = this.arrays[s]!;
    const st = s * SlotStat.FIELDS;
    this.stats[st + SlotStat.FILLS]! += 1;
    if (a.fill(Math.floor(la / 2 ** (12 + 9 * sc)), sc, tag, pbase, flags & ~TlbFlag.VALID)) this.stats[st + SlotStat.EVICTIONS]! += 1;
  }

  /** A refused access's pending misses go to each level's first array. */
  private abandon(): void {
    const p = this.pending;
    this.pending = 0;
    const side = (p >> 3) & 1;
    if (p & 2) {
      const s = L1_SLOTS[side]!.find((x) => this.arrays[x]);
      if (s !== undefined) this.missAt(s);
    }
    if (p & 4) {
      const s = this.secondLevel(side).find((x) => this.arrays[x]);
      if (s !== undefined) this.missAt(s);
    }
  }

  /** The second-level arrays a side looks up: fetches use the L2 ITLB when there is one (AMD), else the shared second level. */
  private secondLevel(side: number): readonly number[] {
    return side === 0 && this.arrays[Slot.L2I] ? L2I_SLOTS : STLB_SLOTS;
  }

  /** One page touch (mode: bit 0 user, bit 1 AC); false on a page fault (raised by the walker, the address dropped everywhere). */
  private touch(la: number, kind: number, side: number, retry: boolean, mode: number): boolean {
    const tag = this.cpu.tag;
    const st = this.stats;
    let l1Missed = false;
    let stlbMissed = false;
    let assistSlot = -1;
    let assistE = -1;
    const again = retry && this.pending !== 0;
    if (again) {
      l1Missed = (this.pending & 2) !== 0;
      stlbMissed = (this.pending & 4) !== 0;
    } else {
      if (this.pending !== 0) this.abandon();
      let any = false;
      for (const s of L1_SLOTS[side]!) {
        const a = this.arrays[s];
        if (!a) continue;
        any = true;
        const e = a.lookup(la, tag);
        if (e < 0) continue;
        this.hit(s);
        a.touch(e);
        if (this.hitOk(a.flags[e]!, kind, mode)) {
          this.lastPa = a.pbase[e]! + (la % SIZES[Math.floor(a.key[e]! / 8192) % 4]!);
          return true;
        }
        st[HierStat.ASSISTS]! += 1;
        assistSlot = s;
        assistE = e;
        break;
      }
      if (assistSlot < 0 && any) {
        l1Missed = true;
        st[side === 0 ? HierStat.L1I_MISSES : HierStat.L1D_MISSES]! += 1;
      }
      if (assistSlot < 0) {
        let anyS = false;
        for (const s of this.secondLevel(side)) {
          const a = this.arrays[s];
          if (!a) continue;
          anyS = true;
          const e = a.lookup(la, tag);
          if (e < 0) continue;
          this.hit(s);
          st[side === 0 ? HierStat.STLB_HITS_I : HierStat.STLB_HITS_D]! += 1;
          a.touch(e);
          if (this.hitOk(a.flags[e]!, kind, mode)) {
            const k = a.key[e]!;
            const sc = Math.floor(k / 8192) % 4;
            this.lastPa = a.pbase[e]! + (la % SIZES[sc]!);
            const l1 = this.holder(L1_SLOTS[side]!, sc);
            if (l1Missed && l1 >= 0) this.missAt(l1);
            this.fillSlot(l1, la, sc, k % 8192, a.pbase[e]!, a.flags[e]!);
            return true;
          }
          st[HierStat.ASSISTS]! += 1;
          assistSlot = s;
          assistE = e;
          break;
        }
        if (assistSlot < 0 && anyS) {
          stlbMissed = true;
          st[side === 0 ? HierStat.STLB_MISSES_I : HierStat.STLB_MISSES_D]! += 1;
        }
      }
    }
    st[side === 0 ? HierStat.WALKS_I : HierStat.WALKS_D]! += 1;
    if (!again && assistSlot < 0) st[HierStat.MISSES_ALL]! += 1;
    this.pending = 1 | (l1Missed ? 2 : 0) | (stlbMissed ? 4 : 0) | (side << 3);
    const cpu = this.cpu;
    const r = cpu.walkFor(la, kind, mode);
    this.walkRefs(la, r === 0 ? cpu.walkSizeClass + 1 : this.depth(la), r === 0);
    if (r < 0) {
      st[HierStat.FAULT_WALKS]! += 1;
      this.dropFaulting(la, tag);
      this.lastFault = r;
      return false;
    }
    this.pending = 0;
    const sc = cpu.walkSizeClass;
    this.lastPa = cpu.walkPbase + (la % SIZES[sc]!);
    const wf = cpu.walkFlags;
    const ftag = (wf & TlbFlag.GLOBAL) !== 0 ? GLOBAL_TAG : tag;
    const l1 = this.holder(L1_SLOTS[side]!, sc);
    if (assistSlot >= 0) {
      this.arrays[assistSlot]!.flags[assistE] = wf | TlbFlag.VALID;
      if (assistSlot >= Slot.STLB) {
        if (l1Missed && l1 >= 0) this.missAt(l1);
        this.fillSlot(l1, la, sc, ftag, cpu.walkPbase, wf);
      }
      return true;
    }
    const s2 = this.holder(this.secondLevel(side), sc);
    if (stlbMissed && s2 >= 0) this.missAt(s2);
    if (l1Missed && l1 >= 0) this.missAt(l1);
    this.fillSlot(s2, la, sc, ftag, cpu.walkPbase, wf);
    this.fillSlot(l1, la, sc, ftag, cpu.walkPbase, wf);
    return true;
  }

  /** The deepest level a (faulting) walk of `la` reads: where an entry is not present, reserved, or a leaf. */
  private depth(la: number): number {
    let table = this.cpu.root;
    for (let level = 4; ; level--) {
      const idx = Math.floor(la / 2 ** (12 + 9 * (level - 1))) % 512;
      const e = this.cpu.entryAt(table * 4096 + idx * 8);
      if (!e) return level;
      const [lo, hi] = e;
      if ((lo & 1) === 0 || (!this.cpu.nxe && hi >>> 31 !== 0)) return level;
      const ps = (lo & 0x80) !== 0;
      if (level === 1 || ps) return level;
      table = (lo >>> 12) + (hi & 0xfffff) * 1048576;
    }
  }

  /** Paging-structure caches and memory references of one walk reading down to level `last`; fills the caches after a successful walk. */
  private walkRefs(la: number, last: number, ok: boolean): void {
    const st = this.stats;
    const tag = this.cpu.tag;
    let first = 4;
    for (let L = last + 1; L <= 4; L++) {
      const s = PWC_SLOT[L]!;
      const a = this.arrays[s];
      if (!a) continue;
      const e = a.find(Math.floor(la / 2 ** (3 + 9 * L)), 0, tag);
      if (e >= 0) {
        this.hit(s);
        a.touch(e);
        first = L - 1;
        break;
      }
      this.missAt(s);
    }
    for (let L = first; L >= last; L--) st[HierStat.REFS_PML4E + 4 - L]! += 1;
    if (!ok) return;
    for (let L = last + 1; L <= first; L++) {
      const s = PWC_SLOT[L]!;
      if (!this.arrays[s]) continue;
      const vpn = Math.floor(la / 2 ** (3 + 9 * L));
      const ss = s * SlotStat.FIELDS;
      st[ss + SlotStat.FILLS]! += 1;
      if (this.arrays[s]!.fill(vpn, 0, tag, 0, 0)) st[ss + SlotStat.EVICTIONS]! += 1;
    }
  }

  /** SDM §4.10.4.1: a page fault drops the address's TLB entries (current PCID, and global ones) and the paging-structure-cache entries that would be used for it. */
  private dropFaulting(la: number, tag: number): void {
    for (let s = 0; s < Slot.PWC_PML4; s++) this.arrays[s]?.dropAddress(la, tag, true);
    for (let L = 2; L <= 4; L++) {
      const a = this.arrays[PWC_SLOT[L]!];
      if (!a) continue;
      const e = a.find(Math.floor(la / 2 ** (3 + 9 * L)), 0, tag);
      if (e >= 0) a.drop(e);
    }
  }

  /** INVLPG and INVPCID (HierOp) on every array. */
  invalidate(op: number, pcid: number, la: number): void {
    const tlbs = this.arrays.slice(0, Slot.PWC_PML4);
    const pwcs = this.arrays.slice(Slot.PWC_PML4);
    switch (op) {
      case HierOp.INVLPG:
      case HierOp.INVPCID_ADDRESS:
        // The page's translations (INVLPG also global ones); every walk-cache entry of the PCID, whatever its address.
        for (const a of tlbs) a?.dropAddress(la, pcid, op === HierOp.INVLPG);
        for (const a of pwcs) a?.dropWhere((t) => t === pcid);
        break;
      case HierOp.INVPCID_CONTEXT:
        for (const a of this.arrays) a?.dropWhere((t) => t === pcid);
        break;
      case HierOp.INVPCID_ALL_GLOBAL:
        for (const a of this.arrays) a?.dropWhere(() => true);
        break;
      case HierOp.INVPCID_ALL:
        for (const a of this.arrays) a?.dropWhere((t) => t !== GLOBAL_TAG);
        break;
    }
  }

  /** The pending faulted touch (a snapshot's state). */
  get pendingTouch(): number {
    return this.pending;
  }
  /** A snapshot's state put back: each present array's dump (null for absent slots) and the pending touch; false on a mismatch. */
  restore(dumps: ReadonlyArray<Float64Array | null>, pending: number): boolean {
    if (dumps.length !== this.arrays.length) return false;
    for (let s = 0; s < dumps.length; s++) {
      const d = dumps[s];
      if (!d) continue;
      const a = this.arrays[s];
      if (!a || !a.load(d)) return false;
    }
    this.pending = pending;
    return true;
  }

  /** The state of one array (TlbArray.dump), or -1 when the slot is absent. */
  dump(slot: number, out: Float64Array): number {
    const a = this.arrays[slot];
    return a ? a.dump(out) : -1;
  }
}

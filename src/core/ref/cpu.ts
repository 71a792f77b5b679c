/** The reference core's CPU: CR3, the access path (TLB, walk, SDM permission rules, A/D), batches and copies. */
import { Counter, Feature, GLOBAL_TAG, PFEC, PTE, PTE_HI, Result, Status, TlbFlag, CHUNK_BYTES, TWO47, TWO48 } from '../constants.js';
import { tlbLookup, tlbTouch, type TlbState } from '../tlb-state.js';
import { entryPfn, indexAt, SPAN } from './page-table.js';
import { fill, invalidateAddress, invalidateWhere } from './tlb.js';
import type { Ram } from './ram.js';
import type { HierarchyModel } from './hierarchy-model.js';

/** Access flag bit 3: the access retries one that faulted (the hierarchy counts its lookups once). */
const HIER_RETRY = 8;

const SIZE_OF_CLASS = [4096, 2 ** 21, 2 ** 30];

/** The access path over one RAM and TLB. */
export class Cpu {
  root = -1;
  tag = 0;
  /** With a hierarchy attached, the access path goes through it instead of the single TLB. */
  hier: HierarchyModel | undefined;
  private readonly nxe: boolean;
  private readonly smep: boolean;
  private readonly smap: boolean;
  private readonly pcide: boolean;
  private readonly wp: boolean;
  // Outputs of the last successful walk.
  private wPbase = 0;
  private wFlags = 0;
  private wSizeClass = 0;

  constructor(private readonly ram: Ram, readonly tlb: TlbState, readonly counters: Float64Array, private readonly result: Float64Array, features: number) {
    this.nxe = (features & Feature.NXE) !== 0;
    this.smep = (features & Feature.SMEP) !== 0;
    this.smap = (features & Feature.SMAP) !== 0;
    this.pcide = (features & Feature.PCIDE) !== 0;
    this.wp = (features & Feature.WP) !== 0;
  }

  /** MOV to CR3. */
  setCr3(root: number, pcid: number, noFlush: boolean): void {
    this.root = root;
    this.tag = this.pcide ? pcid : 0;
    if (this.pcide) {
      if (noFlush) return;
      const tag = this.tag;
      invalidateWhere(this.tlb, (key, f) => (f & TlbFlag.GLOBAL) === 0 && key % 8192 === tag);
    } else {
      invalidateWhere(this.tlb, (_k, f) => (f & TlbFlag.GLOBAL) === 0);
    }
    this.counters[Counter.FLUSHES]!++;
  }

  /** Permission check of SDM §4.6: true when allowed. */
  allowed(kind: number, user: boolean, ac: boolean, u: boolean, w: boolean, nx: boolean): boolean {
    if (user) return u && (kind !== 1 || w) && (kind !== 2 || !nx);
    if (kind === 2) return !nx && !(this.smep && u);
    if (this.smap && u && !ac) return false;
    return kind !== 1 || !this.wp || w;
  }

  private fault(la: number, kind: number, user: boolean, present: boolean, rsvd: boolean): number {
    let code = (present ? PFEC.P : 0) | (kind === 1 ? PFEC.W : 0) | (user ? PFEC.U : 0) | (rsvd ? PFEC.RSVD : 0);
    if (kind === 2 && (this.nxe || this.smep)) code |= PFEC.I;
    invalidateAddress(this.tlb, la, this.tag); // SDM §4.10.4.1: a fault drops the address's entries
    this.counters[Counter.FAULTS]!++;
    this.result[Result.A] = la;
    this.result[Result.B] = code;
    this.result[Result.C] = kind;
    return -(1 + code);
  }

  /** Page walk with A/D updates. Returns 0 and sets w* fields, or a fault return value. */
  private walk(la: number, kind: number, user: boolean, ac: boolean): number {
    this.counters[Counter.WALKS]!++;
    const ram = this.ram;
    let table = this.root;
    let w = true;
    let u = true;
    let nx = false;
    const eas: number[] = [];
    let level = 4;
    let lo = 0;
    let hi = 0;
    for (;; level--) {
      const ea = table * 4096 + indexAt(la, level) * 8;
      if (ea + 8 > ram.bytes) return this.fault(la, kind, user, false, false);
      lo = ram.lo(ea);
      hi = ram.hi(ea);
      if ((lo & PTE.P) === 0) return this.fault(la, kind, user, false, false);
      const ps = (lo & PTE.PS) !== 0;
      const rsvd =
        (!this.nxe && (hi & PTE_HI.NX) !== 0) ||
        (level === 4 && ps) ||
        (level === 3 && ps && (lo & 0x3fffe000) !== 0) ||
        (level === 2 && ps && (lo & 0x1fe000) !== 0);
      if (rsvd) return this.fault(la, kind, user, true, true);
      w = w && (lo & PTE.RW) !== 0;
      u = u && (lo & PTE.US) !== 0;
      nx = nx || (this.nxe && (hi & PTE_HI.NX) !== 0);
      eas.push(ea);
      if (level === 1 || (level < 4 && ps)) break;
      table = entryPfn(lo, hi);
    }
    if (!this.allowed(kind, user, ac, u, w, nx)) return this.fault(la, kind, user, true, false);
    for (let i = 0; i < eas.length; i++) {
      const ea = eas[i]!;
      const elo = ram.lo(ea);
      let nlo = elo | PTE.A;
      if (i === eas.length - 1 && kind === 1) nlo |= PTE.D;
      if (nlo !== elo) ram.set(ea, nlo >>> 0, ram.hi(ea));
    }
    const leafLo = ram.lo(eas[eas.length - 1]!);
    const frames = SPAN[level]! / 4096;
    const pfn = entryPfn(lo, hi);
    this.wPbase = (pfn - (pfn % frames)) * 4096;
    this.wSizeClass = level - 1;
    this.wFlags =
      (w ? TlbFlag.WRITABLE : 0) | (u ? TlbFlag.USER : 0) | (nx ? TlbFlag.NX : 0) | ((leafLo & PTE.D) !== 0 ? TlbFlag.DIRTY : 0) | ((leafLo & PTE.G) !== 0 ? TlbFlag.GLOBAL : 0);
    return 0;
  }

  /** One access; see Core.access. */
  access(la: number, kind: number, flags: number): number {
    if (this.hier) {
      const r = this.hier.access(la, kind, flags);
      if (r >= 0) this.counters[Counter.READS + kind]!++;
      return r;
    }
    const user = (flags & 1) !== 0;
    const ac = (flags & 2) !== 0;
    if (this.root < 0) return this.fault(la, kind, user, false, false);
    const t = this.tlb;
    const c = this.counters;
    const e = tlbLookup(t, la, this.tag);
    if (e >= 0) {
      c[Counter.HITS]!++;
      tlbTouch(t, e);
      const f = t.flags[e]!;
      if (!this.allowed(kind, user, ac, (f & TlbFlag.USER) !== 0, (f & TlbFlag.WRITABLE) !== 0, (f & TlbFlag.NX) !== 0)) {
        return this.fault(la, kind, user, true, false);
      }
      if (kind === 1 && (f & TlbFlag.DIRTY) === 0) {
        const r = this.walk(la, kind, user, ac);
        if (r < 0) return r;
        t.flags[e] = (t.flags[e]! & TlbFlag.VALID) | this.wFlags;
      }
      c[Counter.READS + kind]!++;
      const size = SIZE_OF_CLASS[Math.floor(t.key[e]! / 8192) % 4]!;
      return t.pbase[e]! + (la % size);
    }
    c[Counter.MISSES]!++;
    const r = this.walk(la, kind, user, ac);
    if (r < 0) return r;
    const size = SIZE_OF_CLASS[this.wSizeClass]!;
    const tag = (this.wFlags & TlbFlag.GLOBAL) !== 0 ? GLOBAL_TAG : this.tag;
    fill(t, c, Math.floor(la / size), this.wSizeClass, tag, this.wPbase, this.wFlags);
    c[Counter.READS + kind]!++;
    return this.wPbase + (la % size);
  }

  /** A walk for the TLB hierarchy (src/core/ref/hierarchy-model.ts), flags bit 0 user, bit 1 AC: 0 with walkPbase/walkFlags/walkSizeClass set, or a fault value. */
  walkFor(la: number, kind: number, flags: number): number {
    if (this.root < 0) return this.fault(la, kind, (flags & 1) !== 0, false, false);
    return this.walk(la, kind, (flags & 1) !== 0, (flags & 2) !== 0);
  }

  get walkPbase(): number {
    return this.wPbase;
  }

  get walkFlags(): number {
    return this.wFlags;
  }

  get walkSizeClass(): number {
    return this.wSizeClass;
  }

  get nxeEnabled(): boolean {
    return this.nxe;
  }

  /** See Core.accessBatch. */
  accessBatch(las: Float64Array, kinds: Uint8Array, start: number, end: number, flags: number): number {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > las.length || end > kinds.length) return Status.EINVAL;
    // Bit 2 of flags: already checked by the caller (a resume after a handled fault).
    for (let i = (flags & 4) !== 0 ? end : start; i < end; i++) {
      const a = las[i]!;
      if (kinds[i]! > 2 || !(a >= -TWO47 && a < TWO47) || !Number.isInteger(a)) return Status.EINVAL;
    }
    for (let i = start; i < end; i++) {
      const a = las[i]!;
      // Only the first may retry a faulted access (bit 3, the hierarchy's).
      if (this.access(a < 0 ? a + TWO48 : a, kinds[i]!, i === start ? flags : flags & ~HIER_RETRY) < 0) return i;
    }
    return end;
  }

  /** See Core.traceBatch. */
  traceBatch(w: Uint32Array, start: number, end: number, flags: number, out: Float64Array): number {
    if (!Number.isInteger(start) || !Number.isInteger(end) || !Number.isInteger(flags) || start < 0 || end < 0 || start > end * 2 || end * 2 > w.length || out.length < 5) return Status.EINVAL;
    if ((flags & 4) === 0) for (let i = start >> 1; i < end; i++) if (w[2 * i + 1]! >>> 30 !== 0) return Status.EINVAL;
    // Through the hierarchy when one is attached (user mode only, as hierTraceBatch).
    if (this.hier) return (flags & 1) !== 0 ? this.hier.traceBatch(w, start, end, flags, out) : Status.EINVAL;
    for (let pos = start; pos < end * 2; ) {
      const i = pos >> 1;
      const hi = w[2 * i + 1]!;
      const la = (hi & 0xffff) * 4294967296 + w[2 * i]!;
      const tk = (hi >>> 16) & 3;
      const kind = tk === 3 ? 1 : tk;
      // No float `%` here: V8 compiles it to an fmod call, dearer than the rest of the record.
      let last = la + ((hi >>> 18) & 0xfff);
      if (last >= TWO48) last -= TWO48;
      const lastVpn = Math.floor(last / 4096);
      const lastPage = lastVpn * 4096;
      const split = Math.floor(la / 4096) !== lastVpn;
      if ((pos & 1) === 0 && this.access(la, kind, flags) < 0) return pos;
      if (split && this.access(lastPage, kind, flags) < 0) return 2 * i + 1;
      out[tk]! += 1;
      if (split) out[4]! += 1;
      pos = 2 * i + 2;
    }
    return end * 2;
  }

  /** See Core.copyVirt. */
  copyVirt(la: number, buf: Uint8Array, offset: number, length: number, write: boolean, flags: number): number {
    let done = 0;
    while (done < length) {
      const va = la + done;
      // Only the first page's access may retry a faulted one (bit 3, the hierarchy's).
      const pa = this.access(va, write ? 1 : 0, done === 0 ? flags : flags & ~HIER_RETRY);
      if (pa < 0) return done;
      const n = Math.min(length - done, 4096 - (va % 4096));
      this.copyPhys(pa, buf, offset + done, n, write);
      done += n;
    }
    return done;
  }

  private copyPhys(pa: number, buf: Uint8Array, off: number, n: number, toRam: boolean): void {
    for (let k = 0; k < n; ) {
      const p = pa + k;
      if (p >= this.ram.bytes) {
        if (!toRam) buf.fill(0, off + k, off + n);
        return;
      }
      const ci = Math.floor(p / CHUNK_BYTES);
      const chunk = this.ram.chunk(ci);
      const co = p - ci * CHUNK_BYTES;
      const m = Math.min(n - k, chunk.length - co);
      if (toRam) chunk.set(buf.subarray(off + k, off + k + m), co);
      else buf.set(chunk.subarray(co, co + m), off + k);
      k += m;
    }
  }
}

/**
 * The replay engine: packed trace records through one process's address space. The common
 * case (one TLB level) is one native traceBatch call per chunk, resumed after each fault; TS
 * only resolves faults. Split L1 TLBs and paging-structure caches are modelled in TS in front
 * of the core's TLB (which becomes the L2), calling the core once per L1 miss.
 */
import { Counter, Result, TraceOut } from '../core/constants.js';
import { tlbLookup, userHitAllowed } from '../core/tlb-state.js';
import { VmmError } from '../errors.js';
import { hex } from '../hex.js';
import type { AddressSpace } from '../vmm/address-space.js';
import type { Machine } from '../machine/machine.js';
import { anonymousRegionHook } from './anon-regions.js';
import { faultError, RETRY, type FaultInfo, type FaultOutcome } from '../machine/fault.js';
import { LruCache } from './lru-cache.js';
import type { ResolvedReplayOptions } from './replay-options.js';
import type { ResidentSet } from '../vmm/resident-set.js';

const USER = 1;
const TWO32 = 2 ** 32;
const TWO48 = 2 ** 48;
const ACCESS_OF = [0, 1, 2, 1];
const MAX_SEGFAULTS_LISTED = 10;

/** Counters of a replay in progress. */
export class ReplayEngine {
  /** Completed records by trace kind (TraceOut order) and page-crossing records. */
  readonly out = new Float64Array(TraceOut.LENGTH);
  segv = 0;
  readonly segfaults: Array<{ address: string; access: string; cause: string }> = [];
  readonly l1i?: LruCache;
  readonly l1d?: LruCache;
  readonly pwc?: { pml4?: LruCache; pdpt?: LruCache; pd?: LruCache; refs: number };
  /** Second-level counts (hierarchy mode only). */
  l2Hits = 0;
  l2Misses = 0;
  private anyHuge = false;
  /** The resident set whose policy needs every reference (lru, lfu, 2q, arc), told of each page touch that hit. */
  private readonly everyRef: ResidentSet | undefined;
  private readonly hierarchy: boolean;
  private readonly retries0: number;

  constructor(
    readonly machine: Machine,
    readonly space: AddressSpace,
    readonly o: ResolvedReplayOptions,
  ) {
    if (o.l1i) this.l1i = new LruCache(o.l1i.entries, o.l1i.ways);
    if (o.l1d) this.l1d = new LruCache(o.l1d.entries, o.l1d.ways);
    if (o.pwc) {
      const mk = (n: number) => (n > 0 ? new LruCache(n, n) : undefined);
      this.pwc = { pml4: mk(o.pwc.pml4), pdpt: mk(o.pwc.pdpt), pd: mk(o.pwc.pd), refs: 0 };
    }
    this.hierarchy = this.l1i !== undefined || this.l1d !== undefined || this.pwc !== undefined;
    this.retries0 = machine.retries;
    const rs = space.vm.resident;
    this.everyRef = rs && rs.policy.kind === 'every-reference' ? rs : undefined;
    if (o.mode === 'anon') space.vm.onMissingRegion = anonymousRegionHook(o.pageSize === '2m');
  }

  /** Accesses re-executed after a resolved fault (the core counted each as one more lookup and miss; not the trace's). */
  get retries(): number {
    return this.machine.retries - this.retries0;
  }

  /**
   * Replays records [0, count) of a chunk; returns how many records it had. `recheck` (a
   * reader's deferred check, see TraceChunk) is called if a record has reserved bits set.
   */
  run(words: Uint32Array, count: number, recheck?: () => number): number {
    this.machine.activate(this.space);
    if (this.hierarchy) {
      // The modelled path reads records one by one in TS: check first, the cost is small here.
      const n = recheck ? recheck() : count;
      this.runModelled(words, n);
      return n;
    }
    return this.runNative(words, count, recheck);
  }

  private runNative(words: Uint32Array, count: number, recheck: (() => number) | undefined): number {
    // The native core takes no SharedArrayBuffer views: a private copy keeps both backends alike.
    if (words.buffer instanceof SharedArrayBuffer) words = words.slice();
    const core = this.machine.core;
    const out = this.out;
    const rs = this.everyRef;
    for (;;) {
      const n = count;
      let faultAt = -1;
      const batch = rs
        ? (p: number, flags: number) => {
            const r = core.traceBatch(words, p, n, flags, out);
            // Touches [p, r) hit; a resumed touch (p = the fault) was the insert's reference already.
            if (r >= 0) this.referenceHits(rs, words, p === faultAt ? p + 1 : p, r);
            faultAt = r;
            return r;
          }
        : (p: number, flags: number) => core.traceBatch(words, p, n, flags, out);
      const pos = this.space.runBatch(batch, 0, n * 2, USER, (p, fault, outcome) => this.refused(words, p >> 1, fault, outcome));
      if (pos >= 0) return count;
      // The core checks a batch before running any of it, so nothing ran: check, then replay the rest.
      if (!recheck) throw new VmmError('EINVAL', 'trace chunk has a record with reserved bits set (bits 30-31 of its second word)');
      count = recheck();
      recheck = undefined;
    }
  }

  /** Tells the policy of the page touches [from, to) (positions: record * 2 + part), all hits. */
  private referenceHits(rs: ResidentSet, words: Uint32Array, from: number, to: number): void {
    for (let pos = from; pos < to; ) {
      const i = pos >> 1;
      const hi = words[2 * i + 1]!;
      const la = (hi & 0xffff) * TWO32 + words[2 * i]!;
      const tk = (hi >>> 16) & 3;
      const write = tk === 1 || tk === 3;
      const first = Math.floor(la / 4096);
      const last = Math.floor((la + ((hi >>> 18) & 0xfff)) / 4096);
      if ((pos & 1) === 0) {
        rs.reference(first, write);
        pos += last === first ? 2 : 1;
      } else {
        rs.reference(last, write);
        pos++;
      }
    }
  }

  /** A fault the VMM refused at record i: counted once, the record counted as done; returns the next position. */
  private refused(words: Uint32Array, i: number, f: FaultInfo, outcome: FaultOutcome): number {
    this.countRefused(f, outcome);
    this.out[(words[2 * i + 1]! >>> 16) & 3]! += 1;
    return 2 * i + 2;
  }

  private countRefused(f: FaultInfo, outcome: FaultOutcome): void {
    if (outcome.type === 'oom' || outcome.type === 'sigbus') throw faultError(f, outcome);
    this.segv++;
    if (this.segfaults.length < MAX_SEGFAULTS_LISTED) {
      this.segfaults.push({ address: hex(f.address), access: f.access, cause: outcome.type === 'segv' ? outcome.cause : faultError(f, outcome).message });
    }
  }

  // ------------------------------------------------------------ modelled hierarchy

  private runModelled(words: Uint32Array, count: number): void {
    const out = this.out;
    for (let i = 0; i < count; i++) {
      const hi = words[2 * i + 1]!;
      if (hi >>> 30 !== 0) throw new VmmError('EINVAL', 'trace chunk has a record with reserved bits set (bits 30-31 of its second word)');
      const la = (hi & 0xffff) * TWO32 + words[2 * i]!;
      const tk = (hi >>> 16) & 3;
      const kind = ACCESS_OF[tk]!;
      // No float `%` here: V8 compiles it to an fmod call, dearer than the rest of the record.
      let last = la + ((hi >>> 18) & 0xfff);
      if (last >= TWO48) last -= TWO48;
      const lastVpn = Math.floor(last / 4096);
      const lastPage = lastVpn * 4096;
      const split = Math.floor(la / 4096) !== lastVpn;
      out[tk]! += 1;
      // The common case inline: the page is the MRU entry of its L1 set and permits the access
      // (exactly what touch() would conclude, with no state to change but the hit count).
      const l1 = kind === 2 ? this.l1i : this.l1d;
      if (l1 !== undefined && !split) {
        const v4 = Math.floor(la / 4096);
        const b = l1.base(v4);
        if (l1.keys[b] === v4 * 4) {
          if (userHitAllowed(l1.vals[b]!, kind)) {
            l1.hits++;
            continue;
          }
        }
      }
      if (!this.touch(la, kind)) continue;
      if (split) {
        out[TraceOut.SPLITS]! += 1;
        this.touch(lastPage, kind);
      }
    }
  }

  /** One page touch through L1 (if any), then the core (the L2 and the walker). */
  private touch(la: number, kind: number): boolean {
    const l1 = kind === 2 ? this.l1i : this.l1d;
    // L1 keys carry the size class (vpn * 4 + class); the set comes from the page number.
    const v4 = Math.floor(la / 4096);
    const k4 = v4 * 4;
    let assist = false;
    if (l1) {
      let f = l1.lookup(k4, v4);
      if (f < 0 && this.anyHuge) f = l1.lookup(Math.floor(la / 2 ** 21) * 4 + 1, Math.floor(la / 2 ** 21));
      if (f >= 0) {
        l1.hits++;
        if (userHitAllowed(f, kind)) return true;
        assist = true; // permission or Dirty update: the core decides (a walk, or a fault)
      } else {
        l1.misses++;
      }
    }
    const m = this.machine;
    const c = m.counters;
    const h0 = c[Counter.HITS]!;
    let w0 = c[Counter.WALKS]!;
    let pa = m.core.access(la, kind, USER);
    if (!assist) {
      if (c[Counter.HITS]! > h0) this.l2Hits++;
      else this.l2Misses++;
    }
    let retried: FaultInfo | undefined;
    while (pa < 0) {
      this.walked(la, c[Counter.WALKS]! - w0);
      this.dropL1(la);
      const f = this.space.readFault(USER);
      const outcome = this.space.decide(f, retried);
      if (outcome !== RETRY) {
        this.countRefused(f, outcome);
        return false;
      }
      retried = f;
      w0 = c[Counter.WALKS]!;
      pa = m.core.access(la, kind, USER);
    }
    const sc = this.walked(la, c[Counter.WALKS]! - w0);
    if (l1) {
      const e = tlbLookup(m.tlbState, la, this.space.pcid);
      if (e >= 0) {
        const huge = sc > 0 || Math.floor(m.tlbState.key[e]! / 8192) % 4 === 1;
        if (huge) this.anyHuge = true;
        const v2 = Math.floor(la / 2 ** 21);
        if (huge) l1.fill(v2 * 4 + 1, m.tlbState.flags[e]!, v2);
        else l1.fill(k4, m.tlbState.flags[e]!, v4);
      }
    }
    return true;
  }

  /** A fault drops the address's translations from every level (SDM 4.10.4.1), so from both L1s too. */
  private dropL1(la: number): void {
    const v4 = Math.floor(la / 4096);
    const v2 = Math.floor(la / 2 ** 21);
    for (const l1 of [this.l1i, this.l1d]) {
      if (!l1) continue;
      l1.invalidate(v4 * 4, v4);
      if (this.anyHuge) l1.invalidate(v2 * 4 + 1, v2);
    }
  }

  /** Accounts `walks` page walks of `la` in the paging-structure caches; returns the leaf's size class (0 4K, 1 2M) when known. */
  private walked(la: number, walks: number): number {
    const p = this.pwc;
    if (!p || walks === 0) return 0;
    const root = this.space.rootFrame;
    const huge = this.machine.core.translate(root, la) === 0 && this.machine.result[Result.D]! === 21 ? 1 : 0;
    for (let w = 0; w < walks; w++) {
      // Deepest cached non-leaf entry first: a PDE hit leaves one reference (the PTE), and so on.
      const levels: Array<[LruCache | undefined, number]> = huge ? [[p.pdpt, Math.floor(la / 2 ** 30)], [p.pml4, Math.floor(la / 2 ** 39)]] : [[p.pd, Math.floor(la / 2 ** 21)], [p.pdpt, Math.floor(la / 2 ** 30)], [p.pml4, Math.floor(la / 2 ** 39)]];
      let refs = levels.length + 1;
      for (let d = 0; d < levels.length; d++) {
        const [cache, key] = levels[d]!;
        if (!cache) continue;
        if (cache.lookup(key) >= 0) {
          cache.hits++;
          refs = d + 1;
          break;
        }
        cache.misses++;
        cache.fill(key, 1);
      }
      p.refs += refs;
    }
    return huge;
  }
}

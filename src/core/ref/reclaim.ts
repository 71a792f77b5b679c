/**
 * The reference implementation of the core's reclaim operations (lists of 4 KiB user pages:
 * A/D bits, swap entries, swap-in). Mirrors native/reclaim.cc; the differential test compares them.
 */
import { CHUNK_BYTES, PageBit, PTE, PTE_HI, Result, Status } from '../constants.js';
import type { Core } from '../core.js';
import type { Ram } from './ram.js';
import type { Frames } from './frames.js';
import { entryPfn, indexAt, leafFrames, makeEntry, type PageTables } from './page-table.js';

const TWO47 = 2 ** 47;
const ATTR_LO = 0xf7e;

type ReclaimOps = Pick<Core, 'pageBits' | 'clearAccessedList' | 'swapOutList' | 'readEntry' | 'writeEntries' | 'swapIn' | 'copyFramesOut'>;

/** True when las[0..count) are 4 KiB-aligned user-half addresses and count fits the array. */
export function listOk(las: Float64Array, count: number): boolean {
  if (!(las instanceof Float64Array) || !Number.isInteger(count) || count < 0 || count > las.length) return false;
  for (let i = 0; i < count; i++) {
    const la = las[i]!;
    if (!Number.isInteger(la) || la < 0 || la >= TWO47 || la % 4096 !== 0) return false;
  }
  return true;
}

/** Builds the reclaim operations over one reference core's RAM, frames and tables. */
export function refReclaimOps(ram: Ram, frames: Frames, pt: PageTables, result: Float64Array): ReclaimOps {
  const rootOk = (r: number) => frames.usable(r);
  /** Physical address of la's 4 KiB-level entry: -1 when no table holds it, -2 when a large leaf maps it. */
  const slot = (root: number, la: number, create: boolean): number => {
    const t = pt.descend(root, la, 1, create);
    if (t < 0) return -2;
    if (t === 0) return -1;
    return pt.ea(t, indexAt(la, 1));
  };
  const typedOk = (a: unknown, ctor: typeof Uint32Array | typeof Uint8Array | typeof Float64Array, n: number) => a instanceof ctor && a.length >= n;

  return {
    pageBits(root, las, count, out, fr) {
      if (!listOk(las, count) || !rootOk(root) || !typedOk(out, Uint8Array, count) || !typedOk(fr, Float64Array, count)) return Status.EINVAL;
      for (let i = 0; i < count; i++) {
        const ea = slot(root, las[i]!, false);
        fr[i] = -1;
        if (ea === -2) {
          // A 2M/1G leaf: its A/D (the page's, as the CPU keeps them there) and this 4K part's frame.
          const leaf = pt.leaf(root, las[i]!, true);
          if (!leaf || leaf[2] < 2) {
            out[i] = PageBit.LARGE; // a bad large entry: reported, never followed
            continue;
          }
          const [table, idx, level] = leaf;
          const lea = pt.ea(table, idx);
          const llo = ram.lo(lea);
          const n = leafFrames(level);
          const raw = entryPfn(llo, ram.hi(lea));
          const pfn = raw - (raw % n) + (Math.floor(las[i]! / 4096) % n);
          out[i] = PageBit.LARGE | PageBit.PRESENT | (llo & PTE.A ? PageBit.ACCESSED : 0) | (llo & PTE.D ? PageBit.DIRTY : 0) | (llo & PTE.RW ? PageBit.WRITABLE : 0) | (frames.refs[pfn]! > 1 ? PageBit.SHARED : 0);
          fr[i] = pfn;
          continue;
        }
        const lo = ea < 0 ? 0 : ram.lo(ea);
        const hi = ea < 0 ? 0 : ram.hi(ea);
        if ((lo & PTE.P) === 0) {
          out[i] = lo !== 0 || hi !== 0 ? PageBit.SWAP : 0;
          continue;
        }
        const pfn = entryPfn(lo, hi);
        // A leaf naming no usable frame is a bad entry (untrusted tables): reported as empty, never followed.
        if (!frames.usable(pfn)) {
          out[i] = 0;
          continue;
        }
        out[i] = PageBit.PRESENT | (lo & PTE.A ? PageBit.ACCESSED : 0) | (lo & PTE.D ? PageBit.DIRTY : 0) | (lo & PTE.RW ? PageBit.WRITABLE : 0) | (frames.refs[pfn]! > 1 ? PageBit.SHARED : 0);
        fr[i] = pfn;
      }
      return Status.OK;
    },
    clearAccessedList(root, las, count) {
      if (!listOk(las, count) || !rootOk(root)) return Status.EINVAL;
      let cleared = 0;
      for (let i = 0; i < count; i++) {
        let ea = slot(root, las[i]!, false);
        if (ea === -2) {
          // pmdp_test_and_clear_young: a large leaf's Accessed bit.
          const leaf = pt.leaf(root, las[i]!, true);
          ea = leaf && leaf[2] >= 2 ? pt.ea(leaf[0], leaf[1]) : -1;
        }
        if (ea < 0) continue;
        const lo = ram.lo(ea);
        if ((lo & PTE.P) !== 0 && (lo & PTE.A) !== 0) {
          ram.set(ea, (lo & ~PTE.A) >>> 0, ram.hi(ea));
          cleared++;
        }
      }
      return cleared;
    },
    swapOutList(root, las, count, lo, hi) {
      if (!listOk(las, count) || !rootOk(root) || !typedOk(lo, Uint32Array, count) || !typedOk(hi, Uint32Array, count)) return Status.EINVAL;
      for (let i = 0; i < count; i++) {
        if ((lo[i]! & PTE.P) !== 0) return Status.EINVAL;
        const ea = slot(root, las[i]!, false);
        if (ea < 0 || (ram.lo(ea) & PTE.P) === 0 || !frames.usable(entryPfn(ram.lo(ea), ram.hi(ea)))) return Status.ENOENT;
      }
      let freed = 0;
      for (let i = 0; i < count; i++) {
        const ea = slot(root, las[i]!, false);
        const pfn = entryPfn(ram.lo(ea), ram.hi(ea));
        ram.set(ea, lo[i]!, hi[i]!);
        if (frames.unref(pfn) === 0) freed++;
      }
      return freed;
    },
    readEntry(root, la) {
      if (!rootOk(root) || !listOk(Float64Array.of(la), 1)) return Status.EINVAL;
      const ea = slot(root, la, false);
      if (ea === -2) return Status.EINVAL;
      if (ea === -1) return Status.ENOENT;
      result[Result.B] = ram.lo(ea);
      result[Result.C] = ram.hi(ea);
      return Status.OK;
    },
    writeEntries(root, las, count, lo, hi) {
      if (!listOk(las, count) || !rootOk(root) || !typedOk(lo, Uint32Array, count) || !typedOk(hi, Uint32Array, count)) return Status.EINVAL;
      for (let i = 0; i < count; i++) {
        if ((lo[i]! & PTE.P) !== 0) return Status.EINVAL;
        const ea = slot(root, las[i]!, false);
        if (ea === -2 || (ea >= 0 && (ram.lo(ea) & PTE.P) !== 0)) return Status.EEXIST;
      }
      let written = 0;
      try {
        for (let i = 0; i < count; i++) {
          const ea = slot(root, las[i]!, lo[i] !== 0 || hi[i] !== 0);
          if (ea < 0) continue;
          ram.set(ea, lo[i]!, hi[i]!);
          written++;
        }
      } catch (e) {
        return abortStatus(e);
      }
      return written;
    },
    swapIn(root, la, pfn, attrLo, attrHi, bytes, offset) {
      if (bytes !== null && (!(bytes instanceof Uint8Array) || !Number.isInteger(offset) || offset < 0 || offset + 4096 > bytes.length)) return Status.EINVAL;
      if (!rootOk(root) || !listOk(Float64Array.of(la), 1) || !Number.isInteger(pfn) || pfn < -1) return Status.EINVAL;
      let ea = slot(root, la, false);
      if (ea === -2 || (ea >= 0 && (ram.lo(ea) & PTE.P) !== 0)) return Status.EEXIST;
      if (pfn >= 0 && !frames.usable(pfn)) return Status.EINVAL;
      let f = pfn;
      if (pfn < 0) {
        f = frames.alloc();
        if (f < 0) return f;
      }
      if (ea < 0) {
        try {
          ea = slot(root, la, true);
        } catch (e) {
          if (pfn < 0) frames.unref(f);
          return abortStatus(e);
        }
      }
      if (pfn >= 0) frames.ref(f);
      else if (bytes) {
        const pa = f * 4096;
        ram.chunk(Math.floor(pa / CHUNK_BYTES)).set(bytes.subarray(offset, offset + 4096), pa % CHUNK_BYTES);
      }
      const [elo, ehi] = makeEntry(f, ((attrLo >>> 0) & ATTR_LO) | PTE.P, (attrHi >>> 0) & PTE_HI.NX);
      ram.set(ea, elo, ehi);
      return f;
    },
    copyFramesOut(fr, start, count, dst, dstOffset, zero) {
      if (!(fr instanceof Float64Array) || !(dst instanceof Uint8Array) || !(zero instanceof Uint8Array)) return Status.EINVAL;
      if (![start, count, dstOffset].every(Number.isInteger) || start < 0 || count < 0 || dstOffset < 0) return Status.EINVAL;
      if (start + count > fr.length || start + count > zero.length || dstOffset + count * 4096 > dst.length) return Status.EINVAL;
      for (let i = start; i < start + count; i++) if (!frames.usable(fr[i]!)) return Status.EINVAL;
      for (let i = start; i < start + count; i++) {
        const pa = fr[i]! * 4096;
        const c = ram.chunk(Math.floor(pa / CHUNK_BYTES));
        const at = pa % CHUNK_BYTES;
        let k = 0;
        while (k < 4096 && c[at + k] === 0) k++;
        zero[i] = k === 4096 ? 1 : 0;
        if (k !== 4096) dst.set(c.subarray(at, at + 4096), dstOffset + (i - start) * 4096);
      }
      return Status.OK;
    },
  };
}

/** The status of a page-table Abort (ENOMEM allocating a table); anything else is rethrown. */
function abortStatus(e: unknown): number {
  const st = (e as { status?: unknown } | null)?.status;
  if (typeof st === 'number') return st;
  throw e;
}

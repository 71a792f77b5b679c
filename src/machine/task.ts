/**
 * A task — a process's main thread or one of its threads — and what it does: accesses through
 * the TLB and the walker of the CPU it runs on, with the JS TLB-hit fast path, and the batch →
 * fault → resume loop. Faults go to its address space's fault handler, whose outcome is a
 * value; the access path builds the exception. An address space is its own main task
 * (MmuSpace); a Thread is another task of the same space.
 */
import { AccessKind, CHUNK_BYTES, Counter, PAGE_SIZE, Result, Status } from '../core/constants.js';
import { tlbFind, tlbLookup, tlbTouch, USER_HIT_MASK, USER_HIT_NEED, type TlbState } from '../core/tlb-state.js';
import { HIER_RETRY } from '../tlb/layout.js';
import { PageFault, SegmentationFault, VmmError, type BusError } from '../errors.js';
import { toBytes } from '../bytes.js';
import { hex } from '../hex.js';
import { describe, fromLinear, toCount, toLinear } from '../address.js';
import { strictOptions } from '../strict-options.js';
import { KIND_NAMES, kindCode } from './access-kind.js';
import { faultError, RETRY, UNHANDLED, type FaultHandler, type FaultInfo, type FaultOutcome } from './fault.js';
import type { PageTable } from './page-table.js';
import type { Mmu } from './mmu.js';
import type { Cpu, SchedTask } from './cpu.js';
import type { MmContext } from './mm-context.js';
import type { AccessKindName } from '../errors.js';

/** Options of an access. */
export interface AccessOptions {
  /** User-mode access (default true). */
  user?: boolean;
  /** EFLAGS.AC: lets a supervisor access touch user pages under SMAP (default false). */
  ac?: boolean;
}

/** Outcome of accessBatch. */
export interface BatchResult {
  /** Index of the first access that did not complete (= end when all did). */
  completed: number;
  /** Why the batch stopped early. */
  fault?: PageFault | SegmentationFault | BusError;
}

/** What a task's accesses need of its address space (an MmuSpace is one). @internal */
export interface TaskSpace {
  readonly rootFrame: number;
  readonly mm: MmContext;
  readonly pages: PageTable;
  faultHandler: FaultHandler;
}

const TWO48 = 2 ** 48;

/**
 * `la & PAGE_MASK` is la mod 4096 (ToInt32 keeps the low bits), never `%`: on numbers above
 * 2^31 V8 compiles `%` to an fmod call, dearer than the whole hit path. The hit paths write
 * 4096 as a literal: an imported constant is a module cell V8 reloads instead of folding
 * (`la / PAGE_SIZE` became a real division, ~4 ns a call).
 */
const PAGE_MASK = 4095;
// userHitAllowed's tables as module-local constants, tested inline in fastHit: V8 folds these
// (not imported bindings), and a call would spend inlining budget (see PAGE_MASK).
const FAST_NEED = USER_HIT_NEED;
const FAST_MASK = USER_HIT_MASK;
const HITS = Counter.HITS;
/** accessBatch/traceBatch flag bit 2: the core already checked this batch (a resume). */
const CHECKED = 4;
const READS = Counter.READS;

/** A task: the access API of an address space, run on the CPU the task runs on. */
export abstract class Task implements SchedTask {
  /** @internal The CPU it runs on, or undefined. */
  cpu: Cpu | undefined;

  /** @internal */
  constructor(
    readonly machine: Mmu,
    /** This task's id (the kernel's tid; an address space's main thread has its own). */
    readonly tid: number,
  ) {}

  /** @internal The address space whose tables its accesses use. */
  protected abstract get home(): TaskSpace;

  /** @internal Its address space's TLB context. */
  abstract readonly mm: MmContext;

  /** @internal SchedTask: throws when the task cannot run (exited, destroyed, another machine's). */
  checkRunnable(owner: unknown): void {
    if (owner !== this.machine) throw new VmmError('EINVAL', 'task must be a thread or an address space of this machine');
    this.live();
  }

  /** @internal Throws when the task can no longer run (an exited thread, a destroyed space, a disposed machine). */
  abstract live(): void;

  /** @internal True when the task can no longer run (what live() throws for). */
  abstract gone(): boolean;

  // ---------------------------------------------------------------- accesses

  /**
   * One access through the TLB and the walker, as the CPU makes it (A/D set, TLB filled):
   * the physical address reached. Faults go to the fault handler; unresolved ones throw.
   * The access runs on the CPU the task runs on; a task that runs nowhere is first scheduled on
   * CPU 0 (a context switch there, as a single CPU always did).
   */
  access(va: number | bigint, kind: AccessKindName = 'read', options?: AccessOptions): number {
    // Options first (their getters run once), then the liveness check: a getter cannot act on a dead space.
    const flags = options === undefined ? 1 : accessFlags(options);
    this.live();
    const la = toLinear(va, 'va');
    const k = kindCode(kind);
    this.machine.enter(this);
    if (flags === 1) {
      const pa = this.fastHit(la, k);
      if (pa >= 0) return pa;
    }
    return this.slowAccess(la, k, flags);
  }

  /** Reads `length` bytes of virtual memory at `va` (user mode unless options say otherwise). */
  read(va: number | bigint, length: number, options?: AccessOptions): Uint8Array {
    const n = toCount(length, 'length', { max: 2 ** 31 });
    const out = new Uint8Array(n);
    if (options !== undefined || n === 0 || !this.readHit(va, out, 0, n)) this.readIntoSlow(va, out, 0, n, options);
    return out;
  }

  /**
   * Reads `length` bytes at `va` into `dst[offset..]` without allocating (the emulator's load
   * path): a user-mode TLB hit within one page runs entirely in JS.
   */
  readInto(va: number | bigint, dst: Uint8Array, offset = 0, length = dst.length - offset, options?: AccessOptions): void {
    // The common case (a user-mode TLB hit within one page, small integer arguments) first,
    // in few enough bytecodes for V8 to inline the whole hit path; anything else is checked
    // and served by readIntoSlow.
    const simple = options === undefined && length > 0 && (offset | length) >= 0 && dst instanceof Uint8Array && offset + length <= dst.length && (offset | 0) === offset && (length | 0) === length;
    if (!simple || !this.readHit(va, dst, offset, length)) this.readIntoSlow(va, dst, offset, length, options);
  }

  /**
   * The user-mode read hit of read()/readInto() for checked dst/offset/length (length > 0):
   * true when a TLB hit within one page served it in JS, false when the caller must go the
   * checked, general way.
   */
  private readHit(va: number | bigint, dst: Uint8Array, offset: number, length: number): boolean {
    this.live();
    const la = toLinear(va, 'va');
    if ((la & PAGE_MASK) + length > 4096) return false;
    this.machine.enter(this);
    const pa = this.fastHit(la, AccessKind.READ);
    if (pa < 0) return false;
    this.machine.physical.copyOut(pa, dst, offset, length);
    return true;
  }

  /** readInto() with every argument checked: faults, page crossings, options, bad arguments. */
  private readIntoSlow(va: number | bigint, dst: Uint8Array, offset: number, length: number, options: AccessOptions | undefined): void {
    const flags = accessFlags(options);
    this.live();
    const la = toLinear(va, 'va');
    if (!(dst instanceof Uint8Array)) throw new VmmError('EINVAL', `dst must be a Uint8Array, got ${describe(dst)}`);
    toCount(offset, 'offset', { max: dst.length });
    toCount(length, 'length', { max: dst.length - offset });
    this.checkSpan(la, length);
    this.machine.enter(this);
    if (length === 0) return;
    // Options that still mean a plain user-mode access (user: true, no ac) may take the hit path.
    if (flags === 1 && this.readHit(va, dst, offset, length)) return;
    const view = offset === 0 && length === dst.length ? dst : dst.subarray(offset, offset + length);
    this.copyVirt(la, view, false, flags);
  }

  /**
   * Loads a little-endian unsigned integer of `size` bytes (1, 2, 4, or 8 as a bigint) at `va`,
   * as a user-mode read: the emulator's load, with no buffer at all. A TLB hit within one page
   * runs in JS.
   */
  load(va: number | bigint, size?: 1 | 2 | 4): number;
  load(va: number | bigint, size: 8): bigint;
  load(va: number | bigint, size: 1 | 2 | 4 | 8 = 4): number | bigint {
    const pa = this.smallAccess(va, size, AccessKind.READ);
    if (pa < 0) return this.loadSlow(va, size);
    const dv = this.machine.physical.viewAt(pa);
    const o = pa & (CHUNK_BYTES - 1); // ToInt32 keeps the low bits: pa mod CHUNK_BYTES
    return size === 4 ? dv.getUint32(o, true) : size === 2 ? dv.getUint16(o, true) : size === 1 ? dv.getUint8(o) : dv.getBigUint64(o, true);
  }

  /** A sign-extending load (MOVSX): `size` 1, 2 or 4 bytes as a number, 8 bytes as a bigint. */
  loadSigned(va: number | bigint, size?: 1 | 2 | 4): number;
  loadSigned(va: number | bigint, size: 8): bigint;
  loadSigned(va: number | bigint, size: 1 | 2 | 4 | 8 = 4): number | bigint {
    if (size === 8) return BigInt.asIntN(64, this.load(va, 8));
    const v = this.load(va, size);
    return size === 4 ? v | 0 : size === 2 ? (v << 16) >> 16 : (v << 24) >> 24;
  }

  /** load() through read(): faults, page crossings, supervisor-only or uncached pages. */
  private loadSlow(va: number | bigint, size: number): number | bigint {
    const b = this.read(va, size);
    if (size === 8) return new DataView(b.buffer).getBigUint64(0, true);
    return size === 4 ? (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0 : size === 2 ? b[0]! | (b[1]! << 8) : b[0]!;
  }

  /**
   * Stores `value` little-endian in `size` bytes (1, 2 or 4: an integer in the signed or
   * unsigned range of that size; 8: a bigint or safe integer in [-2^63, 2^64)) at `va`, as a
   * user-mode write. A value out of range is EINVAL, never truncated.
   */
  store(va: number | bigint, value: number | bigint, size: 1 | 2 | 4 | 8 = 4): void {
    // In range for its size (signed or unsigned spelling), in integer operations only: no table loads, no calls.
    if (size === 8 || typeof value !== 'number' || ((value | 0) !== value && value >>> 0 !== value) || (size !== 4 && (value < -(1 << (size * 8 - 1)) || value >= 1 << (size * 8)))) {
      return this.storeOther(va, value, size);
    }
    const v = value >>> 0;
    const pa = this.smallAccess(va, size, AccessKind.WRITE);
    if (pa < 0) return this.storeSlow(va, v, size);
    const dv = this.machine.physical.viewAt(pa);
    const o = pa & (CHUNK_BYTES - 1);
    if (size === 4) dv.setUint32(o, v, true);
    else if (size === 2) dv.setUint16(o, v & 0xffff, true);
    else dv.setUint8(o, v & 0xff);
  }

  /** store() of 8 bytes, and every bad value or size (out of line: the 1/2/4-byte hit path stays small). */
  private storeOther(va: number | bigint, value: unknown, size: unknown): void {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw badSize(size);
    if (size !== 8) throw new VmmError('EINVAL', `value must be an integer in [${STORE_MIN[size]}, ${STORE_MAX[size]}] for a ${size}-byte store, got ${describe(value)}`);
    let v: bigint;
    if (typeof value === 'bigint' && value >= -(2n ** 63n) && value < 2n ** 64n) v = BigInt.asUintN(64, value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt.asUintN(64, BigInt(value));
    else throw new VmmError('EINVAL', `value must be a bigint in [-2^63, 2^64) or a safe integer for an 8-byte store, got ${describe(value)}`);
    const pa = this.smallAccess(va, 8, AccessKind.WRITE);
    if (pa >= 0) return this.machine.physical.viewAt(pa).setBigUint64(pa & (CHUNK_BYTES - 1), v, true);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, v, true);
    this.write(va, bytes);
  }

  /** store() through write(). */
  private storeSlow(va: number | bigint, v: number, size: number): void {
    this.write(va, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24].slice(0, size));
  }

  /**
   * An instruction fetch of `length` bytes at `va` (user mode): every page it touches must be
   * executable (an NX page faults with the I/D bit), and a fetch that faults returns nothing.
   */
  fetch(va: number | bigint, length: number, options?: AccessOptions): Uint8Array {
    const flags = accessFlags(options);
    this.live();
    const la = toLinear(va, 'va');
    const n = toCount(length, 'length', { max: 2 ** 31 });
    this.checkSpan(la, n);
    const out = new Uint8Array(n);
    this.machine.enter(this);
    if (n === 0) return out;
    if (flags === 1 && (la & PAGE_MASK) + n <= PAGE_SIZE) {
      const pa = this.fastHit(la, AccessKind.EXECUTE);
      if (pa >= 0) {
        this.machine.physical.copyOut(pa, out, 0, n);
        return out;
      }
    }
    const pas = this.touchPages(la, n, AccessKind.EXECUTE, flags);
    const phys = this.machine.physical;
    for (let k = 0, off = 0; k < pas.length; k++) {
      const c = Math.min(n - off, PAGE_SIZE - (pas[k]! % PAGE_SIZE));
      phys.copyOut(pas[k]!, out, off, c);
      off += c;
    }
    return out;
  }

  /**
   * The shared front of load/store: checks, then the JS hit path. Returns the physical address
   * for a user-mode TLB hit within one page (hence one RAM chunk) and RAM, or -1 when the
   * caller must take the general path. Kept small: V8 inlines only so much bytecode, and a
   * call it does not inline boxes the double address on every access.
   */
  private smallAccess(va: number | bigint, size: number, kind: number): number {
    this.live();
    const la = toLinear(va, 'va');
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw badSize(size);
    this.machine.enter(this);
    if ((la & PAGE_MASK) + size > 4096) return -1; // crosses a page
    const pa = this.fastHit(la, kind);
    return pa >= 0 && pa + size <= this.machine.physical.size ? pa : -1;
  }

  /** Writes bytes into virtual memory at `va` (user mode unless options say otherwise). */
  write(va: number | bigint, bytes: Uint8Array | ArrayLike<number>, options?: AccessOptions): void {
    // User code (option getters, array-like elements) runs first, then the liveness check.
    const flags = options === undefined ? 1 : accessFlags(options);
    const data = toBytes(bytes);
    this.live();
    const la = toLinear(va, 'va');
    this.checkSpan(la, data.length);
    this.machine.enter(this);
    if (data.length === 0) return;
    if (flags === 1 && (la & PAGE_MASK) + data.length <= PAGE_SIZE) {
      const pa = this.fastHit(la, AccessKind.WRITE);
      if (pa >= 0) {
        this.machine.physical.copyIn(pa, data, 0, data.length);
        return;
      }
    }
    if ((la & PAGE_MASK) + data.length <= PAGE_SIZE) this.copyVirt(la, data, true, flags);
    else this.writeAcross(la, data, flags);
  }

  /**
   * Runs many accesses in one native call: `addresses` (canonical virtual addresses) and
   * `kinds` (0 read, 1 write, 2 execute). Faults the handler resolves are retried; the batch
   * stops at the first fault it cannot resolve and reports its index.
   */
  accessBatch(addresses: Float64Array, kinds: Uint8Array, options: AccessOptions & { start?: number; end?: number } = {}): BatchResult {
    // Options first, each getter once; then the liveness check.
    const flags = accessFlags(options, BATCH_KEYS);
    const endOption = options.end;
    const startOption = options.start;
    this.live();
    if (!(addresses instanceof Float64Array)) throw new VmmError('EINVAL', `addresses must be a Float64Array, got ${describe(addresses)}`);
    if (!(kinds instanceof Uint8Array)) throw new VmmError('EINVAL', `kinds must be a Uint8Array, got ${describe(kinds)}`);
    // The native core takes no SharedArrayBuffer views: a private copy keeps both backends alike.
    if (addresses.buffer instanceof SharedArrayBuffer) addresses = addresses.slice();
    if (kinds.buffer instanceof SharedArrayBuffer) kinds = kinds.slice();
    const end = toCount(endOption ?? addresses.length, 'options.end', { max: addresses.length });
    const start = toCount(startOption ?? 0, 'options.start', { max: end });
    if (kinds.length < end) throw new VmmError('EINVAL', `kinds has ${kinds.length} entries, fewer than options.end ${end}`);
    const m = this.machine;
    m.enter(this);
    let fault: PageFault | SegmentationFault | BusError | undefined;
    // The core takes canonical (sign-extended) addresses as they are: no conversion pass. A retry
    // is flagged (bit 3) so that a CPU's hierarchy counts the re-executed access's lookups once.
    const i = this.runBatch(
      (pos, f, retry) => m.core.accessBatch(addresses, kinds, pos, end, retry ? f | HIER_RETRY : f),
      start,
      end,
      flags,
      (_pos, info, outcome) => {
        const e = faultError(info, outcome);
        if (e instanceof VmmError) throw e;
        fault = e;
        return -1;
      },
    );
    if (i === Status.EINVAL) throw batchError(addresses, kinds, start, end);
    return fault ? { completed: i, fault } : { completed: end };
  }

  /**
   * @internal The batch → fault → resume loop of every batch path (accessBatch, trace replay).
   * `step(pos, flags, retry)` runs from `pos` and returns where it stopped (>= end when all ran,
   * < 0 a core status, returned as is); `retry` says the access at `pos` re-executes one whose
   * fault was just resolved. A fault goes to the fault handler: after RETRY the batch
   * resumes at the same position (the re-execution is counted in its CPU's retries); a refused
   * fault goes to `refused`, which returns the position to go on from, or -1 to stop there
   * (this then returns the faulting position). Flag bit 2 tells the core the batch was checked.
   */
  runBatch(step: (pos: number, flags: number, retry: boolean) => number, start: number, end: number, flags: number, refused: (pos: number, fault: FaultInfo, outcome: FaultOutcome) => number): number {
    let pos = start;
    let f = flags;
    let retried: FaultInfo | undefined;
    let retriedAt = -1;
    for (;;) {
      pos = step(pos, f, retried !== undefined);
      f = flags | CHECKED;
      if (pos >= end || pos < 0) return pos;
      const fault = this.readFault(flags);
      // Only a fault at the position just retried can be its repeat.
      const outcome = this.decide(fault, pos === retriedAt ? retried : undefined);
      if (outcome === RETRY) {
        retried = fault;
        retriedAt = pos;
        continue;
      }
      retried = undefined;
      const next = refused(pos, fault, outcome);
      if (next < 0) return pos;
      pos = next;
      if (pos >= end) return pos;
    }
  }

  /**
   * @internal The handler's decision on `fault`. A retry is counted; a fault identical to the
   * one just retried (`retried`) means the handler changed nothing, and is delivered unhandled
   * instead of looping forever.
   */
  decide(fault: FaultInfo, retried: FaultInfo | undefined): FaultOutcome {
    if (retried !== undefined && retried.la === fault.la && retried.errorCode === fault.errorCode && retried.kind === fault.kind) return UNHANDLED;
    const outcome = this.home.faultHandler.handleFault(fault);
    // The handler may have run user code (an onFault or onOomKill callback) that destroyed this
    // task's space, or ran another task on this task's CPU or entered the kernel for another
    // process (an OOM kill destroys one): a retry runs here again, or not at all (a refusal
    // keeps its own reason, e.g. the OOM killer's ENOMEM for the process it killed).
    if (this.gone()) {
      if (outcome === RETRY) this.live();
      return outcome;
    }
    if (outcome === RETRY) this.machine.enter(this).retries++;
    return outcome;
  }

  // ---------------------------------------------------------------- internals

  /**
   * The TLB-hit path in JavaScript over the core's own TLB arrays: exactly what the core does
   * for a user-mode hit that needs no walk (HITS++, the kind's counter++, move to MRU).
   * Returns -1 whenever anything else could happen; the core then does the full access.
   */
  private fastHit(la: number, kind: number): number {
    // The CPU the task runs on (enter() made sure of one): its TLB, its PCID, its counters. A
    // CPU with a hierarchy never fills its single TLB, so every lookup here misses.
    const cpu = this.cpu!;
    const t = cpu.tlbState;
    // The common case first: a 4K entry of this PCID (tlbLookup's first probe). Large and
    // global entries take the rare call, which V8 leaves out of line.
    let e = tlbFind(t, Math.floor(la / 4096), 0, cpu.tag);
    if (e < 0 && (e = tlbLookup(t, la, cpu.tag)) < 0) return -1;
    if ((t.flags[e]! & FAST_MASK[kind]!) !== FAST_NEED[kind]) return -1;
    const c = cpu.counters;
    c[HITS]!++;
    c[READS + kind]!++;
    tlbTouch(t, e);
    // A 4K entry's key has size class 0 (bits 13-14 of the key): then the offset is la's low 12 bits.
    return t.pbase[e]! + ((t.key[e]! / 8192) & 3 ? largeOffset(t, e, la) : la & PAGE_MASK);
  }

  private slowAccess(la: number, kind: number, flags: number): number {
    const m = this.machine;
    let retried: FaultInfo | undefined;
    for (;;) {
      const r = m.core.access(la, kind, retried === undefined ? flags : flags | HIER_RETRY);
      if (r >= 0) return r;
      retried = this.retryOrThrow(flags, retried);
    }
  }

  private copyVirt(la: number, buf: Uint8Array, write: boolean, flags: number): void {
    if (buf.buffer instanceof SharedArrayBuffer) {
      // The native core takes no SharedArrayBuffer views: go through a private copy, on both backends alike.
      const tmp = write ? buf.slice() : new Uint8Array(buf.length);
      this.copyVirt(la, tmp, write, flags);
      if (!write) buf.set(tmp);
      return;
    }
    const m = this.machine;
    let done = 0;
    let retried: FaultInfo | undefined;
    while (done < buf.length) {
      const n = m.core.copyVirt(la + done, buf, done, buf.length - done, write, retried === undefined ? flags : flags | HIER_RETRY);
      if (n < 0) throw m.statusError(n, write ? 'write' : 'read', `va ${hex(fromLinear(la + done))}`);
      done += n;
      if (done >= buf.length) break;
      retried = this.retryOrThrow(flags, retried);
    }
  }

  /**
   * A write of bytes that span pages: x86 checks every page a store touches before it writes
   * any byte, so a store that faults has written nothing. Each page is accessed once (with the
   * write's counts, A/D bits and TLB fills); then the bytes move by physical address.
   */
  private writeAcross(la: number, data: Uint8Array, flags: number): void {
    const pas = this.touchPages(la, data.length, AccessKind.WRITE, flags);
    const phys = this.machine.physical;
    for (let k = 0, off = 0; k < pas.length; k++) {
      const n = Math.min(data.length - off, PAGE_SIZE - (pas[k]! % PAGE_SIZE));
      phys.copyIn(pas[k]!, data, off, n);
      off += n;
    }
  }

  /**
   * One access of `kind` to every page [la, la + n) touches, in order, faults resolved or
   * thrown: the physical address of each page's first byte in the range. When a handler ran,
   * the earlier pages are checked again by pure walks (a raw space's callback may have
   * changed them), and the whole access is re-executed if one did change, as the CPU would.
   */
  private touchPages(la: number, n: number, kind: number, flags: number): Float64Array {
    const first = Math.floor(la / PAGE_SIZE);
    const count = Math.floor((la + n - 1) / PAGE_SIZE) - first + 1;
    const pas = new Float64Array(count);
    for (let attempt = 0; attempt < 3; attempt++) {
      const retries = this.cpu!.retries;
      for (let k = 0; k < count; k++) pas[k] = this.slowAccess(k === 0 ? la : (first + k) * PAGE_SIZE, kind, flags);
      if (this.cpu!.retries === retries) return pas;
      let same = true;
      for (let k = 0; k < count && same; k++) same = this.home.pages.leaf(k === 0 ? la : (first + k) * PAGE_SIZE)?.physical === pas[k];
      if (same) return pas;
    }
    throw new VmmError('EFAULT', `[${hex(fromLinear(la))}, +${n}): the fault handler keeps remapping the pages of this access`);
  }

  /** Hands the fault the core just reported to the handler: returns it when retried, throws the error otherwise. */
  private retryOrThrow(flags: number, retried: FaultInfo | undefined): FaultInfo {
    const fault = this.readFault(flags);
    const outcome = this.decide(fault, retried);
    if (outcome !== RETRY) throw faultError(fault, outcome);
    return fault;
  }

  /** @internal The fault the core just reported. */
  readFault(flags: number): FaultInfo {
    const r = this.machine.result;
    const la = r[Result.A]!;
    const kind = r[Result.C]!;
    return { la, address: fromLinear(la), errorCode: r[Result.B]!, kind, access: KIND_NAMES[kind]!, user: (flags & 1) !== 0 };
  }

  private checkSpan(la: number, n: number): void {
    const end = la + n;
    if ((la < 2 ** 47 && end > 2 ** 47) || end > TWO48) {
      throw new VmmError('EFAULT', `[${hex(fromLinear(la))}, +${n}) leaves the canonical half it starts in`);
    }
  }
}

/** Offset of `la` in the 2 MiB or 1 GiB page of TLB entry e: the rare case of fastHit, out of line. */
function largeOffset(t: TlbState, e: number, la: number): number {
  return la % (((t.key[e]! / 8192) & 3) === 1 ? 2 ** 21 : 2 ** 30);
}

function badSize(size: unknown): VmmError {
  return new VmmError('EINVAL', `size must be 1, 2, 4 or 8, got ${describe(size)}`);
}

const ACCESS_KEYS = ['user', 'ac'];
const BATCH_KEYS = ['user', 'ac', 'start', 'end'];

/** The values a store of 1, 2 or 4 bytes takes: the signed and the unsigned range of that size. */
const STORE_MIN: readonly number[] = [NaN, -0x80, -0x8000, NaN, -0x8000_0000];
const STORE_MAX: readonly number[] = [NaN, 0xff, 0xffff, NaN, 0xffff_ffff];

function accessFlags(options: AccessOptions | undefined, keys: readonly string[] = ACCESS_KEYS): number {
  if (options === undefined) return 1;
  strictOptions(options, 'options', keys);
  const { user, ac } = options;
  if (user !== undefined && typeof user !== 'boolean') throw new VmmError('EINVAL', `options.user must be a boolean, got ${describe(user)}`);
  if (ac !== undefined && typeof ac !== 'boolean') throw new VmmError('EINVAL', `options.ac must be a boolean, got ${describe(ac)}`);
  return (user === false ? 0 : 1) | (ac ? 2 : 0);
}

/** Names the first bad element of a batch the core refused (error path only). */
function batchError(addresses: Float64Array, kinds: Uint8Array, start: number, end: number): VmmError {
  for (let i = start; i < end; i++) {
    if (kinds[i]! > 2) return new VmmError('EINVAL', `kinds[${i}] is ${kinds[i]}: kinds must be 0 (read), 1 (write) or 2 (execute)`);
    toLinear(addresses[i], `addresses[${i}]`);
  }
  return new VmmError('EINVAL', 'accessBatch: invalid batch');
}

/**
 * Virtual and physical addresses at the API edge. A canonical 48-bit virtual address is its
 * sign-extended 64-bit value as a JS number (kernel-half addresses are negative), exact for
 * every canonical address. Internally the core works on the 48-bit *linear* address
 * (0 .. 2^48-1) so that kernel addresses are non-negative.
 */
import { VmmError } from './errors.js';
import { hex } from './hex.js';

/** Size of a small page. */
export const PAGE_SIZE = 4096;
/** Size of a 2 MiB large page. */
export const PAGE_SIZE_2M = 2 ** 21;
/** Size of a 1 GiB huge page. */
export const PAGE_SIZE_1G = 2 ** 30;
/** First kernel-half address, as a number (0xFFFF800000000000). */
export const KERNEL_BASE = -(2 ** 47);
/** One past the last user-half address (0x0000800000000000). */
export const USER_END = 2 ** 47;

const TWO47 = 2 ** 47;
const TWO48 = 2 ** 48;
const TWO64N = 1n << 64n;
const KERNEL_BASE_U = 0xffff800000000000n;

/** A virtual or physical address as users pass it. */
export type Address = number | bigint;

/** True when `va` is a canonical 48-bit address (as number or 64-bit bigint). */
export function isCanonical(va: Address): boolean {
  return !Number.isNaN(toLinearOrNaN(va));
}

/** True for addresses in the kernel half (0xFFFF800000000000 and up). */
export function isKernelAddress(va: Address): boolean {
  const la = toLinearOrNaN(va);
  return la >= TWO47;
}

/** True for canonical addresses in the user half (below 0x0000800000000000). */
export function isUserAddress(va: Address): boolean {
  const la = toLinearOrNaN(va);
  return la >= 0 && la < TWO47;
}

/** Rounds down to a multiple of `align` (a power of two), for safe integers; EINVAL otherwise. */
export function alignDown(value: number, align = PAGE_SIZE): number {
  checkAlignArgs(value, align, 'alignDown');
  return value - mod(value, align);
}

/** Rounds up to a multiple of `align` (a power of two), for safe integers; EINVAL otherwise (also when the result is not safe). */
export function alignUp(value: number, align = PAGE_SIZE): number {
  checkAlignArgs(value, align, 'alignUp');
  const r = mod(value, align);
  const up = r === 0 ? value : value + (align - r);
  if (!Number.isSafeInteger(up)) throw new VmmError('EINVAL', `alignUp: ${value} rounded up to ${align} is not a safe integer`);
  return up;
}

/** True when `value` is a multiple of `align` (a power of two); EINVAL for anything but safe integers. */
export function isAligned(value: number, align = PAGE_SIZE): boolean {
  checkAlignArgs(value, align, 'isAligned');
  return mod(value, align) === 0;
}

/** Prints an address as canonical 16-digit hex (hex() with its argument checked): a safe integer, or a bigint in the signed or unsigned 64-bit range. */
export function hexAddress(addr: number | bigint): string {
  if (typeof addr === 'bigint') {
    if (addr < -(1n << 63n) || addr >= TWO64N) throw new VmmError('EINVAL', `hex: addr ${addr}n is outside the 64-bit range`);
  } else if (typeof addr !== 'number' || !Number.isSafeInteger(addr)) throw new VmmError('EINVAL', `hex: addr must be a safe integer or a bigint, got ${describe(addr)}`);
  return hex(addr);
}

function checkAlignArgs(value: unknown, align: unknown, fn: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new VmmError('EINVAL', `${fn}: value must be a safe integer, got ${describe(value)}`);
  if (typeof align !== 'number' || !Number.isSafeInteger(align) || !isPow2(align)) throw new VmmError('EINVAL', `${fn}: align must be a positive power of two, got ${describe(align)}`);
}

function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

function mod(value: number, m: number): number {
  const r = value % m;
  return r < 0 ? r + m : r;
}

function toLinearOrNaN(va: unknown): number {
  if (typeof va === 'number') {
    if (!Number.isInteger(va) || va < -TWO47 || va >= TWO47) return NaN;
    return va < 0 ? va + TWO48 : va;
  }
  if (typeof va === 'bigint') {
    let v = va;
    if (v >= 1n << 63n && v < TWO64N) v -= TWO64N; // unsigned 64-bit spelling
    if (v < -(1n << 47n) || v >= 1n << 47n) return NaN;
    const n = Number(v);
    return n < 0 ? n + TWO48 : n;
  }
  return NaN;
}

/** Converts a canonical virtual address to the core's 48-bit linear address; EINVAL names `arg`. */
export function toLinear(va: unknown, arg = 'va'): number {
  // The common case (a canonical number) in a few instructions, small enough for V8 to inline
  // into every access path; bigints and errors go out of line.
  if (typeof va === 'number' && va === Math.floor(va) && va >= -TWO47 && va < TWO47) return va < 0 ? va + TWO48 : va;
  return toLinearSlow(va, arg);
}

function toLinearSlow(va: unknown, arg: string): number {
  const la = toLinearOrNaN(va);
  if (!Number.isNaN(la)) return la;
  throw badVirtual(va, arg);
}

/** Converts a 48-bit linear address back to the sign-extended number users see. */
export function fromLinear(la: number): number {
  return la >= TWO47 ? la - TWO48 : la;
}

/** Canonical signed value of a 64-bit unsigned bigint (e.g. 0xFFFF800000000000n → -2^47). */
export function canonical(va: Address): number {
  return fromLinear(toLinear(va));
}

/** Canonical check plus alignment to `align`; EINVAL names `arg`. */
export function toLinearAligned(va: unknown, align: number, arg = 'va'): number {
  const la = toLinear(va, arg);
  if (la % align !== 0) {
    throw new VmmError('EINVAL', `${arg} ${hex(fromLinear(la))} is not aligned to ${sizeName(align)}`);
  }
  return la;
}

/** Validates a physical address (non-negative integer number or bigint below `limit`). */
export function toPhysical(pa: unknown, limit: number, arg = 'pa'): number {
  let n: number;
  if (typeof pa === 'number') n = pa;
  else if (typeof pa === 'bigint') n = pa >= 0n && pa < 1n << 53n ? Number(pa) : NaN;
  else throw new VmmError('EINVAL', `${arg} must be a number or bigint, got ${describe(pa)}`);
  if (!Number.isInteger(n) || n < 0) throw new VmmError('EINVAL', `${arg} ${String(pa)} is not a non-negative integer physical address`);
  if (n >= limit) throw new VmmError('EINVAL', `${arg} ${hex(n)} is beyond physical memory (${hex(limit)})`);
  return n;
}

/** Validates a non-negative integer count or length; EINVAL names `arg`. */
export function toCount(value: unknown, arg: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new VmmError('EINVAL', `${arg} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new VmmError('EINVAL', `${arg} ${value} is out of range [${min}, ${max}]`);
  return value;
}

/** Human name of a page size in bytes. */
export function sizeName(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Short description of a value for error messages. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : typeof v;
}

function badVirtual(va: unknown, arg: string): VmmError {
  if (typeof va !== 'number' && typeof va !== 'bigint') {
    return new VmmError('EINVAL', `${arg} must be a number or bigint, got ${describe(va)}`);
  }
  if (typeof va === 'number' && !Number.isInteger(va)) return new VmmError('EINVAL', `${arg} ${va} is not an integer address`);
  // A bigint outside 64 bits is shown as given (hex() would wrap it to 64 bits).
  const outside = typeof va === 'bigint' && (va >= 1n << 64n || va < -(1n << 63n));
  const shown = outside ? (va < 0n ? '-0x' + (-va).toString(16) : '0x' + va.toString(16)) : typeof va === 'bigint' ? hex(va) : Math.abs(va) < 2 ** 64 ? hex(BigInt(va)) : String(va);
  return new VmmError('EINVAL', `${arg} ${shown} is not a canonical 48-bit address (user half below 0x0000800000000000, kernel half from ${hex(KERNEL_BASE_U)})`);
}

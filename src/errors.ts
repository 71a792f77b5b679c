/**
 * Errors users can act on. Bad input is a VmmError with an errno-style code and a message
 * naming the argument; an illegal access is a PageFault (hardware level, before the VMM
 * handles it), a SegmentationFault or a BusError (what a process would receive: SIGSEGV, SIGBUS).
 */
import { hex } from './hex.js';

/** Errno-style codes used by vmsim. */
export type ErrnoCode = 'EINVAL' | 'ENOMEM' | 'EFAULT' | 'ENOENT' | 'EEXIST' | 'EBUSY' | 'EPERM' | 'EACCES' | 'ESRCH' | 'ENOSYS' | 'ENOSPC' | 'EIO' | 'EISDIR' | 'EAGAIN' | 'EBADF' | 'EFBIG' | 'ENAMETOOLONG';

/** An operation was refused; nothing changed (or, where its docs say so, it completed first). `code` names the errno; `cause` holds the error behind it (a host I/O error, a plug-in's or callback's throw). */
export class VmmError extends Error {
  /** The errno name, e.g. 'EINVAL'. */
  readonly code: ErrnoCode;
  constructor(code: ErrnoCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'VmmError';
    this.code = code;
  }
}

/** Access kinds as users name them. */
export type AccessKindName = 'read' | 'write' | 'execute';

/** A hardware page fault: the faulting address (CR2), the x86 error code and the access kind. */
export class PageFault extends Error {
  /** Faulting virtual address (sign-extended canonical number), as CR2 holds it. */
  readonly address: number;
  /** x86 page-fault error code (P=1, W=2, U=4, RSVD=8, I=16). */
  readonly errorCode: number;
  /** What the access was. */
  readonly access: AccessKindName;
  /** True when the access was made in user mode. */
  readonly user: boolean;
  constructor(address: number, errorCode: number, access: AccessKindName) {
    super(`page fault at ${hex(address)}: ${describeErrorCode(errorCode)} (${access})`);
    this.name = 'PageFault';
    this.address = address;
    this.errorCode = errorCode;
    this.access = access;
    this.user = (errorCode & 4) !== 0;
  }
  /** True when the page was present (a protection or reserved-bit violation). */
  get present(): boolean {
    return (this.errorCode & 1) !== 0;
  }
}

/** si_code of a SIGSEGV: no mapping at the address, or the mapping forbids the access. */
export type SegvCause = 'SEGV_MAPERR' | 'SEGV_ACCERR';

/** An access the VMM could not satisfy: what a process would receive as SIGSEGV. */
export class SegmentationFault extends Error {
  /** Faulting virtual address (sign-extended canonical number). */
  readonly address: number;
  /** What the access was. */
  readonly access: AccessKindName;
  /** SEGV_MAPERR (nothing mapped there) or SEGV_ACCERR (mapping forbids the access). */
  override readonly cause: SegvCause;
  /** The x86 error code of the page fault behind it. */
  readonly errorCode: number;
  constructor(address: number, access: AccessKindName, cause: SegvCause, errorCode: number, detail?: string) {
    super(`segmentation fault at ${hex(address)}: ${access} ${cause === 'SEGV_MAPERR' ? 'of unmapped address' : 'not permitted'}${detail ? ` (${detail})` : ''} [${cause}]`);
    this.name = 'SegmentationFault';
    this.address = address;
    this.access = access;
    this.cause = cause;
    this.errorCode = errorCode;
  }
}

/** si_code of a SIGBUS from a page fault: the address has no backing (a page wholly past the end of a file). */
export type BusCause = 'BUS_ADRERR';

/** An access to a mapping whose backing does not exist there: what a process would receive as SIGBUS (do_sigbus). */
export class BusError extends Error {
  /** Faulting virtual address (sign-extended canonical number). */
  readonly address: number;
  /** What the access was. */
  readonly access: AccessKindName;
  /** BUS_ADRERR: nothing backs the address (past the end of the file, or the filesystem is full). */
  override readonly cause: BusCause;
  /** The x86 error code of the page fault behind it. */
  readonly errorCode: number;
  constructor(address: number, access: AccessKindName, errorCode: number, detail?: string) {
    super(`bus error at ${hex(address)}: ${access}${detail ? ` (${detail})` : ''} [BUS_ADRERR]`);
    this.name = 'BusError';
    this.address = address;
    this.access = access;
    this.cause = 'BUS_ADRERR';
    this.errorCode = errorCode;
  }
}

/** Human-readable decoding of a page-fault error code, e.g. "present|write|user". */
export function describeErrorCode(code: number): string {
  const parts = [(code & 1) !== 0 ? 'protection' : 'not-present'];
  if (code & 2) parts.push('write');
  if (code & 4) parts.push('user');
  if (code & 8) parts.push('reserved-bit');
  if (code & 16) parts.push('instruction-fetch');
  return parts.join('|');
}

/**
 * What happens when the access path raises a page fault. The MMU space asks its fault
 * handler, which answers with an outcome *value*: retry (it fixed the tables), SIGSEGV with a
 * cause, out of memory, SIGBUS (BUS_ADRERR), or unhandled. The access path that asked builds the exception
 * (faultError), so a handler never throws for an access it refuses. Without a handler (the raw
 * MMU, as an emulator author uses it) every fault is unhandled and thrown as a PageFault.
 */
import type { AccessKindName, SegvCause } from '../errors.js';
import { BusError, PageFault, SegmentationFault, VmmError } from '../errors.js';
import { hex } from '../hex.js';

/** A page fault as the handler sees it. */
export interface FaultInfo {
  /** 48-bit linear address of the fault (the core's form). */
  readonly la: number;
  /** Sign-extended virtual address (CR2). */
  readonly address: number;
  /** x86 error code. */
  readonly errorCode: number;
  /** 0 read, 1 write, 2 execute. */
  readonly kind: number;
  readonly access: AccessKindName;
  /** User-mode access. */
  readonly user: boolean;
}

/** The handler fixed the page tables: re-execute the access. */
export const RETRY = Object.freeze({ type: 'retry' as const });
/** Nobody resolves this fault: it is delivered as a hardware PageFault. */
export const UNHANDLED = Object.freeze({ type: 'unhandled' as const });

/** What a fault handler decided. */
export type FaultOutcome =
  | typeof RETRY
  | typeof UNHANDLED
  | { readonly type: 'segv'; readonly cause: SegvCause; readonly detail?: string }
  | { readonly type: 'oom'; readonly detail?: string; /** What ran out (default 'out of physical memory'). */ readonly reason?: string }
  | { readonly type: 'sigbus'; readonly detail: string };

/** Resolves faults. */
export interface FaultHandler {
  /** Decides what `fault` means; may change page tables (then answers RETRY). Never throws for an access it refuses. */
  handleFault(fault: FaultInfo): FaultOutcome;
}

/** The raw MMU's behaviour: every fault is unhandled (thrown as a PageFault). */
export const RAW_FAULTS: FaultHandler = { handleFault: () => UNHANDLED };

/** The exception an access raises for a fault its handler did not resolve (never called with RETRY). */
export function faultError(f: FaultInfo, o: FaultOutcome): PageFault | SegmentationFault | BusError | VmmError {
  switch (o.type) {
    case 'segv':
      return new SegmentationFault(f.address, f.access, o.cause, f.errorCode, o.detail);
    case 'oom':
      return new VmmError('ENOMEM', `${o.reason ?? 'out of physical memory'} resolving a ${f.access} fault at ${hex(f.address)}${o.detail ? ` (${o.detail})` : ''}`);
    case 'sigbus':
      return new BusError(f.address, f.access, f.errorCode, o.detail);
    default:
      return new PageFault(f.address, f.errorCode, f.access);
  }
}

/** What a raw space's `onFault` callback may answer: 'retry' after it mapped the page; anything else delivers the fault. */
export type OnFault = (fault: PageFault) => 'retry' | void | undefined;

/** A handler around a user callback (the loop that calls it refuses a retry that changed nothing). */
export function callbackHandler(onFault: OnFault): FaultHandler {
  return { handleFault: (f) => (onFault(new PageFault(f.address, f.errorCode, f.access)) === 'retry' ? RETRY : UNHANDLED) };
}

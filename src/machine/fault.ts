/**
 * What happens when the access path raises a page fault. The machine asks the address
 * space's fault handler; without one (the raw MMU, as an emulator author uses it) the fault
 * is thrown as a PageFault. The VMM installs a handler that resolves demand-zero and COW
 * faults and turns the rest into SegmentationFaults.
 */
import type { AccessKindName } from '../errors.js';
import { PageFault, SegmentationFault } from '../errors.js';

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

/** Resolves faults: returns true when the access should be retried, or the error to raise. */
export interface FaultHandler {
  handleFault(fault: FaultInfo): true | PageFault | SegmentationFault;
}

/** The raw MMU's behaviour: every fault is thrown as a PageFault. */
export const RAW_FAULTS: FaultHandler = {
  handleFault: (f) => new PageFault(f.address, f.errorCode, f.access),
};

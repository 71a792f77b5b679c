/** The VMM's own fault outcomes, shared by the anonymous and the file fault paths. */
import type { FaultOutcome } from '../machine/fault.js';

/** The fault could not allocate (ENOMEM: SIGKILL's stand-in, as VM_FAULT_OOM). */
export const OOM: FaultOutcome = Object.freeze({ type: 'oom' as const });
/** Internal: the OOM killer ran during the fault; look at it anew (never returned by handleFault). */
export const AGAIN: FaultOutcome = Object.freeze({ type: 'oom' as const, detail: 'again' });
/** The faulting process itself was killed by the OOM killer. */
export const KILLED: FaultOutcome = Object.freeze({ type: 'oom' as const, detail: 'the process was killed by the OOM killer' });

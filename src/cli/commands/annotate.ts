/** `vmsim annotate TRACE`: where the TLB misses, walks and faults come from (written below). */
import type { CommandIo } from '../io.js';

/** Runs `vmsim annotate`; returns the exit code. */
export async function annotateCommand(_argv: string[], _io: CommandIo): Promise<number> {
  return 0;
}

/** Test helper: take every free frame of a machine, to make the next allocation fail. */
import type { Machine } from '../../src/index.js';

/** Allocates every free frame; returns them (give them back with machine.physical.freeFrame). */
export function exhaustFrames(m: Machine): number[] {
  const held: number[] = [];
  for (;;) {
    try {
      held.push(m.physical.allocFrame());
    } catch {
      return held;
    }
  }
}

/** The textbook reference string (Silberschatz et al.) and what FIFO does with 3 frames, shared by the policy-model and VMM tests. */

/** 7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1: with 3 frames FIFO faults 15 times, LRU 12, OPT 9. */
export const SILBERSCHATZ = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];

/** FIFO's first six steps with 3 frames: [page, fault, evicted, frames after], as the textbook's table prints them. */
export const FIFO_FIRST_STEPS: ReadonlyArray<[number, boolean, number | undefined, number[]]> = [
  [7, true, undefined, [7]],
  [0, true, undefined, [7, 0]],
  [1, true, undefined, [7, 0, 1]],
  [2, true, 7, [2, 0, 1]],
  [0, false, undefined, [2, 0, 1]],
  [3, true, 0, [2, 3, 1]],
];

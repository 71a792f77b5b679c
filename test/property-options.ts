/**
 * How long the tests run. `npm test` runs every test with counts chosen to finish in minutes
 * on 2 cores; `npm run test:long` (vitest.long.config.ts, VMSIM_LONG=1, run by CI after
 * `npm test`) runs the long-only files (`*.long.test.ts`) and, again at full counts, every file
 * that gives propertyOptions a quick count or reads LONG.
 */
export const LONG = process.env.VMSIM_LONG === '1';

/**
 * fast-check options shared by the property tests: a fixed seed (CI is deterministic),
 * overridable to explore (VMSIM_PROPERTY_RUNS, VMSIM_PROPERTY_SEED). `runs` is the full count;
 * `quickRuns` (default: `runs`) is what `npm test` runs when the full count is too slow there.
 */
export function propertyOptions(runs: number, quickRuns = runs): { numRuns: number; seed: number } {
  return {
    numRuns: Number(process.env.VMSIM_PROPERTY_RUNS ?? (LONG ? runs : quickRuns)),
    seed: Number(process.env.VMSIM_PROPERTY_SEED ?? 20261124),
  };
}

/** fast-check options shared by the property tests: a fixed seed (CI is deterministic), overridable to explore. */
export function propertyOptions(defaultRuns: number): { numRuns: number; seed: number } {
  return {
    numRuns: Number(process.env.VMSIM_PROPERTY_RUNS ?? defaultRuns),
    seed: Number(process.env.VMSIM_PROPERTY_SEED ?? 20261124),
  };
}

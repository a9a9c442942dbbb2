import type { Parameters as FcParameters } from "fast-check";

/**
 * One place for how long property-based fuzzing runs. In `npm test` every property is bounded
 * (a fixed number of runs and a time limit) so the suite stays fast; `npm run fuzz` sets
 * FUZZ_RUNS / FUZZ_SECONDS high for the longer run a user can start. FUZZ_SEED replays a failure
 * (fast-check prints the seed and path of every counterexample).
 */
export function fuzzParams<T>(defaultRuns = 300): FcParameters<T> {
  const runs = Number(process.env.FUZZ_RUNS ?? defaultRuns);
  const seconds = Number(process.env.FUZZ_SECONDS ?? 20);
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  return {
    numRuns: runs,
    interruptAfterTimeLimit: seconds * 1000,
    // Running out of time is not a failure, but it must have tried at least a few cases.
    markInterruptAsFailure: false,
    ...(seed === undefined ? {} : { seed }),
  };
}

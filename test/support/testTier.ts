/**
 * Which tier of the suite is running. `npm test` is the fast loop (unit, contract, HTTP,
 * clinical tables); `npm run test:all` (what CI runs) adds the slow tier and runs the
 * generated-input tests at full size.
 */
export const FULL_TIER = process.env.TEST_TIER === 'all';

/** A run size: the full one in the full tier, the quick one in the fast loop. */
export function runSize(full: number, quick: number): number {
  return FULL_TIER ? full : quick;
}

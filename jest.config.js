/**
 * Two tiers. `npm test` (TEST_TIER unset) is the fast loop: everything but the slow tier,
 * generated-input tests at reduced size. `npm run test:all` (TEST_TIER=all, what CI runs)
 * adds the slow tier: files named `*.slow.test.ts` (soak, and the like) and the browser
 * suites (`*Browser.test.ts`), and runs fuzzing and property tests at full size.
 * @type {import('jest').Config}
 */
const full = process.env.TEST_TIER === 'all';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Suites against real FHIR servers run on their own (test/integration/jest.config.js, test/integration/run-hapi).
  testPathIgnorePatterns: full ? ['/node_modules/', '<rootDir>/test/integration/'] : ['/node_modules/', '<rootDir>/test/integration/', '\\.slow\\.test\\.ts$', 'Browser\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Both cores: the suites boot their own servers on port 0 and their own data folders.
  maxWorkers: 2,
  testTimeout: 30000,
};

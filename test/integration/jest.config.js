/**
 * The integration suites against real FHIR servers (test/integration/<server>/): run on their
 * own, once the server is up, by test/integration/run-hapi (and so by .ci/run). The default
 * `jest` run leaves this folder out (see the root jest.config.js): without a server these
 * suites fail, loudly, by design.
 */
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integration'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  maxWorkers: 1,
  // One HAPI for every suite: those that need it fresh run first (see the sequencer).
  testSequencer: '<rootDir>/test/integration/freshServerFirst.js',
};

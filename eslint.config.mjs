// ESLint (flat config): typescript-eslint's recommended rules, no import cycles, and the layer
// map: which part of src/ may import which. The layers, inner to outer:
//   triage, routing   pure clinical core: no I/O, no HTTP, no environment
//   fhir              the FHIR port and its two stores (embedded, remote), structure checks
//   service           the triage application service: core + port
//   auth, content     who may call; the service's own FHIR content
//   http, smart, queue, intake, cds, cli   adapters at the edge
//   composeService, server                 the composition root
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const NODE_IO = ['node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:net', 'node:child_process', 'node:sqlite', 'node:worker_threads'];
const EDGE_LIBRARIES = ['express', 'express-*', 'helmet', 'cors', 'pino', 'prom-client', 'openid-client', 'jose'];

/** A `no-restricted-imports` rule forbidding the given folders of src/ (relative patterns). */
function forbid(message, ...patterns) {
  return { group: patterns, message };
}

const ADAPTERS = ['**/smart/**', '**/queue/**', '**/intake/**', '**/cds/**', '**/cli/**'];
const ROOT = ['**/composeService', '**/server'];
/** src/config.ts, src/logger.ts and src/metrics.ts exactly (not the repository's config/ folder of data files). */
const SERVICE_MODULES = { regex: '^(\\.\\./)+(config|logger|metrics)$', message: 'The clinical core reads no configuration, logs nothing and counts nothing: its callers do.' };

const layers = [
  {
    files: ['src/triage/**/*.ts', 'src/routing/**/*.ts'],
    patterns: [
      forbid('The clinical core is pure: no I/O, no HTTP, no environment (DEVELOPERS: ports and adapters).', ...NODE_IO, ...EDGE_LIBRARIES),
      forbid('The clinical core may not depend on the FHIR port, the service or any adapter.', '**/fhir/**', '**/service/**', '**/http/**', '**/auth/**', '**/content/**', ...ADAPTERS, ...ROOT),
      SERVICE_MODULES,
    ],
  },
  {
    files: ['src/fhir/**/*.ts'],
    patterns: [forbid('The FHIR stores sit below the service and the adapters.', 'express', '**/service/**', '**/http/**', '**/auth/**', '**/content/**', ...ADAPTERS, ...ROOT)],
  },
  {
    files: ['src/service/**/*.ts'],
    patterns: [forbid('The application service knows no adapter: HTTP, SMART, CDS Hooks, intake and the CLI call it, not the other way.', 'express', '**/http/**', '**/auth/**', '**/content/**', ...ADAPTERS, ...ROOT)],
  },
  {
    files: ['src/auth/**/*.ts', 'src/content/**/*.ts'],
    patterns: [forbid('Access control and content sit below the HTTP layer and the adapters.', '**/http/**', ...ADAPTERS, ...ROOT)],
  },
  {
    files: ['src/http/**/*.ts'],
    patterns: [forbid('The HTTP layer does not reach into the feature adapters or the composition root; they are mounted by composeService.', '**/cli/**', ...ROOT)],
  },
  {
    files: ['src/smart/**/*.ts', 'src/queue/**/*.ts', 'src/intake/**/*.ts', 'src/cds/**/*.ts'],
    patterns: [forbid('A feature adapter does not import another adapter or the composition root.', '**/cli/**', ...ROOT)],
  },
  {
    files: ['src/cli/**/*.ts'],
    patterns: [forbid('The command line calls the service and the stores, never the HTTP layer.', 'express', '**/http/**')],
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'public/**', 'coverage/**', 'test-artifacts/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  ...layers.map(({ files, patterns }) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } }))
);

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { loadCompiledValidators } from '../../../src/fhir/structure/compiledValidators';
import { issuesFromAjvErrors } from '../../../src/fhir/structure/issues';
import { standaloneValidatorsCode } from '../../../src/fhir/structure/standaloneValidators';
import { structureCheckWith } from '../../../src/fhir/structure/structureCheck';
import type { StructureCheck } from '../../../src/fhir/structure';
import { compileResourceValidators, type ResourceValidators } from '../../../src/fhir/structure/validators';
import { runSize } from '../../support/testTier';

/**
 * The validators `npm run build` compiles (ajv standalone code) against the ones compiled at
 * run time from the same schema: the same verdict and the same issues, in both of ajv's
 * modes (every error; first error, used for huge bodies), on every fixture of the suite and
 * on generated and mutated responses. The module is generated here, from the sources under
 * test, exactly as the build step generates it.
 */

const QR = 'QuestionnaireResponse';
const ROOT = join(__dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

let scratch: string;
let runtime: Map<string, ResourceValidators>;
let compiled: Map<string, ResourceValidators>;
let generatedFile: string;

beforeAll(() => {
  // Inside the checkout, so the generated module resolves `ajv/dist/runtime/...` as in dist/.
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  scratch = mkdtempSync(join(ROOT, 'test-artifacts', 'structure-validators-'));
  generatedFile = join(scratch, 'structureValidators.js');
  writeFileSync(generatedFile, standaloneValidatorsCode());
  runtime = compileResourceValidators([QR]);
  const loaded = loadCompiledValidators([QR], generatedFile);
  if (!loaded) {
    throw new Error('the generated module holds no validators for QuestionnaireResponse');
  }
  compiled = loaded;
}, 180_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function pairOf(validators: Map<string, ResourceValidators>): ResourceValidators {
  const pair = validators.get(QR);
  if (!pair) {
    throw new Error('no QuestionnaireResponse validators');
  }
  return pair;
}

/** What one validator says about a value: its verdict and the issues the service would report. */
function verdict(validate: ValidateFunction, value: unknown): { valid: boolean; issues: OperationOutcomeIssue[] } {
  const valid = validate(value) === true;
  return { valid, issues: valid ? [] : issuesFromAjvErrors(QR, value, validate.errors ?? []) };
}

/** Both modes of both validators, and the whole check, agree; returns the runtime verdict. */
function expectSameVerdicts(value: unknown): boolean {
  const before = JSON.stringify(value);
  const r = pairOf(runtime);
  const c = pairOf(compiled);
  const listAll = verdict(r.listAll, value);
  expect(verdict(c.listAll, value)).toEqual(listAll);
  expect(verdict(c.stopAtFirst, value)).toEqual(verdict(r.stopAtFirst, value));
  const runtimeCheck: StructureCheck = structureCheckWith([QR], runtime);
  const compiledCheck: StructureCheck = structureCheckWith([QR], compiled);
  expect(compiledCheck(value)).toEqual(runtimeCheck(value));
  // Neither may change what it checks (ajv options such as useDefaults or removeAdditional would).
  expect(JSON.stringify(value)).toBe(before);
  return listAll.valid;
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFilesUnder(path) : name.endsWith('.json') ? [path] : [];
  });
}

const fixtureFiles = jsonFilesUnder(FIXTURES);
const ruleFixtures = readdirSync(join(FIXTURES, 'rules'))
  .filter((name) => name.endsWith('.qr.json'))
  .map((name) => JSON.parse(readFileSync(join(FIXTURES, 'rules', name), 'utf8')) as unknown);

describe('the build-time validators agree with the run-time ones', () => {
  test('the fixtures are there to compare on', () => {
    expect(fixtureFiles.length).toBeGreaterThan(50);
  });

  test.each(fixtureFiles.map((file) => [file.slice(FIXTURES.length + 1), file]))('fixture %s', (_name, file) => {
    // Parsed as a request body is: JSON.parse keeps `__proto__` as an own key.
    expectSameVerdicts(JSON.parse(readFileSync(file, 'utf8')));
  });

  test('generated and mutated responses', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(mutatedResponse, (value) => {
        seen[expectSameVerdicts(value) ? 'valid' : 'invalid']++;
      }),
      { numRuns: runSize(2_000, 300) }
    );
    // The comparison means something only if both verdicts occurred.
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.invalid).toBeGreaterThan(0);
  });

  test('values that are not responses at all', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        expectSameVerdicts(value);
        expectSameVerdicts({ resourceType: QR, status: 'completed', item: value });
      }),
      { numRuns: runSize(1_000, 200) }
    );
  });
});

describe('loading the build-time validators', () => {
  test('another set of resource types is not served from the module (its contained resources are checked differently)', () => {
    expect(loadCompiledValidators([QR, 'Patient'], generatedFile)).toBeUndefined();
  });

  test('no generated module: undefined, so the check is compiled at start-up', () => {
    expect(loadCompiledValidators([QR], join(scratch, 'absent.js'))).toBeUndefined();
  });

  test('a generated module that fails to load is an error, not a silent fallback', () => {
    const broken = join(scratch, 'broken.js');
    writeFileSync(broken, 'require("./not-there-either");');
    expect(() => loadCompiledValidators([QR], broken)).toThrow(/not-there-either/);
  });
});

// Values that land somewhere in a response: FHIR-shaped ones (right and wrong types, codes,
// formats, extensions) more often than arbitrary JSON, so mutations reach deep checks.
const fhirKey = fc.constantFrom(
  'linkId',
  'text',
  'answer',
  'item',
  'valueBoolean',
  'valueInteger',
  'valueString',
  'valueCoding',
  'valueDecimal',
  'valueDate',
  '_valueString',
  '_linkId',
  'extension',
  'modifierExtension',
  'id',
  'meta',
  'status',
  '_status',
  'authored',
  'subject',
  'contained',
  'url',
  'valueReference',
  'definition',
  'code',
  'system',
  'display',
  'resourceType',
  '__proto__',
  'unknownElement'
);
const fhirValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    true,
    false,
    0,
    1,
    -1,
    1.5,
    2 ** 31,
    1e300,
    '',
    ' ',
    'x',
    'completed',
    'done',
    '2026-11-20',
    '2026-11-20T10:00:00Z',
    '20/11/2026',
    'urn:uuid:x',
    null,
    [],
    {},
    [null],
    'a\u0001b',
    'a\u00a0b'
  ),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.record({ url: fc.constantFrom('http://x', ''), valueString: fc.constantFrom('v', '') }, { requiredKeys: [] }).map((e) => [e]),
  fc.constantFrom<unknown>(
    { system: 'http://snomed.info/sct', code: '1' },
    { reference: 'Patient/1' },
    [{ valueBoolean: true, valueString: 'two' }],
    [{ resourceType: 'Patient', gender: 'woman' }],
    [{ resourceType: 'NotAType' }],
    [{ resourceType: 'Observation', status: 'final', code: { text: 'x' } }],
    [{ linkId: 'x', answer: [{ valueInteger: 3 }] }]
  ),
  fc.jsonValue({ maxDepth: 2 })
);

type Json = unknown;
type Step = string | number;

function pathsOf(value: Json, path: Step[] = [], into: Step[][] = []): Step[][] {
  into.push(path);
  if (Array.isArray(value)) {
    value.forEach((child, i) => pathsOf(child, [...path, i], into));
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      pathsOf((value as Record<string, Json>)[key], [...path, key], into);
    }
  }
  return into;
}

function at(root: Json, path: readonly Step[]): Json {
  let current = root;
  for (const step of path) {
    current = current !== null && typeof current === 'object' ? (current as Record<Step, Json>)[step] : undefined;
  }
  return current;
}

/** Own keys only: `obj.__proto__ = x` would change the prototype instead of adding a key. */
function setOwn(target: object, key: Step, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

interface Mutation {
  kind: 'replace' | 'delete' | 'insert';
  at: number;
  key: string;
  value: Json;
}

function mutate(original: Json, mutations: readonly Mutation[]): Json {
  const root = structuredClone(original);
  for (const m of mutations) {
    const paths = pathsOf(root).filter((p) => p.length > 0);
    const path = paths[m.at % Math.max(paths.length, 1)];
    if (!path) {
      continue;
    }
    const parent = at(root, path.slice(0, -1)) as Record<Step, Json> | Json[];
    const last = path[path.length - 1] as Step;
    const value = structuredClone(m.value);
    if (m.kind === 'replace') {
      setOwn(parent as object, last, value);
    } else if (m.kind === 'delete') {
      if (Array.isArray(parent)) {
        parent.splice(last as number, 1);
      } else {
        delete (parent as Record<Step, Json>)[last];
      }
    } else {
      const target = at(root, path);
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        setOwn(target, m.key, value);
      } else if (Array.isArray(target)) {
        target.push(value);
      }
    }
  }
  return root;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('replace' as const, 'delete' as const, 'insert' as const),
  at: fc.nat(),
  key: fhirKey,
  value: fhirValue,
});

/** A rule fixture (a realistic complete response), unchanged or with up to four mutations. */
const mutatedResponse: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom(...ruleFixtures), fc.array(mutation, { maxLength: 4 }))
  .map(([response, mutations]) => mutate(response, mutations));

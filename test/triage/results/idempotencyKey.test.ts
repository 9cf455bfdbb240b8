import { createHash } from 'node:crypto';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import fc from 'fast-check';
import {
  additionalReferralRoles,
  canonicalJson,
  idempotencyKey,
  idempotencyTag,
  ifNoneExistQuery,
  resultIdentifier,
  type ResultRole,
  resultUuid,
} from '../../../src/triage/results/idempotencyKey';
import { fixtureResponse } from './resultFixtures';

/** The first, array-based canonical JSON: stored idempotency keys were made with it, so every later version must agree. */
function firstCanonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => firstCanonicalJson(v === undefined ? null : v)).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${firstCanonicalJson(record[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The same JSON with every object's keys in reverse order, at every depth. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(reverseKeys);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)])
    );
  }
  return value;
}

describe('idempotencyKey', () => {
  const response = fixtureResponse('response-physio-work');
  const key = idempotencyKey(response, '1.0.0');

  test('is 64 hex characters, safe inside a token search', () => {
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  const sameKey: { name: string; change: (r: QuestionnaireResponse) => QuestionnaireResponse }[] = [
    { name: 'a different id', change: (r) => ({ ...r, id: 'stored-elsewhere-42' }) },
    { name: 'no id', change: ({ id: _id, ...r }) => r },
    {
      name: 'server meta and our own tag',
      change: (r) => ({ ...r, meta: { versionId: '7', lastUpdated: '2025-06-10T09:31:00Z', tag: [idempotencyTag(key, 'response')] } }),
    },
    { name: 'a narrative', change: (r) => ({ ...r, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Hip pain</div>' } }) },
    { name: 'every key in another order', change: (r) => reverseKeys(r) as QuestionnaireResponse },
  ];
  test.each(sameKey)('ignores $name', ({ change }) => {
    const changed = change(structuredClone(response));
    expect(JSON.stringify(changed)).not.toBe(JSON.stringify(response));
    expect(idempotencyKey(changed, '1.0.0')).toBe(key);
  });

  const otherKey: { name: string; change: (r: QuestionnaireResponse) => QuestionnaireResponse; version?: string }[] = [
    { name: 'a different ruleset version', change: (r) => r, version: '1.0.1' },
    { name: 'a different answer', change: (r) => JSON.parse(JSON.stringify(r).replace('"2-6-weeks"', '"6-12-weeks"')) as QuestionnaireResponse },
    { name: 'another patient', change: (r) => ({ ...r, subject: { reference: 'Patient/someone-else' } }) },
    { name: 'another authored time', change: (r) => ({ ...r, authored: '2025-06-11T09:30:00+01:00' }) },
  ];
  test.each(otherKey)('changes with $name', ({ change, version }) => {
    expect(idempotencyKey(change(structuredClone(response)), version ?? '1.0.0')).not.toBe(key);
  });

  test('is the key the first version gave this response (a changed key would write a redelivery twice)', () => {
    expect(key).toBe('53b18f72509ab59f5aff595dd6e4ad78934a13843376b42a89048b9d9b536610');
  });

  test('canonical JSON agrees with the first version on any JSON, with undefined members, holes and unencodable values', () => {
    fc.assert(
      fc.property(fc.anything({ withSparseArray: true, withNullPrototype: true, withObjectString: true, withBoxedValues: false }), (value) => {
        expect(canonicalJson(value)).toBe(firstCanonicalJson(value));
      }),
      { numRuns: 500 }
    );
    const odd = [[() => 1, 2], { f: () => 1, s: Symbol('s') }, [undefined, null], undefined, { a: undefined }];
    for (const value of odd) {
      expect(canonicalJson(value)).toBe(firstCanonicalJson(value));
    }
    expect(canonicalJson(fixtureResponse('response-physio-work'))).toBe(firstCanonicalJson(fixtureResponse('response-physio-work')));
  });

  test('canonical JSON sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"f":1}]},"b":1}');
  });
});

describe('per-role identity', () => {
  const key = 'a'.repeat(64);

  test('tag, identifier and conditional-create query share one code', () => {
    expect(idempotencyTag(key, 'careplan')).toEqual({ system: 'https://fhir.hip-triage.example.org/CodeSystem/triage-idempotency', code: `${key}:careplan` });
    expect(resultIdentifier(key, 'careplan')).toEqual({ system: 'https://fhir.hip-triage.example.org/sid/triage-result', value: `${key}:careplan` });
    expect(ifNoneExistQuery(key, 'careplan')).toBe(`_tag=https://fhir.hip-triage.example.org/CodeSystem/triage-idempotency|${key}:careplan`);
  });

  test('occupational therapy gets the referral-ot and task-ot roles', () => {
    expect(additionalReferralRoles('occupational-therapy')).toEqual({ referral: 'referral-ot', task: 'task-ot' });
  });

  test('UUIDs are stable, well-formed (version 8, RFC variant) and distinct per role and key', () => {
    const roles = [
      'response',
      'guidance',
      'risk',
      'careplan',
      'referral',
      'referral-ot',
      'task',
      'task-ot',
      'task-safety-net',
      'provenance',
      'device',
    ] as const;
    const uuids = roles.map((role) => resultUuid(key, role));
    for (const uuid of uuids) {
      expect(uuid).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set(uuids).size).toBe(roles.length);
    expect(resultUuid(key, 'careplan')).toBe(uuids[3]);
    expect(resultUuid('b'.repeat(64), 'careplan')).not.toBe(uuids[3]);
  });

  it('gives the UUID the first version gave (pinned): stored bundles and answers keep their fullUrls', () => {
    expect(resultUuid('a'.repeat(64), 'careplan')).toBe('urn:uuid:d59fe455-cdb7-8d66-99d7-e5e15fea7077');
  });

  it('agrees with the first, unmemoised version on any sequence of keys and roles (the memo never leaks between keys)', () => {
    const key = fc.constantFrom('a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64));
    const role = fc.constantFrom<ResultRole>('response', 'risk', 'careplan', 'referral', 'task', 'task-safety-net', 'device', 'referral-ot', 'task-ot');
    fc.assert(
      fc.property(fc.array(fc.tuple(key, role), { minLength: 1, maxLength: 40 }), (calls) => {
        for (const [k, r] of calls) {
          expect(resultUuid(k, r)).toBe(firstResultUuid(k, r));
        }
      }),
      { numRuns: 300 }
    );
  });
});

/** The first version: SHA-256 of `key:role` through a Hash object, computed afresh each call. */
function firstResultUuid(key: string, role: string): string {
  const bytes = createHash('sha256').update(`${key}:${role}`).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ROOT } from '../support/responses';

/**
 * fast-check arbitraries for fuzzing the service's ways in: valid requests taken apart
 * (wrong types, huge and unicode strings, deep nesting, prototype-pollution keys,
 * duplicated answers, broken references) and requests generated from nothing.
 */

export type FuzzTarget = 'triage-score' | 'triage-persist' | 'fhir-create' | 'fhir-search' | 'fhir-read' | 'fhir-transaction' | 'webhook';

export interface HostileRequest {
  readonly target: FuzzTarget;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const FIXTURES = ['S1', 'G1', 'E1', 'U3', 'P1', 'SG1'].map(
  (name) => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${name}.qr.json`), 'utf8')) as Json
);

const HEARTBEAT: Json = {
  resourceType: 'Bundle',
  type: 'history',
  entry: [{ resource: { resourceType: 'SubscriptionStatus', status: 'active', type: 'heartbeat', subscription: { reference: 'Subscription/triage' } } }],
};
const EVENT: Json = {
  resourceType: 'Bundle',
  type: 'history',
  entry: [
    {
      resource: {
        resourceType: 'SubscriptionStatus',
        status: 'active',
        type: 'event-notification',
        subscription: { reference: 'Subscription/triage' },
        notificationEvent: [{ eventNumber: '1', focus: { reference: 'QuestionnaireResponse/qr-1' } }],
      },
    },
    { fullUrl: 'http://fhir.example/QuestionnaireResponse/qr-1', resource: { resourceType: 'QuestionnaireResponse', id: 'qr-1', status: 'completed' } },
  ],
};

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => `a${String.fromCharCode(c)}b`);
const unicode = fc.string({ unit: 'binary', maxLength: 40 });
const graphemes = fc.string({ unit: 'grapheme', maxLength: 20 });
/** 'Ω' is two bytes in UTF-8: up to 1.2 MB, so some bodies pass the 1 MB limit and some do not. */
const hugeString = fc.integer({ min: 20_000, max: 600_000 }).map((n) => 'Ω'.repeat(n));
const brokenReference = fc.constantFrom(
  'Patient/',
  'Patient/../../etc/passwd',
  'urn:uuid:00000000-0000-0000-0000-000000000000',
  '#missing',
  'http://evil.example/fhir/Patient/1',
  `Patient/${'a'.repeat(200)}`,
  'QuestionnaireResponse/x/_history/1',
  'Questionnaire/hip-pain-triage|9.9.9',
  'https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage|0.0.1',
  '',
  ' Patient/1 ',
  'Patient/1\u0000',
  'javascript:alert(1)'
);

function nestedValue(depth: number): Json {
  let value: Json = 'deep';
  for (let i = 0; i < depth; i++) {
    value = i % 2 === 0 ? [value] : { item: value };
  }
  return value;
}

/**
 * A value of the wrong type, size or content for wherever it lands. Huge strings only where
 * nothing is stored: the embedded store keeps what it accepts in memory, and thousands of
 * accepted megabyte resources would measure the test machine's RAM, not the service.
 */
function hostileValueOf(huge: boolean): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), unicode, graphemes, loneSurrogate) },
    { weight: 3, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 2 ** 53, 1e308, -0)) },
    { weight: 2, arbitrary: fc.oneof(fc.boolean(), fc.constant(null)) },
    { weight: 2, arbitrary: brokenReference.map((reference): Json => ({ reference })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
    { weight: 1, arbitrary: fc.integer({ min: 3, max: 90 }).map(nestedValue) },
    { weight: 1, arbitrary: fc.constantFrom<Json>([], {}, [[]], [{}], ['']) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 100, max: 1_500 })
        .map((n): Json => Array.from({ length: n }, () => ({ linkId: 'pain-score', answer: [{ valueInteger: 5 }] }))),
    },
    { weight: huge ? 1 : 0, arbitrary: hugeString }
  );
}
const hostileValue = hostileValueOf(false);
const hostileOrHugeValue = hostileValueOf(true);

/** Keys with no place in FHIR, some dangerous to JavaScript objects. */
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'resourceType',
    'id',
    'meta',
    'contained',
    'extension',
    'modifierExtension',
    '_value',
    '',
    ' '
  ),
  fc.string({ maxLength: 12 }),
  unicode
);

type Mutation =
  | { readonly kind: 'replace' | 'delete' | 'duplicate'; readonly at: number; readonly value: Json }
  | { readonly kind: 'insert'; readonly at: number; readonly key: string; readonly value: Json };

const mutationOf = (value: fc.Arbitrary<Json>): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ kind: fc.constantFrom('replace' as const, 'delete' as const, 'duplicate' as const), at: fc.nat(), value }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), key: hostileKey, value })
  );
const mutation = mutationOf(hostileValue);

type Path = Array<string | number>;

function pathsOf(value: Json, path: Path = [], into: Path[] = []): Path[] {
  into.push(path);
  if (Array.isArray(value)) {
    value.forEach((v, i) => pathsOf(v, [...path, i], into));
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      pathsOf(value[key] as Json, [...path, key], into);
    }
  }
  return into;
}

function parentOf(root: Json, path: Path): Json | undefined {
  let current: Json | undefined = root;
  for (const step of path.slice(0, -1)) {
    current = current !== null && typeof current === 'object' ? (current as Record<string, Json>)[step as string] : undefined;
  }
  return current;
}

/**
 * Own properties only (defineProperty): `obj.__proto__ = x` would change the object's
 * prototype instead of adding a key, and the JSON sent would not carry it.
 */
function setOwn(target: object, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

export function applyMutations(original: Json, mutations: readonly Mutation[]): Json {
  let root = structuredClone(original);
  for (const mutation of mutations) {
    // A copy: generated values can be shared (constantFrom), and a shared one mutated in
    // place would end up inside itself.
    const m = { ...mutation, value: structuredClone(mutation.value) };
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length] ?? [];
    if (path.length === 0) {
      if (m.kind === 'replace') {
        root = m.value;
      } else if (m.kind === 'insert' && root !== null && typeof root === 'object' && !Array.isArray(root)) {
        setOwn(root, m.key, m.value);
      }
      continue;
    }
    const parent = parentOf(root, path);
    const last = path[path.length - 1] as string | number;
    if (parent === null || typeof parent !== 'object' || parent === undefined) {
      continue;
    }
    const current = (parent as Record<string | number, Json>)[last] as Json;
    switch (m.kind) {
      case 'replace':
        setOwn(parent, last, m.value);
        break;
      case 'delete':
        if (Array.isArray(parent)) {
          parent.splice(last as number, 1);
        } else {
          delete (parent as Record<string, Json>)[last as string];
        }
        break;
      case 'duplicate':
        // A repeated answer, item or entry: the same content twice.
        if (Array.isArray(parent)) {
          parent.splice(last as number, 0, structuredClone(current));
        } else if (Array.isArray(current)) {
          current.push(structuredClone(current[0] ?? null));
        }
        break;
      case 'insert':
        if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
          setOwn(current, m.key, m.value);
        } else {
          setOwn(parent, last, { [m.key]: m.value });
        }
        break;
    }
  }
  return root;
}

const fixture = fc.constantFrom(...FIXTURES);
const mutatedResponseOf = (m: fc.Arbitrary<Mutation>): fc.Arbitrary<Json> =>
  fc.tuple(fixture, fc.array(m, { minLength: 1, maxLength: 4 })).map(([doc, ms]) => applyMutations(doc, ms));
/** Valid now and then, so the write paths are exercised too. */
const responseBodyOf = (m: fc.Arbitrary<Mutation>) =>
  fc.oneof(
    { weight: 1, arbitrary: fixture },
    { weight: 6, arbitrary: mutatedResponseOf(m) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json> }
  );
const responseBody = responseBodyOf(mutation);
/** For what is scored but never stored ($triage?persist=false) and the receiver, which stores nothing it is sent. */
const unstoredResponseBody = responseBodyOf(mutationOf(hostileOrHugeValue));

/** The text that goes on the wire: mostly the JSON, sometimes broken JSON. */
const encoded = (body: fc.Arbitrary<Json>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: body.map((b) => JSON.stringify(b) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.tuple(body, fc.nat()).map(([b, cut]) => {
        const text = JSON.stringify(b) ?? '';
        return text.slice(0, cut % (text.length + 1));
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[1,2', '{"resourceType":}', 'null', '"just a string"', '\uFEFF{}', '{"a":1}{"b":2}', 'NaN') }
  );

const asParameters = (body: fc.Arbitrary<Json>): fc.Arbitrary<Json> =>
  fc.tuple(body, fc.oneof(fc.constant(undefined), hostileOrHugeValue)).map(([resource, persist]): Json => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'response', resource }, ...(persist === undefined ? [] : [{ name: 'persist', valueBoolean: persist }])],
  }));

const FHIR_TYPES = [
  'QuestionnaireResponse',
  'Patient',
  'RiskAssessment',
  'CarePlan',
  'Task',
  'ServiceRequest',
  'Provenance',
  'Questionnaire',
  'Observation',
  'Bundle',
  'Binary',
  'NotAType',
  '$triage',
  '_history',
  '..',
  '%2e%2e',
];
const resourceType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FHIR_TYPES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent) }
);
const pathSegment = fc.oneof(
  fc.constantFrom('example-patient', 'hip-pain-triage', 'qr-1', '_history', '1', '', '..', '%00', '%2F', 'a'.repeat(300)),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  unicode.map(encodeURIComponent)
);
const searchParam = fc.tuple(
  fc.oneof(
    fc.constantFrom(
      'subject',
      'patient',
      '_id',
      '_count',
      '_sort',
      '_include',
      '_revinclude',
      'status',
      'date',
      'identifier',
      '_lastUpdated',
      'subject:Patient',
      'subject.name',
      '_has:Task:focus:status',
      '_summary',
      '_elements',
      '_total',
      'subject:missing',
      '_offset',
      'url',
      '_tag'
    ),
    fc.string({ maxLength: 10 })
  ),
  fc.oneof(
    fc.string({ maxLength: 30 }),
    unicode,
    brokenReference,
    fc.constantFrom('-1', '1e9', 'gt2020', 'eq', 'Patient:subject', '*', 'count', 'x|y|z', ',,,', 'Patient/example-patient'),
    fc.integer({ min: 1, max: 3000 }).map((n) => 'x'.repeat(n))
  )
);
const query = fc.array(searchParam, { maxLength: 5 }).map((params) => params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

const entryRequest = fc.record({
  method: fc.oneof(fc.constantFrom('POST', 'PUT', 'GET', 'DELETE', 'PATCH'), hostileValue),
  url: fc.oneof(
    fc.tuple(resourceType, fc.option(pathSegment)).map(([t, id]) => (id === null ? t : `${t}/${id}`)),
    brokenReference,
    hostileValue
  ),
  ifNoneExist: fc.option(fc.constantFrom('identifier=x', '_tag=a|b', '', 'subject=Patient/1')),
});
const entry = fc.record({
  fullUrl: fc.oneof(
    fc.uuid().map((u) => `urn:uuid:${u}`),
    brokenReference,
    hostileValue
  ),
  resource: fc.oneof(responseBody, hostileValue),
  request: fc.oneof({ weight: 5, arbitrary: entryRequest as fc.Arbitrary<Json> }, { weight: 1, arbitrary: hostileValue }),
});
const hostileBundle: fc.Arbitrary<Json> = fc
  .tuple(fc.oneof(fc.constantFrom('transaction', 'batch', 'history', 'searchset'), hostileValue), fc.array(entry, { maxLength: 6 }))
  .chain(([type, entries]) => fc.tuple(fc.constant({ resourceType: 'Bundle', type, entry: entries } as Json), fc.array(mutation, { maxLength: 2 })))
  .map(([doc, ms]) => applyMutations(doc, ms));
/**
 * A well-formed batch or transaction (searches, and stored copies of the fixture): the hostile shapes above
 * are refused almost always (1 accepted in about 1,500), so without these the accepting path of the
 * bundle handler would be reached by chance alone, and the test's coverage check would be a coin toss.
 */
const wellFormedEntry: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(...FHIR_TYPES).map((type) => ({ request: { method: 'GET', url: `${type}?_count=1` } }) as Json),
  fc
    .tuple(fc.uuid(), fixture)
    .map(([u, resource]) => ({ fullUrl: `urn:uuid:${u}`, resource, request: { method: 'POST', url: 'QuestionnaireResponse' } }) as Json)
);
const wellFormedBundle: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom('transaction', 'batch'), fc.array(wellFormedEntry, { maxLength: 3 }))
  .map(([type, entry]) => ({ resourceType: 'Bundle', type, entry }) as Json);
const bundle: fc.Arbitrary<Json> = fc.oneof({ weight: 6, arbitrary: hostileBundle }, { weight: 1, arbitrary: wellFormedBundle });

const notification: fc.Arbitrary<Json> = fc.oneof(
  fc
    .tuple(fc.constantFrom(HEARTBEAT, EVENT), fc.array(mutationOf(hostileOrHugeValue), { minLength: 1, maxLength: 4 }))
    .map(([doc, ms]) => applyMutations(doc, ms)),
  unstoredResponseBody,
  fc.constant(EVENT),
  fc.constant({} as Json)
);

const FHIR_JSON = { 'Content-Type': 'application/fhir+json' };

/** `null` `weight` times as often as a value (fc.option's `freq` is the other way round). */
function mostlyNull<T>(arbitrary: fc.Arbitrary<T>, weight: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
}

export function hostileRequests(webhookSecret: string): fc.Arbitrary<HostileRequest> {
  const webhookAuth = fc.oneof(
    { weight: 8, arbitrary: fc.constant({ Authorization: `Bearer ${webhookSecret}` }) },
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => ({ Authorization: `Bearer ${s.replace(/[^\x21-\x7e]/g, 'x')}` })) }
  );
  return fc.oneof(
    {
      weight: 5,
      arbitrary: encoded(fc.oneof({ weight: 3, arbitrary: unstoredResponseBody }, { weight: 1, arbitrary: asParameters(unstoredResponseBody) })).map(
        (body): HostileRequest => ({
          target: 'triage-score',
          method: 'POST',
          path: '/fhir/QuestionnaireResponse/$triage?persist=false',
          body,
          headers: FHIR_JSON,
        })
      ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(encoded(fc.oneof({ weight: 3, arbitrary: responseBody }, { weight: 1, arbitrary: asParameters(responseBody) })), mostlyNull(pathSegment, 5))
        .map(([body, id]): HostileRequest => ({
          target: 'triage-persist',
          method: 'POST',
          path: id === null ? '/fhir/QuestionnaireResponse/$triage' : `/fhir/QuestionnaireResponse/${id}/$triage`,
          body,
          headers: FHIR_JSON,
        })),
    },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          { weight: 8, arbitrary: fc.tuple(resourceType, encoded(fc.oneof(responseBody, hostileValue))) },
          // A valid response to its own type now and then: otherwise a create is accepted about 7 times in 10,000.
          {
            weight: 1,
            arbitrary: fc.tuple(
              fc.constant('QuestionnaireResponse'),
              fixture.map((doc) => JSON.stringify(doc))
            ),
          }
        )
        .map(([type, body]): HostileRequest => ({ target: 'fhir-create', method: 'POST', path: `/fhir/${type}`, body, headers: FHIR_JSON })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(resourceType, query)
        .map(([type, q]): HostileRequest => ({ target: 'fhir-search', method: 'GET', path: `/fhir/${type}?${q}`, body: undefined, headers: {} })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(resourceType, pathSegment, fc.constantFrom('', '/_history', '/_history/1')).map(([type, id, suffix]): HostileRequest => ({
        target: 'fhir-read',
        method: 'GET',
        path: `/fhir/${type}/${id}${suffix}`,
        body: undefined,
        headers: {},
      })),
    },
    {
      weight: 3,
      arbitrary: encoded(bundle).map((body): HostileRequest => ({ target: 'fhir-transaction', method: 'POST', path: '/fhir', body, headers: FHIR_JSON })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(encoded(notification), mostlyNull(pathSegment, 2), webhookAuth, fc.constantFrom<'POST' | 'PUT'>('POST', 'PUT'))
        .map(([body, id, auth, method]): HostileRequest => ({
          target: 'webhook',
          method,
          path: id === null ? '/subscriptions/questionnaire-response' : `/subscriptions/questionnaire-response/QuestionnaireResponse/${id}`,
          body,
          headers: { ...FHIR_JSON, ...auth },
        })),
    }
  );
}

import { savedView } from '../../src/smart/resultView';
import type { Bundle, BundleEntry, Reference, Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { patientTokenStore, splitTriageTransaction } from '../../src/smart/patientTokenWriteBack';
import { planWrite } from '../../src/smart/writePlan';
import { buildTriageTransaction, type TriageTransaction } from '../../src/triage/results/buildTriageTransaction';
import { fixtureResponse, scoreFixture, shippedContent, shippedRouting, TIME_ZONE } from '../triage/results/resultFixtures';

const NOW = new Date('2025-06-10T09:00:00.000Z');

function transactionFor(fixture: string): TriageTransaction {
  const response = fixtureResponse(fixture);
  return buildTriageTransaction({
    result: scoreFixture(response, NOW),
    response,
    content: shippedContent(),
    routing: shippedRouting(),
    now: NOW,
    timeZone: TIME_ZONE,
    responseAlreadyStored: false,
  });
}

function references(resource: Resource | undefined): Reference[] {
  const found: Reference[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value !== null && typeof value === 'object') {
      if (typeof (value as Reference).reference === 'string' || (value as Reference).type === 'Device') {
        found.push(value as Reference);
      }
      Object.values(value).forEach(walk);
    }
  };
  walk(resource);
  return found;
}

const types = (entries: readonly BundleEntry[] | undefined): string[] => (entries ?? []).map((e) => e.resource?.resourceType ?? '');

describe('splitting a triage transaction for a patient-limited token', () => {
  const transaction = transactionFor('response-emergency');
  const split = splitTriageTransaction(transaction.bundle);

  it('keeps every clinical result in one transaction, and the service record apart', () => {
    expect(types(split.clinical.entry).sort()).toEqual(['CarePlan', 'QuestionnaireResponse', 'RiskAssessment', 'ServiceRequest', 'Task', 'Task'].sort());
    expect(types(split.record).sort()).toEqual(['Device', 'GuidanceResponse', 'Provenance']);
    expect(split.clinicalPositions.length + split.recordPositions.length).toBe(transaction.bundle.entry?.length);
    expect(split.key).toBe(transaction.key);
  });

  it('makes the clinical entries plain creates whose references all resolve inside them, the Device by identifier', () => {
    const inside = new Set((split.clinical.entry ?? []).map((e) => e.fullUrl));
    for (const entry of split.clinical.entry ?? []) {
      expect(entry.request).toEqual({ method: 'POST', url: entry.resource?.resourceType });
      for (const reference of references(entry.resource)) {
        if (reference.reference?.startsWith('urn:uuid:')) {
          expect(inside.has(reference.reference)).toBe(true);
        }
        if (reference.type === 'Device') {
          expect(reference.reference).toBeUndefined();
          expect(reference.identifier).toEqual({ system: 'https://fhir.hip-triage.example.org/sid/device', value: 'hip-triage-service' });
        }
      }
      // Still tagged: an earlier copy is found by its tag.
      expect(entry.resource?.meta?.tag?.some((t) => t.code?.startsWith(`${transaction.key}:`))).toBe(true);
    }
  });

  it('leaves the record entries as the conditional creates they were', () => {
    for (const entry of split.record) {
      expect(entry.request?.ifNoneExist).toBeTruthy();
    }
  });
});

/** A store that records what it is asked and answers transactions as a server would (ids assigned, order kept). */
function recordingStore(name: string, calls: string[], existing: Resource[] = []): FhirStore {
  let next = 0;
  return {
    readResource: async () => {
      throw new Error('not used');
    },
    searchResources: async <T extends Resource>(type: T['resourceType'], query: Record<string, string>) => {
      calls.push(`${name} search ${type} ${Object.keys(query).sort().join(',')}`);
      return existing.filter((r) => r.resourceType === type && r.meta?.tag?.some((t) => query._tag?.endsWith(`|${t.code ?? ''}`))) as T[];
    },
    executeTransaction: async (bundle: Bundle) => {
      calls.push(`${name} transaction ${types(bundle.entry).join(',')}`);
      return {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: (bundle.entry ?? []).map((e) => ({
          resource: { ...e.resource, id: `${name}-${(next += 1)}` } as Resource,
          response: { status: '201 Created' },
        })),
      };
    },
    checkReady: async () => undefined,
    close: async () => undefined,
  };
}

describe('writing with a patient-limited token', () => {
  const logger = pino({ level: 'silent' });

  it('searches for an earlier copy by patient and tag, writes the clinical results once, then the record with the backend pointing at them', async () => {
    const calls: string[] = [];
    const transaction = transactionFor('response-self-care');
    let recordBundle: Bundle | undefined;
    const backend = recordingStore('backend', calls);
    const store = patientTokenStore({
      user: recordingStore('user', calls),
      backend: {
        ...backend,
        executeTransaction: async (bundle) => {
          recordBundle = bundle;
          return backend.executeTransaction(bundle);
        },
      },
      patientId: 'example-patient',
      logger,
    });
    const answer = await store.executeTransaction(transaction.bundle);
    expect(calls).toEqual([
      'user search QuestionnaireResponse _tag,subject',
      'user transaction QuestionnaireResponse,RiskAssessment,CarePlan',
      'backend transaction Device,GuidanceResponse,Provenance',
    ]);
    expect(answer.entry).toHaveLength(transaction.bundle.entry?.length ?? -1);
    const guidance = recordBundle?.entry?.find((e) => e.resource?.resourceType === 'GuidanceResponse')?.resource;
    // The record points at what the user's transaction stored, not at urn:uuids it never saw.
    expect(references(guidance).filter((r) => r.reference?.startsWith('QuestionnaireResponse/'))).not.toHaveLength(0);
    for (const fullUrl of (splitTriageTransaction(transaction.bundle).clinical.entry ?? []).map((e) => e.fullUrl ?? '')) {
      expect(JSON.stringify(recordBundle)).not.toContain(fullUrl);
    }
  });

  it('finds an earlier copy instead of writing a second one', async () => {
    const calls: string[] = [];
    const transaction = transactionFor('response-self-care');
    const earlier = (transaction.bundle.entry ?? []).map((e, i) => ({ ...e.resource, id: `old-${i}` }) as Resource);
    const store = patientTokenStore({ user: recordingStore('user', calls, earlier), backend: undefined, patientId: 'example-patient', logger });
    const answer = await store.executeTransaction(transaction.bundle);
    expect(calls.filter((c) => c.includes('transaction'))).toEqual([]);
    expect((answer.entry ?? []).map((e) => e.resource?.id).filter((id) => id !== undefined)).toEqual(['old-1', 'old-2', 'old-3']);
  });
});

describe('the write plan', () => {
  const clinical = ['Device', 'QuestionnaireResponse', 'RiskAssessment', 'ServiceRequest', 'CarePlan', 'GuidanceResponse', 'Task', 'Provenance'];
  const plan = (grantedScope: string, extra: Partial<Parameters<typeof planWrite>[0]> = {}) =>
    planWrite({ grantedScope, entryTypes: clinical, transactions: true, backendAvailable: false, ...extra });

  it('uses the user token for everything when its grants reach every type beyond one patient', () => {
    expect(plan('user/*.crus').kind).toBe('user-token');
  });

  it('splits for patient grants with create and search on every clinical type', () => {
    expect(plan('patient/*.cs').kind).toBe('patient-token');
    expect(
      plan('patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus').kind
    ).toBe('patient-token');
    // A self-care triage writes no ServiceRequest or Task: their grants are not needed then.
    expect(
      planWrite({
        grantedScope: 'patient/QuestionnaireResponse.cs patient/RiskAssessment.cs patient/CarePlan.cs',
        entryTypes: ['Device', 'QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'GuidanceResponse', 'Provenance'],
        transactions: true,
        backendAvailable: false,
      }).kind
    ).toBe('patient-token');
  });

  it('names what cannot be saved, and falls back to the backend only when it has credentials for this server', () => {
    const refused = plan('patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus');
    expect(refused).toEqual({ kind: 'none', because: expect.stringContaining('the referral (ServiceRequest), the referral task (Task)') });
    expect(plan('patient/*.cru').kind).toBe('none');
    expect(plan('patient/*.r', { backendAvailable: true })).toEqual({ kind: 'backend', because: expect.stringContaining('does not allow saving') });
  });

  it('does not write to a server without transactions, or one whose capabilities are unknown, with the user token', () => {
    expect(plan('user/*.crus', { transactions: false })).toEqual({ kind: 'none', because: expect.stringContaining('all-or-nothing') });
    expect(plan('user/*.crus', { transactions: undefined }).kind).toBe('none');
    expect(plan('user/*.crus', { transactions: false, backendAvailable: true }).kind).toBe('backend');
  });
});

describe('what was left out, in words', () => {
  it('tells types the app never asked for from types the EHR did not grant', () => {
    const view = savedView({
      stored: [{ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' } }],
      by: 'your sign-in',
      leftOut: [
        { type: 'GuidanceResponse', asked: false },
        { type: 'Provenance', asked: true },
      ],
    });
    expect(view.details).toContain(
      'Not saved: the record of how the result was worked out (GuidanceResponse). This app does not ask your record system for access to save these (they are the triage service’s own records, kept where it has its own connection to your record system, which it has not here).'
    );
    expect(view.details).toContain('Not saved: the record of who made the result (Provenance) (your record system did not let this app save them).');
  });
});

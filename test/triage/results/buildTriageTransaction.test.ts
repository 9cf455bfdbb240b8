import type {
  ActivityDefinition,
  Bundle,
  CarePlan,
  GuidanceResponse,
  Parameters,
  Provenance,
  Resource,
  RiskAssessment,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import { buildTriageTransaction, isClinicianOnly, isShownToAnswerer, type TriageTransaction } from '../../../src/triage/results/buildTriageTransaction';
import { IDEMPOTENCY_TAG_SYSTEM, RESULT_IDENTIFIER_SYSTEM, resultUuid } from '../../../src/triage/results/idempotencyKey';
import { scoreResponse } from '../../../src/triage/scoreResponse';
import { findActivityDefinition } from '../../../src/triage/triageContent';
import { referenceTargetProblems, referenceUses, validationErrors } from './fhirChecks';
import { fixtureResponse, scoreFixture, shippedContent, shippedRouting, TIME_ZONE } from './resultFixtures';

/** Tuesday 10 June 2025, 10:00 in London (BST). */
const NOW = new Date('2025-06-10T09:00:00.000Z');
const SERVICE = (id: string): string => `HealthcareService/hip-triage-${id}`;

function build(fixture: string, extra: { responseAlreadyStored?: boolean; deviceReference?: string } = {}): TriageTransaction {
  const response = fixtureResponse(fixture);
  return buildTriageTransaction({
    result: scoreFixture(response, NOW),
    response,
    content: shippedContent(),
    routing: shippedRouting(),
    now: NOW,
    timeZone: TIME_ZONE,
    responseAlreadyStored: extra.responseAlreadyStored ?? false,
    deviceReference: extra.deviceReference,
  });
}

function resources<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
}

function only<T extends Resource>(bundle: Bundle, type: T['resourceType']): T {
  const found = resources<T>(bundle, type);
  expect(found).toHaveLength(1);
  return found[0] as T;
}

const content = shippedContent();
const isMaterial = (canonical: string): boolean => (findActivityDefinition(content, canonical)?.relatedArtifact ?? []).some((a) => a.url);
const materialCanonicals = [
  ...new Set(
    [...content.activityDefinitions.values()]
      .filter((ad) => ad.relatedArtifact?.some((a) => a.url))
      .map((ad: ActivityDefinition) => `${ad.url ?? ''}|${ad.version ?? ''}`)
  ),
];
/** An advice item's `url|version`, at the version the shipped content has. */
const ADVICE = (id: string): string => {
  const url = `https://fhir.hip-triage.example.org/ActivityDefinition/${id}`;
  return `${url}|${findActivityDefinition(content, url)?.version ?? ''}`;
};
const isExerciseOrKeepActive = (canonical: string): boolean =>
  (findActivityDefinition(content, canonical)?.topic ?? []).some((t) => t.text === 'exercise' || t.text === 'keep active');

interface ExpectedReferral {
  readonly service: string;
  readonly priority: ServiceRequest['priority'];
  readonly due: string;
}

interface Case {
  readonly fixture: string;
  readonly disposition: string;
  readonly referrals: readonly ExpectedReferral[];
  readonly safetyNetDue?: string;
  readonly carePlanEnd: string;
  /**
   * emergency/urgent: act-now advice only; gp for a possibly serious cause (G1 child, G4 night pain): no exercises or keep-active, information
   * materials and the safety net; the others: self-help, every material and the safety net.
   */
  readonly advice: 'act-now' | 'serious-gp' | 'self-help';
}

const END_OF_TODAY = '2025-06-10T22:59:59.000Z';
const IN_14_DAYS = '2025-06-24T09:00:00.000Z';
const IN_6_WEEKS = '2025-07-22T09:00:00.000Z';

const cases: Case[] = [
  {
    fixture: 'response-emergency',
    disposition: 'emergency',
    referrals: [{ service: SERVICE('emergency-department'), priority: 'stat', due: NOW.toISOString() }],
    safetyNetDue: NOW.toISOString(),
    carePlanEnd: NOW.toISOString(),
    advice: 'act-now',
  },
  {
    fixture: 'response-safeguarding',
    disposition: 'urgent',
    referrals: [{ service: SERVICE('urgent-care'), priority: 'asap', due: END_OF_TODAY }],
    safetyNetDue: END_OF_TODAY,
    carePlanEnd: END_OF_TODAY,
    advice: 'act-now',
  },
  {
    // P2 fired, but urgent care comes first: no occupational therapy referral.
    fixture: 'response-urgent-work',
    disposition: 'urgent',
    referrals: [{ service: SERVICE('urgent-care'), priority: 'asap', due: END_OF_TODAY }],
    safetyNetDue: END_OF_TODAY,
    carePlanEnd: END_OF_TODAY,
    advice: 'act-now',
  },
  {
    fixture: 'response-gp-work',
    disposition: 'gp',
    referrals: [
      { service: SERVICE('gp-practice'), priority: 'routine', due: IN_14_DAYS },
      { service: SERVICE('occupational-therapy'), priority: 'routine', due: IN_6_WEEKS },
    ],
    carePlanEnd: IN_14_DAYS,
    advice: 'serious-gp',
  },
  {
    fixture: 'response-child-gp',
    disposition: 'gp',
    referrals: [{ service: SERVICE('paediatric-service'), priority: 'urgent', due: '2025-06-12T09:00:00.000Z' }],
    carePlanEnd: '2025-06-12T09:00:00.000Z',
    advice: 'serious-gp',
  },
  {
    fixture: 'response-physio-work',
    disposition: 'physio',
    referrals: [
      { service: SERVICE('msk-physiotherapy'), priority: 'routine', due: IN_6_WEEKS },
      { service: SERVICE('occupational-therapy'), priority: 'routine', due: IN_6_WEEKS },
    ],
    carePlanEnd: IN_6_WEEKS,
    advice: 'self-help',
  },
  { fixture: 'response-self-care', disposition: 'self-care', referrals: [], carePlanEnd: IN_14_DAYS, advice: 'self-help' },
];

describe.each(cases)('$fixture ($disposition)', (c) => {
  const { key, bundle, roles } = build(c.fixture);
  const entries = bundle.entry ?? [];
  const fullUrlTypes = new Map(entries.map((e) => [e.fullUrl ?? '', e.resource?.resourceType ?? '']));
  const responseRef = resultUuid(key, 'response');

  test('is one transaction of conditional creates keyed on the idempotency tag', () => {
    expect(bundle.type).toBe('transaction');
    expect(roles).toHaveLength(entries.length);
    entries.forEach((entry, i) => {
      const role = roles[i];
      if (role === undefined) {
        throw new Error(`entry ${i} has no role`);
      }
      expect(entry.fullUrl).toBe(resultUuid(key, role));
      expect(entry.request?.method).toBe('POST');
      expect(entry.request?.url).toBe(entry.resource?.resourceType);
      if (role === 'device') {
        expect(entry.request?.ifNoneExist).toBe('identifier=https://fhir.hip-triage.example.org/sid/device|hip-triage-service');
      } else {
        expect(entry.request?.ifNoneExist).toBe(`_tag=${IDEMPOTENCY_TAG_SYSTEM}|${key}:${role}`);
        expect(entry.resource?.meta?.tag).toContainEqual({ system: IDEMPOTENCY_TAG_SYSTEM, code: `${key}:${role}` });
      }
    });
    expect(new Set(entries.map((e) => e.fullUrl)).size).toBe(entries.length);
  });

  test('carries the result identifier on every result resource that has identifiers', () => {
    entries.forEach((entry, i) => {
      const resource = entry.resource as Resource & { identifier?: unknown };
      if (['RiskAssessment', 'CarePlan', 'ServiceRequest', 'Task', 'GuidanceResponse'].includes(resource.resourceType)) {
        expect(resource.identifier).toContainEqual({ system: RESULT_IDENTIFIER_SYSTEM, value: `${key}:${roles[i] ?? ''}` });
      }
    });
  });

  test('every resource is valid FHIR R4', () => {
    for (const entry of entries) {
      expect({ type: entry.resource?.resourceType, errors: validationErrors(entry.resource as Resource) }).toEqual({
        type: entry.resource?.resourceType,
        errors: [],
      });
    }
  });

  test('every reference points at a type its element allows', () => {
    for (const entry of entries) {
      expect(referenceTargetProblems(entry.resource as Resource, fullUrlTypes)).toEqual([]);
    }
  });

  test('every in-bundle reference points at an earlier entry', () => {
    entries.forEach((entry, i) => {
      const earlier = new Set(entries.slice(0, i).map((e) => e.fullUrl));
      for (const use of referenceUses(entry.resource as Resource, fullUrlTypes).filter((u) => u.reference.startsWith('urn:uuid:'))) {
        expect({ from: entry.resource?.resourceType, to: use.reference, earlier: earlier.has(use.reference) }).toEqual({
          from: entry.resource?.resourceType,
          to: use.reference,
          earlier: true,
        });
      }
    });
  });

  test('includes the response, tagged, without its client id', () => {
    const response = entries.find((e) => e.fullUrl === responseRef)?.resource;
    expect(response?.resourceType).toBe('QuestionnaireResponse');
    expect(response?.id).toBeUndefined();
  });

  test('GuidanceResponse, RiskAssessment, CarePlan, ServiceRequests and Provenance all lead back to the response', () => {
    const guidance = only<GuidanceResponse>(bundle, 'GuidanceResponse');
    const outputs = guidance.contained?.find(
      (r): r is Parameters => r.resourceType === 'Parameters' && `#${r.id ?? ''}` === guidance.outputParameters?.reference
    );
    expect(outputs?.parameter?.find((p) => p.name === 'response')?.valueReference?.reference).toBe(responseRef);
    expect(only<RiskAssessment>(bundle, 'RiskAssessment').basis?.map((b) => b.reference)).toContain(responseRef);
    expect(only<CarePlan>(bundle, 'CarePlan').supportingInfo?.map((b) => b.reference)).toContain(responseRef);
    for (const request of resources<ServiceRequest>(bundle, 'ServiceRequest')) {
      expect(request.supportingInfo?.map((b) => b.reference)).toContain(responseRef);
    }
    expect(only<Provenance>(bundle, 'Provenance').entity?.[0]?.what.reference).toBe(responseRef);
  });

  test('codes the disposition and every fired rule in the GuidanceResponse', () => {
    const guidance = only<GuidanceResponse>(bundle, 'GuidanceResponse');
    const result = scoreFixture(fixtureResponse(c.fixture), NOW);
    const parameters = (guidance.contained?.[0] as Parameters).parameter ?? [];
    expect(parameters.find((p) => p.name === 'disposition')?.valueCoding?.code).toBe(c.disposition);
    expect(parameters.filter((p) => p.name === 'rule').map((p) => p.valueCoding?.code)).toEqual(result.firedRules.map((r) => r.id));
    expect(parameters.find((p) => p.name === 'rule')?.valueCoding?.system).toBe('https://fhir.hip-triage.example.org/CodeSystem/triage-rule');
    expect(guidance.moduleCanonical).toBe(`https://fhir.hip-triage.example.org/PlanDefinition/hip-pain-triage-rules|${content.ruleset.version}`);
    expect(guidance.result?.reference).toBe(resultUuid(key, 'careplan'));
  });

  test('refers to the services the routing table names, with the contract priority and due time', () => {
    const requests = resources<ServiceRequest>(bundle, 'ServiceRequest');
    const tasks = resources<Task>(bundle, 'Task').filter((t) => !t.partOf && t.code?.coding?.[0]?.code === 'fulfill');
    expect(requests.map((r) => ({ service: r.performer?.[0]?.reference, priority: r.priority, due: r.occurrencePeriod?.end }))).toEqual(c.referrals);
    expect(tasks).toHaveLength(c.referrals.length);
    requests.forEach((request, i) => {
      const fullUrl = entries.find((e) => e.resource === request)?.fullUrl;
      const task = tasks[i];
      expect(task?.focus?.reference).toBe(fullUrl);
      expect(task?.priority).toBe(request.priority);
      expect(task?.restriction?.period?.end).toBe(request.occurrencePeriod?.end);
      expect(task?.owner?.reference).toBe(request.performer?.[0]?.reference);
      expect(request.category?.[0]?.coding?.[0]).toEqual({ system: 'http://snomed.info/sct', code: '3457005', display: 'Patient referral' });
      expect(request.category?.[1]?.coding?.[0]?.code).toBe(c.disposition);
    });
  });

  test(c.safetyNetDue ? 'gives the duty clinician a safety-net Task' : 'has no safety-net Task', () => {
    const safetyNets = resources<Task>(bundle, 'Task').filter((t) => t.partOf);
    if (!c.safetyNetDue) {
      expect(safetyNets).toEqual([]);
      return;
    }
    expect(safetyNets).toHaveLength(1);
    expect(safetyNets[0]?.owner?.reference).toBe(SERVICE('duty-clinician'));
    expect(safetyNets[0]?.restriction?.period?.end).toBe(c.safetyNetDue);
    expect(safetyNets[0]?.partOf?.[0]?.reference).toBe(resultUuid(key, 'task'));
  });

  test('runs the CarePlan from now to the review or referral due date', () => {
    const plan = only<CarePlan>(bundle, 'CarePlan');
    expect(plan.period).toEqual({ start: NOW.toISOString(), end: c.carePlanEnd });
    expect(plan.status).toBe('active');
    expect(plan.intent).toBe('plan');
  });

  const adviceTitle = {
    'act-now': 'carries only act-now advice: no material, no keep-active',
    'serious-gp': 'carries pain relief, the safety net and information materials: no exercises, no keep-active, no weight advice',
    'self-help': 'carries self-help, every material and the safety net',
  }[c.advice];
  test(adviceTitle, () => {
    const plan = only<CarePlan>(bundle, 'CarePlan');
    const canonicals = (plan.activity ?? []).flatMap((a) => a.detail?.instantiatesCanonical ?? []);
    if (c.advice === 'act-now') {
      expect(canonicals.filter(isMaterial)).toEqual([]);
      expect(canonicals).not.toContain(ADVICE('advice-keep-active'));
      expect(canonicals).not.toContain(ADVICE('advice-safety-net'));
      expect(canonicals).toContain(ADVICE('advice-act-now'));
      expect(canonicals).toContain(ADVICE('advice-call-999-if-cannot-walk'));
    } else if (c.advice === 'serious-gp') {
      expect(canonicals.filter(isMaterial).sort()).toEqual(materialCanonicals.filter((m) => !isExerciseOrKeepActive(m)).sort());
      expect(canonicals.filter(isExerciseOrKeepActive)).toEqual([]);
      expect(canonicals).not.toContain(ADVICE('advice-weight'));
      expect(canonicals).toContain(ADVICE(c.disposition === 'gp' && c.fixture.includes('child') ? 'advice-pain-relief-child' : 'advice-pain-relief'));
      expect(canonicals).toContain(ADVICE('advice-safety-net'));
    } else {
      expect(canonicals.filter(isMaterial).sort()).toEqual([...materialCanonicals].sort());
      expect(canonicals).toContain(ADVICE('advice-keep-active'));
      expect(canonicals).toContain(ADVICE('advice-safety-net'));
      expect(canonicals).not.toContain(ADVICE('advice-act-now'));
    }
    // A material links out to its publisher; advice does not.
    for (const activity of plan.activity ?? []) {
      const canonical = activity.detail?.instantiatesCanonical?.[0];
      if (canonical) {
        expect((activity.detail?.instantiatesUri ?? []).length > 0).toBe(isMaterial(canonical));
        expect(activity.detail?.description).toBe(findActivityDefinition(content, canonical)?.description);
      }
    }
    // The referrals are activities too, by reference.
    expect((plan.activity ?? []).filter((a) => a.reference).map((a) => fullUrlTypes.get(a.reference?.reference ?? ''))).toEqual(
      c.referrals.map(() => 'ServiceRequest')
    );
  });

  test('records provenance for every created resource but the clinician-only reviews', () => {
    const provenance = only<Provenance>(bundle, 'Provenance');
    // Every created resource but the clinician-only reviews, which a user's-token write takes out.
    const created = entries
      .filter((e, i) => !['device', 'response', 'provenance', 'task-safeguarding', 'task-identity'].includes(roles[i] ?? ''))
      .map((e) => e.fullUrl);
    expect(provenance.target.map((t) => t.reference).sort()).toEqual([...created].sort());
    expect(provenance.agent[0]?.who?.reference).toBe(resultUuid(key, 'device'));
    expect(provenance.recorded).toBe(NOW.toISOString());
  });
});

describe('buildTriageTransaction', () => {
  test('is deterministic: the same input gives the same bundle', () => {
    expect(build('response-gp-work')).toEqual(build('response-gp-work'));
  });

  test('a redelivered response with another id and server meta gives the same entries', () => {
    const response = fixtureResponse('response-gp-work');
    const result = scoreFixture(response, NOW);
    const options = { result, content, routing: shippedRouting(), now: NOW, timeZone: TIME_ZONE, responseAlreadyStored: false };
    const first = buildTriageTransaction({ ...options, response });
    const again = buildTriageTransaction({ ...options, response: { ...response, id: 'other', meta: { versionId: '3', lastUpdated: '2025-06-10T09:05:00Z' } } });
    expect(again.bundle).toEqual(first.bundle);
  });

  test('references a response that is already stored instead of creating it', () => {
    const { bundle, roles } = build('response-physio-work', { responseAlreadyStored: true });
    expect(roles).not.toContain('response');
    expect(resources(bundle, 'QuestionnaireResponse')).toEqual([]);
    expect(only<RiskAssessment>(bundle, 'RiskAssessment').basis?.[0]?.reference).toBe('QuestionnaireResponse/triage-physio-work');
  });

  test('refuses a stored response without an id', () => {
    const { id: _id, ...response } = fixtureResponse('response-self-care');
    expect(() =>
      buildTriageTransaction({
        result: scoreFixture(response, NOW),
        response,
        content,
        routing: shippedRouting(),
        now: NOW,
        timeZone: TIME_ZONE,
        responseAlreadyStored: true,
      })
    ).toThrow(/already stored must carry its id/);
  });

  test('references a known Device instead of creating it', () => {
    const { bundle, roles } = build('response-emergency', { deviceReference: 'Device/abc' });
    expect(roles).not.toContain('device');
    expect(only<ServiceRequest>(bundle, 'ServiceRequest').requester?.reference).toBe('Device/abc');
  });

  test('SG1: the safeguarding note goes to a duty-clinician review Task only, never into what the patient reads', () => {
    const transaction = build('response-safeguarding');
    const { bundle } = transaction;
    const reviews = resources<Task>(bundle, 'Task').filter((t) => t.code?.coding?.[0]?.code === 'review-safeguarding');
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({
      priority: 'asap',
      owner: { reference: SERVICE('duty-clinician') },
      code: { coding: [{ system: 'https://fhir.hip-triage.example.org/CodeSystem/triage-task', code: 'review-safeguarding' }] },
      focus: { reference: resultUuid(transaction.key, 'response') },
      input: [{ valueReference: { reference: resultUuid(transaction.key, 'risk') } }],
    });
    expect(reviews[0]?.note?.map((n) => n.text).join('\n')).toMatch(/For clinicians \(safeguarding, SG1\).*non-accidental injury/);
    expect(transaction.clinicianOnlyRoles).toEqual(['task-safeguarding']);
    // The seam a split writer (SMART, patient token) uses to write it with the service's own credentials.
    expect((bundle.entry ?? []).filter(isClinicianOnly).map((e) => (e.resource as Task).code?.coding?.[0]?.code)).toEqual(['review-safeguarding']);
    expect((bundle.entry ?? []).filter((e) => !isShownToAnswerer(e.resource))).toHaveLength(1);
    for (const type of ['RiskAssessment', 'GuidanceResponse', 'CarePlan', 'ServiceRequest'] as const) {
      expect([type, JSON.stringify(resources(bundle, type))]).not.toEqual([type, expect.stringMatching(/safeguard|non-accidental|SG1/i)]);
    }
    const patientTasks = resources<Task>(bundle, 'Task').filter((t) => t.code?.coding?.[0]?.code !== 'review-safeguarding');
    expect(JSON.stringify(patientTasks)).not.toMatch(/safeguard|non-accidental|SG1/i);
    expect(resources<Task>(build('response-gp-work').bundle, 'Task').some((t) => t.code?.coding?.[0]?.code === 'review-safeguarding')).toBe(false);
  });

  test('explains the disposition in words: every fired rule with its reason, and the action', () => {
    const risk = only<RiskAssessment>(build('response-emergency').bundle, 'RiskAssessment');
    expect(risk.prediction?.[0]?.outcome?.coding?.[0]).toMatchObject({
      system: 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition',
      code: 'emergency',
    });
    expect(risk.prediction?.[0]?.rationale).toMatch(/^E1: You cannot put weight .*; U1: .*; G3: /);
    expect(risk.mitigation).toMatch(/999/);
    expect(risk.prediction?.[0]?.qualitativeRisk).toBeUndefined();
  });

  test('keeps patient data out of Task descriptions', () => {
    for (const task of resources<Task>(build('response-emergency').bundle, 'Task')) {
      expect(task.description).toMatch(/rules E1, U1, G3/);
      expect(task.description).not.toMatch(/example-patient|78/);
    }
  });

  test('refuses a result the routing table cannot route', () => {
    const response = fixtureResponse('response-gp-work');
    const routing = shippedRouting();
    const withoutOt = { ...routing, additionalReferrals: new Map() };
    expect(() =>
      buildTriageTransaction({
        result: scoreFixture(response, NOW),
        response,
        content,
        routing: withoutOt,
        now: NOW,
        timeZone: TIME_ZONE,
        responseAlreadyStored: false,
      })
    ).toThrow("no route for the additional referral 'occupational-therapy'");
  });

  test('refuses advice whose ActivityDefinition the content lacks, rather than dropping it', () => {
    const response = fixtureResponse('response-self-care');
    const lacking = { ...content, activityDefinitions: new Map([...content.activityDefinitions].filter(([k]) => !k.includes('advice-safety-net'))) };
    expect(() =>
      buildTriageTransaction({
        result: scoreFixture(response, NOW),
        response,
        content: lacking,
        routing: shippedRouting(),
        now: NOW,
        timeZone: TIME_ZONE,
        responseAlreadyStored: false,
      })
    ).toThrow(/advice-safety-net/);
  });
});

describe('results that depend on the table and on warnings', () => {
  test('the self-care review date follows the routing table', () => {
    const response = fixtureResponse('response-self-care');
    const routing = { ...shippedRouting(), selfCare: { reviewDays: 7 } };
    const { bundle } = buildTriageTransaction({
      result: scoreFixture(response, NOW),
      response,
      content,
      routing,
      now: NOW,
      timeZone: TIME_ZONE,
      responseAlreadyStored: false,
    });
    expect(only<CarePlan>(bundle, 'CarePlan').period?.end).toBe('2025-06-17T09:00:00.000Z');
  });

  test('an age mismatch warning reaches the RiskAssessment note and the GuidanceResponse evaluation message', () => {
    const response = fixtureResponse('response-gp-work');
    // Answered 40; a birth date that makes the patient 45 at `authored`.
    const outcome = scoreResponse({ content, response, birthDate: '1980-01-01', now: NOW, timeZone: TIME_ZONE });
    if (!outcome.valid) {
      throw new Error('fixture should be valid');
    }
    expect(outcome.result.warnings).toHaveLength(1);
    const { bundle } = buildTriageTransaction({
      result: outcome.result,
      response,
      content,
      routing: shippedRouting(),
      now: NOW,
      timeZone: TIME_ZONE,
      responseAlreadyStored: false,
    });
    expect(only<RiskAssessment>(bundle, 'RiskAssessment').note?.map((n) => n.text)).toEqual([
      expect.stringMatching(/^Warning: The answered age \(40\) differs/),
    ]);
    const guidance = only<GuidanceResponse>(bundle, 'GuidanceResponse');
    const messages = guidance.contained?.find((r) => `#${r.id ?? ''}` === guidance.evaluationMessage?.[0]?.reference);
    expect(messages?.resourceType).toBe('OperationOutcome');
    expect(validationErrors(guidance)).toEqual([]);
  });
});

describe('the FHIR checks used above can fail', () => {
  test('validateResource rejects an invalid resource', () => {
    expect(validationErrors({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', priority: 'soon' } as unknown as Resource)).not.toEqual([]);
  });

  test('a reference to a type the element does not allow is reported', () => {
    const guidance: GuidanceResponse = {
      resourceType: 'GuidanceResponse',
      status: 'success',
      moduleUri: 'urn:example',
      reasonReference: [{ reference: 'QuestionnaireResponse/x' }],
    };
    expect(referenceTargetProblems(guidance)).toEqual([expect.stringMatching(/^GuidanceResponse.reasonReference -> QuestionnaireResponse\/x/)]);
  });
});

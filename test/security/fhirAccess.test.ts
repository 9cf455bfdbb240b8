import type { Resource } from '@medplum/fhirtypes';
import type { Caller } from '../../src/auth/caller';
import { compartmentViolation, decideScopes, type ResourceLookup } from '../../src/auth/fhirAccess';
import { classifyFhirCall, type FhirCall, type FhirInteraction } from '../../src/auth/fhirInteraction';
import { belongsToPatient, patientsOf, searchNamesPatient } from '../../src/auth/patientCompartment';
import { parseScopes } from '../../src/auth/smartScopes';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';

beforeAll(() => indexFhirDefinitions());

const CONTENT = new Set(['Questionnaire', 'PlanDefinition', 'ActivityDefinition', 'CodeSystem']);

function caller(scope: string, patient?: string): Caller {
  return { kind: 'bearer', subject: 'test', grants: parseScopes(scope), patient };
}

function call(method: string, url: string, body?: unknown, ifNoneExist?: string): FhirCall {
  const [path = '', search = ''] = url.split('?');
  return { method, path, query: Object.fromEntries(new URLSearchParams(search)), body, ifNoneExist };
}

const QR = (subject: string) => ({ resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: subject } });
const PARAMS = (resource: unknown, persist?: boolean) => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'response', resource }, ...(persist === undefined ? [] : [{ name: 'persist', valueBoolean: persist }])],
});

describe('classifying /fhir requests as the router routes them', () => {
  it.each([
    ['GET', '/Patient/1', 'read'],
    ['HEAD', '/Patient/1', 'read'],
    ['GET', '/Patient/1/_history', 'history'],
    ['GET', '/Patient/1/_history/2', 'vread'],
    ['GET', '/RiskAssessment?subject=Patient/1', 'search'],
    ['POST', '/RiskAssessment/_search', 'search'],
    ['GET', '/?_type=Patient', 'search-system'],
    ['POST', '/Patient', 'create'],
    ['PUT', '/Patient/1', 'update'],
    ['PATCH', '/Patient/1', 'patch'],
    ['DELETE', '/Patient/1', 'delete'],
    ['PUT', '/Patient?identifier=x', 'conditional-update'],
    ['PATCH', '/Patient?identifier=x', 'conditional-patch'],
    ['DELETE', '/Patient?identifier=x', 'conditional-delete'],
    ['POST', '/QuestionnaireResponse/$triage', 'triage'],
    ['POST', '/QuestionnaireResponse/abc/$triage', 'triage'],
    ['POST', '/$graphql', 'other'],
    ['POST', '/Patient/$everything', 'other'],
    ['GET', '/Patient/1/_history/2/extra', 'other'],
    ['POST', '/', 'other'], // not a batch or transaction Bundle
    ['OPTIONS', '/Patient/1', 'other'],
    ['GET', '//Patient//1', 'read'], // empty segments are dropped, as the router does
  ])('%s %s → %s', (method, url, kind) => {
    expect(classifyFhirCall(call(method, url)).kind).toBe(kind);
  });

  it('reads persist from the query and from a Parameters body, either one saying false wins', () => {
    const persist = (url: string, body: unknown) => (classifyFhirCall(call('POST', url, body)) as Extract<FhirInteraction, { kind: 'triage' }>).persist;
    expect(persist('/QuestionnaireResponse/$triage', QR('Patient/1'))).toBe(true);
    expect(persist('/QuestionnaireResponse/$triage?persist=false', QR('Patient/1'))).toBe(false);
    expect(persist('/QuestionnaireResponse/$triage', PARAMS(QR('Patient/1'), false))).toBe(false);
    expect(persist('/QuestionnaireResponse/$triage', PARAMS(QR('Patient/1'), true))).toBe(true);
    // Not a boolean: the route answers 400; until then it counts as persisting (the stricter need).
    expect(persist('/QuestionnaireResponse/$triage', { resourceType: 'Parameters', parameter: [{ name: 'persist', valueString: 'no' }] })).toBe(true);
  });

  it('judges every entry of a batch or transaction', () => {
    const interaction = classifyFhirCall(
      call('POST', '/', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } },
          { request: { method: 'GET', url: 'RiskAssessment?subject=Patient/1' } },
          { request: { method: 'DELETE', url: 'Task/9' } },
          { request: { method: 'POST', url: '' }, resource: { resourceType: 'Bundle', type: 'batch' } },
          { request: { method: 'PUT', url: 'https://elsewhere.example/fhir/Patient/1' } },
          { request: { url: 'Patient/1' } },
          // The router takes a _search entry's parameters from its resource: not judged as a search.
          { request: { method: 'POST', url: 'Task/_search?patient=p1' }, resource: { resourceType: 'Parameters' } },
        ],
      })
    );
    expect(interaction.kind).toBe('bundle');
    expect((interaction as Extract<FhirInteraction, { kind: 'bundle' }>).entries.map((e) => e.kind)).toEqual([
      'create',
      'search',
      'delete',
      'other',
      'other',
      'other',
      'other',
    ]);
  });
});

describe('scope decisions', () => {
  const triage = 'POST /QuestionnaireResponse/$triage';
  const score = 'POST /QuestionnaireResponse/$triage?persist=false';
  const clinicalWrite = 'patient/QuestionnaireResponse.c patient/RiskAssessment.c patient/CarePlan.c patient/ServiceRequest.c patient/Task.c';
  const clinicalUser = clinicalWrite.replace(/patient\//g, 'user/');
  const cases: Array<[string, string, string | undefined, string, 'unrestricted' | 'patient' | 'forbidden']> = [
    // [request, scopes, patient claim, description, expected]
    [triage, clinicalWrite, 'p1', 'persist with patient write scopes for the clinical types', 'patient'],
    [triage, clinicalWrite.replace(' patient/Task.c', ''), 'p1', 'persist without Task.c', 'forbidden'],
    [triage, clinicalWrite, undefined, 'patient scopes without a patient claim', 'forbidden'],
    [triage, 'patient/*.cruds', 'p1', 'patient wildcard', 'patient'],
    [
      triage,
      'patient/QuestionnaireResponse.write patient/RiskAssessment.write patient/CarePlan.write patient/ServiceRequest.write patient/Task.write',
      'p1',
      'v1 .write scopes',
      'patient',
    ],
    [triage, 'patient/QuestionnaireResponse.read', 'p1', 'read only', 'forbidden'],
    [triage, clinicalUser, undefined, 'user scopes without GuidanceResponse and Provenance', 'forbidden'],
    [triage, `${clinicalUser} user/GuidanceResponse.c user/Provenance.c`, undefined, 'user scopes for all seven types', 'unrestricted'],
    [triage, 'system/*.cruds', undefined, 'a backend service', 'unrestricted'],
    [triage, 'system/*.rs', undefined, 'a read-only backend', 'forbidden'],
    [score, 'patient/QuestionnaireResponse.r', 'p1', 'score only with read', 'patient'],
    [score, 'patient/QuestionnaireResponse.c', 'p1', 'score only with create', 'patient'],
    [score, 'patient/QuestionnaireResponse.s', 'p1', 'score only with search only', 'forbidden'],
    [score, 'patient/RiskAssessment.r', 'p1', 'score only without QuestionnaireResponse', 'forbidden'],
    ['GET /RiskAssessment/1', 'patient/RiskAssessment.read', 'p1', 'read with v1 read', 'patient'],
    ['GET /RiskAssessment/1', 'patient/RiskAssessment.s', 'p1', 'read with search only', 'forbidden'],
    ['GET /RiskAssessment/1/_history/1', 'user/RiskAssessment.r', undefined, 'vread', 'unrestricted'],
    ['GET /RiskAssessment?subject=Patient/p1', 'patient/RiskAssessment.r', 'p1', 'search with read only', 'forbidden'],
    ['GET /RiskAssessment?subject=Patient/p1', 'patient/RiskAssessment.rs', 'p1', 'search', 'patient'],
    ['POST /RiskAssessment', 'patient/RiskAssessment.c', 'p1', 'create', 'patient'],
    ['PUT /RiskAssessment/1', 'patient/RiskAssessment.c', 'p1', 'update needs u', 'forbidden'],
    ['PATCH /RiskAssessment/1', 'user/RiskAssessment.u', undefined, 'patch needs u', 'unrestricted'],
    ['DELETE /RiskAssessment/1', 'user/RiskAssessment.cru', undefined, 'delete needs d', 'forbidden'],
    ['DELETE /RiskAssessment?subject=Patient/p1', 'user/RiskAssessment.d', undefined, 'conditional delete also needs s', 'forbidden'],
    ['GET /Questionnaire/hip-pain-triage', 'openid', undefined, 'published content with no scope', 'unrestricted'],
    ['GET /Questionnaire?url=x', 'openid', undefined, 'published content search', 'unrestricted'],
    ['GET /Questionnaire?_revinclude=QuestionnaireResponse:questionnaire', 'openid', undefined, 'content search that reaches responses', 'forbidden'],
    ['POST /Questionnaire', 'openid', undefined, 'writing content', 'forbidden'],
    ['POST /$graphql', 'patient/*.cruds', 'p1', 'an operation with patient scopes', 'forbidden'],
    ['POST /$graphql', 'system/*.rs', undefined, 'an operation with system read', 'unrestricted'],
    ['GET /?_type=Patient,Task', 'user/Patient.s user/Task.s', undefined, 'system search by type', 'unrestricted'],
    ['GET /', 'user/Patient.s', undefined, 'system search of everything', 'forbidden'],
    // Rules, content and routing (GOVERNED_TYPES): only a user/ or system/ scope naming the type writes them.
    ['PUT /PlanDefinition/rules', 'system/*.cruds', undefined, 'a wildcard cannot rewrite the ruleset', 'forbidden'],
    ['PUT /PlanDefinition/rules', 'system/PlanDefinition.u', undefined, 'a system scope naming PlanDefinition', 'unrestricted'],
    ['PUT /PlanDefinition/rules', 'patient/PlanDefinition.u', 'p1', 'a patient scope naming PlanDefinition', 'forbidden'],
    ['DELETE /HealthcareService/ed', 'user/*.cud', undefined, 'a user wildcard cannot delete a routing service', 'forbidden'],
    ['DELETE /HealthcareService/ed', 'user/HealthcareService.d', undefined, 'a user scope naming HealthcareService', 'unrestricted'],
    ['POST /SearchParameter', 'user/SearchParameter.write', undefined, 'v1 write naming SearchParameter', 'unrestricted'],
    ['GET /PlanDefinition/rules', 'patient/PlanDefinition.r', 'p1', 'reading content is not governed', 'unrestricted'],
    ['POST /Observation', 'user/*.c', undefined, 'patient data is not governed', 'unrestricted'],
  ];
  it.each(cases)('%s with "%s" (patient %s): %s → %s', (request, scope, patient, _description, expected) => {
    const [method = '', url = ''] = request.split(' ');
    const body = url.includes('$triage') ? QR('Patient/p1') : undefined;
    const decision = decideScopes(caller(scope, patient), classifyFhirCall(call(method, url, body)), CONTENT);
    const got = decision.kind === 'forbidden' ? 'forbidden' : decision.patient === undefined ? 'unrestricted' : 'patient';
    expect(got).toBe(expected);
  });

  it('says which scope is missing, never more', () => {
    const decision = decideScopes(
      caller('patient/QuestionnaireResponse.c', 'p1'),
      classifyFhirCall(call('POST', '/QuestionnaireResponse/$triage', QR('Patient/p1'))),
      CONTENT
    );
    expect(decision).toEqual({ kind: 'forbidden', reason: expect.stringContaining('RiskAssessment.c') });
  });

  it('a transaction needs what every entry needs', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'RiskAssessment' }, resource: { resourceType: 'RiskAssessment' } },
        { request: { method: 'DELETE', url: 'Task/1' } },
      ],
    };
    expect(decideScopes(caller('user/RiskAssessment.c'), classifyFhirCall(call('POST', '/', bundle)), CONTENT).kind).toBe('forbidden');
    expect(decideScopes(caller('user/RiskAssessment.c user/Task.d'), classifyFhirCall(call('POST', '/', bundle)), CONTENT).kind).toBe('allowed');
  });
});

describe('the patient compartment', () => {
  const stored: Record<string, Resource> = {
    'RiskAssessment/mine': { resourceType: 'RiskAssessment', id: 'mine', status: 'final', subject: { reference: 'Patient/p1' } },
    'RiskAssessment/theirs': { resourceType: 'RiskAssessment', id: 'theirs', status: 'final', subject: { reference: 'Patient/p2' } },
    'QuestionnaireResponse/theirs': { resourceType: 'QuestionnaireResponse', id: 'theirs', status: 'completed', subject: { reference: 'Patient/p2' } },
    'QuestionnaireResponse/mine': { resourceType: 'QuestionnaireResponse', id: 'mine', status: 'completed', subject: { reference: 'Patient/p1' } },
    'Patient/p2': { resourceType: 'Patient', id: 'p2' },
    'Questionnaire/q': { resourceType: 'Questionnaire', id: 'q', status: 'active' },
  };
  const lookup: ResourceLookup = async (type, id) => stored[`${type}/${id}`];
  const violation = (method: string, url: string, body?: unknown, ifNoneExist?: string) =>
    compartmentViolation(classifyFhirCall(call(method, url, body, ifNoneExist)), 'p1', lookup);

  it.each([
    ['GET', '/RiskAssessment/mine', undefined, false],
    ['GET', '/RiskAssessment/theirs', undefined, true],
    ['GET', '/RiskAssessment/theirs/_history/1', undefined, true],
    ['GET', '/RiskAssessment/absent', undefined, false], // the route answers 404
    ['GET', '/Patient/p1', undefined, false],
    ['GET', '/Patient/p2', undefined, true],
    ['GET', '/Questionnaire/q', undefined, false], // not patient data
    ['GET', '/RiskAssessment?subject=Patient/p1', undefined, false],
    ['GET', '/RiskAssessment?subject=p1', undefined, false],
    ['GET', '/Task?patient=p1&status=ready', undefined, false],
    ['GET', '/RiskAssessment', undefined, true], // not restricted to the patient
    ['GET', '/RiskAssessment?subject=Patient/p2', undefined, true],
    ['GET', '/RiskAssessment?subject=Patient/p1,Patient/p2', undefined, true],
    ['GET', '/RiskAssessment?subject:missing=true', undefined, true],
    ['GET', '/RiskAssessment?subject=Patient/p1&_include=RiskAssessment:performer', undefined, true],
    ['GET', '/RiskAssessment?subject.name=x', undefined, true],
    ['GET', '/Patient?_id=p1', undefined, false],
    ['GET', '/Patient?name=smith', undefined, true],
    ['GET', '/GuidanceResponse?subject=Patient/p2', undefined, true], // outside the compartment, still patient data
    ['POST', '/RiskAssessment', { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' } }, false],
    ['POST', '/RiskAssessment', { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p2' } }, true],
    ['POST', '/RiskAssessment', { resourceType: 'RiskAssessment', status: 'final' }, true], // nobody's
    ['PUT', '/RiskAssessment/theirs', { resourceType: 'RiskAssessment', id: 'theirs', status: 'final', subject: { reference: 'Patient/p1' } }, true], // taking over theirs
    ['PUT', '/RiskAssessment/mine', { resourceType: 'RiskAssessment', id: 'mine', status: 'final', subject: { reference: 'Patient/p1' } }, false],
    ['PATCH', '/RiskAssessment/mine', [], true],
    ['DELETE', '/RiskAssessment/theirs', undefined, true],
    ['DELETE', '/RiskAssessment/mine', undefined, false],
    ['DELETE', '/RiskAssessment?subject=Patient/p1', undefined, true],
    ['POST', '/QuestionnaireResponse/$triage', QR('Patient/p1'), false],
    ['POST', '/QuestionnaireResponse/$triage', QR('https://fhir.example.org/Patient/p1'), false],
    ['POST', '/QuestionnaireResponse/$triage?persist=false', QR('Patient/p2'), true],
    ['POST', '/QuestionnaireResponse/$triage', PARAMS(QR('Patient/p2')), true],
    ['POST', '/QuestionnaireResponse/$triage', { resourceType: 'QuestionnaireResponse', status: 'completed' }, true],
    ['POST', '/QuestionnaireResponse/$triage', { resourceType: 'Observation' }, false], // the route answers 400
    ['POST', '/QuestionnaireResponse/theirs/$triage', undefined, true],
    ['POST', '/QuestionnaireResponse/mine/$triage', undefined, false],
    ['POST', '/$graphql', undefined, true],
    // Writes outside the Patient compartment, whatever the resource says (issue 19).
    ['PUT', '/HealthcareService/duty', { resourceType: 'HealthcareService', id: 'duty', name: 'Nobody' }, true],
    ['POST', '/Organization', { resourceType: 'Organization', name: 'Rogue' }, true],
    ['POST', '/PlanDefinition', { resourceType: 'PlanDefinition', status: 'active' }, true],
    ['DELETE', '/PlanDefinition/rules', undefined, true],
    ['PATCH', '/SearchParameter/Task-due', [], true],
    ['PUT', '/Questionnaire/q', { resourceType: 'Questionnaire', id: 'q', status: 'retired' }, true],
    ['DELETE', '/Questionnaire?url=x', undefined, true],
  ])('%s %s → refused: %s', async (method, url, body, refused) => {
    expect((await violation(method, url, body)) !== undefined).toBe(refused);
  });

  it('refuses a conditional create, which could match and return another patient’s resource', async () => {
    expect(
      await violation('POST', '/RiskAssessment', { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' } }, 'identifier=x')
    ).toBeDefined();
  });

  it('checks every entry of a transaction', async () => {
    const entry = (subject: string) => ({
      request: { method: 'POST', url: 'RiskAssessment' },
      resource: { resourceType: 'RiskAssessment', status: 'final', subject: { reference: subject } },
    });
    const bundle = (subjects: string[]) => ({ resourceType: 'Bundle', type: 'transaction', entry: subjects.map(entry) });
    expect(await violation('POST', '/', bundle(['Patient/p1', 'Patient/p1']))).toBeUndefined();
    expect(await violation('POST', '/', bundle(['Patient/p1', 'Patient/p2']))).toBeDefined();
  });

  it('finds patients through the compartment parameters', () => {
    expect([
      ...patientsOf({ resourceType: 'Task', status: 'ready', intent: 'order', for: { reference: 'Patient/a' }, focus: { reference: 'ServiceRequest/s' } }),
    ]).toEqual(['a']);
    expect(
      [
        ...patientsOf({ resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: 'Patient/a' }, author: { reference: 'Patient/b' } }),
      ].sort()
    ).toEqual(['a', 'b']);
    expect([...patientsOf({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Group/g' } })]).toEqual([]);
    // Shared content may be read by a patient caller, never written.
    expect(belongsToPatient({ resourceType: 'Questionnaire', status: 'active' }, 'a', 'some')).toBe(true);
    expect(belongsToPatient({ resourceType: 'Questionnaire', status: 'active' }, 'a', 'every')).toBe(false);
    expect(searchNamesPatient('Task', { 'patient:Patient': 'a' }, 'a')).toBe(true);
  });
});

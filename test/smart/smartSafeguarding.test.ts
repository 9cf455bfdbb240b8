import type { Resource } from '@medplum/fhirtypes';
import { answersWith, buildResponse } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { bornYearsAgoToday, launchOverHttp, pageData, putPatient, type RunningService, startService, submitResponse } from './smartTestbed';

/**
 * SG1 (a child under 2 with an injury) is for the duty clinician only: never on the page of the
 * person answering (a parent, in the child's record), never in what is written with their
 * token. Here the app has no credentials of its own for the EHR, so everything in the EHR was
 * written with the user's token.
 */
jest.setTimeout(60_000);

const PATIENT_SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';
const USER_SCOPES = 'launch openid fhirUser user/*.crus';
const SAFEGUARDING = /safeguarding|non-accidental|SG1/i;

let authorization: SmartAuthorizationServer;
let ehr: RunningService;
let app: RunningService;
let together: RunningService;

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  app = await startService();
  together = await startService({ authorization });
  for (const running of [ehr, together]) {
    for (const id of ['baby-1', 'baby-2', 'baby-3']) {
      await putPatient(running.service, { resourceType: 'Patient', id, name: [{ given: ['Pip'], family: 'Baby-Example' }], birthDate: bornYearsAgoToday(1) });
    }
  }
});

afterAll(async () => {
  await Promise.all([ehr?.close(), app?.close(), together?.close()]);
  await authorization?.close();
});

async function everythingAbout(running: RunningService, patientId: string): Promise<Resource[]> {
  const bySubject = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'ServiceRequest', 'GuidanceResponse'] as const;
  const found = await Promise.all(bySubject.map((t) => running.service.store.searchResources(t, { subject: `Patient/${patientId}` })));
  const tasks = await running.service.store.searchResources('Task', { patient: `Patient/${patientId}` });
  return [...found.flat(), ...tasks];
}

async function injuredBaby(options: {
  readonly on: RunningService;
  readonly iss: string;
  readonly patientId: string;
  readonly scope: string;
}): Promise<string> {
  authorization.grant({ patient: options.patientId, scope: options.scope, fhirUser: 'RelatedPerson/parent-1' });
  const { browser, html } = await launchOverHttp({ app: options.on.base, iss: options.iss, launch: `sg-${options.patientId}`, authorization });
  const response = buildResponse(answersWith({ age: 1, 'fall-or-injury': true }), { subject: { reference: `Patient/${options.patientId}` } });
  const res = await submitResponse(browser, options.on.base, { response }, pageData(html).csrfToken);
  expect(res.status).toBe(200);
  return (await browser.request(`${options.on.base}/smart/result`)).text();
}

describe('SG1 with the user token', () => {
  it('patient-scoped token: the result page and everything written with it carry no safeguarding text or Task', async () => {
    const page = await injuredBaby({ on: app, iss: ehr.fhirBase, patientId: 'baby-1', scope: PATIENT_SCOPES });
    expect(page).toContain('Get medical help today');
    expect(page).toContain('saved in your health record');
    expect(page).not.toMatch(SAFEGUARDING);
    const written = await everythingAbout(ehr, 'baby-1');
    expect(written.filter((r) => r.resourceType === 'RiskAssessment')).toHaveLength(1);
    expect(JSON.stringify(written)).not.toMatch(SAFEGUARDING);
    expect(JSON.stringify(written)).not.toContain('review-safeguarding');
  });

  it('user-scoped token (the whole transaction with it, GuidanceResponse included): the same', async () => {
    const page = await injuredBaby({ on: app, iss: ehr.fhirBase, patientId: 'baby-2', scope: USER_SCOPES });
    expect(page).toContain('saved in your health record');
    expect(page).not.toMatch(SAFEGUARDING);
    const written = await everythingAbout(ehr, 'baby-2');
    expect(written.filter((r) => r.resourceType === 'GuidanceResponse')).toHaveLength(1);
    expect(JSON.stringify(written)).not.toMatch(SAFEGUARDING);
  });

  it('embedded mode (the service has its own credentials): the result page shows none of it either', async () => {
    const page = await injuredBaby({ on: together, iss: together.fhirBase, patientId: 'baby-3', scope: PATIENT_SCOPES });
    expect(page).toContain('Get medical help today');
    expect(page).not.toMatch(SAFEGUARDING);
  });
});

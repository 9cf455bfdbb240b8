import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { answersWith, buildResponse } from '../support/responses';
import { startSmartAuthorizationServer, type SmartAuthorizationServer } from './smartAuthorizationServer';
import { bornYearsAgoToday, launchOverHttp, pageData, putPatient, type RunningService, startService, submitResponse } from './smartTestbed';

/**
 * Issue 16, SDC prefill: the SMART app shows the response the Questionnaire's own
 * initialExpression gives for the launch patient (evaluated on the server, in the clinical time
 * zone), with the age read-only when the record has a full birth date, and stores the record's
 * age whatever the page sends.
 */
jest.setTimeout(60_000);

const SCOPES =
  'launch openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';

let authorization: SmartAuthorizationServer;
/** EHR and app in one. */
let ehr: RunningService;

const PATIENTS: Record<string, string> = {
  'prefill-40': bornYearsAgoToday(40),
  'prefill-tomorrow-40': '', // set below: born a day later, so 39 today
  'prefill-partial': '1986',
  'prefill-old': '1890-01-01',
};

beforeAll(async () => {
  authorization = await startSmartAuthorizationServer();
  ehr = await startService({ authorization });
  const born40 = new Date(`${PATIENTS['prefill-40'] ?? ''}T12:00:00Z`);
  born40.setUTCDate(born40.getUTCDate() + 1);
  PATIENTS['prefill-tomorrow-40'] = born40.toISOString().slice(0, 10);
  for (const [id, birthDate] of Object.entries(PATIENTS)) {
    await putPatient(ehr.service, { resourceType: 'Patient', id, name: [{ given: ['Pia'], family: 'Prefill-Example' }], birthDate });
  }
});

afterAll(async () => {
  await ehr?.close();
  await authorization?.close();
});

const flat = <T extends { item?: T[] }>(items: readonly T[] | undefined): T[] => (items ?? []).flatMap((i) => [i, ...flat(i.item)]);

async function launchFor(
  patient: string
): Promise<Awaited<ReturnType<typeof launchOverHttp>> & { data: ReturnType<typeof pageData> & { questionnaire: Questionnaire } }> {
  authorization.grant({ patient, scope: SCOPES });
  const launched = await launchOverHttp({ app: ehr.base, iss: ehr.fhirBase, launch: `prefill-${patient}`, authorization });
  expect(launched.page.status).toBe(200);
  return { ...launched, data: pageData(launched.html) as ReturnType<typeof pageData> & { questionnaire: Questionnaire } };
}

describe('the SMART form, populated from the Questionnaire’s own prefill', () => {
  it.each([
    ['a full birth date, on the 40th birthday', 'prefill-40', 40],
    ['a full birth date, the day before the 40th birthday', 'prefill-tomorrow-40', 39],
    ['a year of birth only (the form asks)', 'prefill-partial', undefined],
    ['a birth date more than 120 years ago (the form asks)', 'prefill-old', undefined],
  ])('%s', async (_name, patient, age) => {
    const { html, data } = await launchFor(patient);
    const initial = data.initialResponse as QuestionnaireResponse;
    const ageItem = flat<QuestionnaireItem>(data.questionnaire.item).find((i) => i.linkId === 'age');
    if (age === undefined) {
      expect(initial).toEqual({ resourceType: 'QuestionnaireResponse', status: 'in-progress' });
      expect(ageItem?.readOnly).toBeUndefined();
      expect(html).not.toContain('id="age-from-record"');
    } else {
      expect(initial.item).toEqual([{ linkId: 'group-about-you', item: [{ linkId: 'age', answer: [{ valueInteger: age }] }] }]);
      expect(ageItem?.readOnly).toBe(true);
      expect(html).toContain(`Age: <strong>${age}</strong>`);
    }
    // The app evaluated the prefill: LHC-Forms is not given it to evaluate again in the browser's day.
    expect(JSON.stringify(data.questionnaire)).not.toContain('initialExpression');
  });

  it.each([
    ['a different age', 33],
    ['no age at all', undefined],
  ])('stores the record’s age when the page sends %s', async (_name, sent) => {
    const { browser, data } = await launchFor('prefill-40');
    const before = await ehr.service.store.searchResources<QuestionnaireResponse>('QuestionnaireResponse', { subject: 'Patient/prefill-40' });
    const response = buildResponse(answersWith({ age: sent }), { subject: { reference: 'Patient/prefill-40' } });
    const submitted = await submitResponse(browser, ehr.base, { response }, data.csrfToken);
    expect(submitted.status).toBe(200);
    const stored = await ehr.service.store.searchResources<QuestionnaireResponse>('QuestionnaireResponse', { subject: 'Patient/prefill-40' });
    expect(stored).toHaveLength(before.length + 1);
    const saved = stored.find((s) => !before.some((b) => b.id === s.id));
    expect(
      flat<QuestionnaireResponseItem>(saved?.item)
        .filter((i) => i.linkId === 'age')
        .map((i) => i.answer)
    ).toEqual([[{ valueInteger: 40 }]]);
  });
});

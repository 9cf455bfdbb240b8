import type { OperationOutcome, QuestionnaireResponse } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { answersWith, buildResponse } from '../support/responses';
import { startTestService } from '../support/testService';

let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

const TRIAGE = '/fhir/QuestionnaireResponse/$triage?persist=false';

async function postTriage(body: unknown, contentType = 'application/fhir+json') {
  const res = await request(service.app)
    .post(TRIAGE)
    .set('Content-Type', contentType)
    .send(typeof body === 'string' ? body : JSON.stringify(body));
  return { status: res.status, body: res.body as OperationOutcome };
}

function errorIssues(outcome: OperationOutcome) {
  return (outcome.issue ?? []).filter((i) => i.severity === 'error');
}

/** Replaces the answers of one item in a built response. */
function withItemAnswers(response: QuestionnaireResponse, linkId: string, answer: unknown[]): QuestionnaireResponse {
  const copy = JSON.parse(JSON.stringify(response)) as QuestionnaireResponse;
  const visit = (items: QuestionnaireResponse['item']): void => {
    for (const item of items ?? []) {
      if (item.linkId === linkId) {
        item.answer = answer as never;
      }
      visit(item.item);
    }
  };
  visit(copy.item);
  return copy;
}

const valid = buildResponse(answersWith({}));
// The group positions in a built response (most dangerous questions first): about-you, emergency, urgent, pain, daily life.
const ABOUT_YOU = 'QuestionnaireResponse.item[0]';
const EMERGENCY = 'QuestionnaireResponse.item[1]';
const PAIN = 'QuestionnaireResponse.item[3]';
const DAILY = 'QuestionnaireResponse.item[4]';

describe('POST $triage rejects what the contract calls invalid', () => {
  it('accepts the valid baseline (control)', async () => {
    const res = await postTriage(valid);
    expect(res.status).toBe(200);
  });

  it.each([
    ['not JSON', '{"resourceType": "QuestionnaireResponse", ', undefined],
    ['a JSON array', [], undefined],
    ['another resource type', { resourceType: 'Patient' }, 'resourceType'],
    ['Parameters without a response', { resourceType: 'Parameters', parameter: [] }, 'Parameters.parameter'],
  ])('400 for %s', async (_name, body, expression) => {
    const res = await postTriage(body);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    if (expression) {
      expect(errorIssues(res.body)[0]?.expression).toEqual([expression]);
    }
  });

  type Case = [string, QuestionnaireResponse, string, string | undefined];
  const cases: Case[] = [
    ['status in-progress', { ...valid, status: 'in-progress' }, 'QuestionnaireResponse.status', undefined],
    ['subject missing', { ...valid, subject: undefined }, 'QuestionnaireResponse.subject', undefined],
    ['subject not a Patient', { ...valid, subject: { reference: 'Group/1' } }, 'QuestionnaireResponse.subject', undefined],
    ['an unknown Questionnaire', { ...valid, questionnaire: 'https://example.org/Questionnaire/other' }, 'QuestionnaireResponse.questionnaire', undefined],
    ['a required item unanswered', buildResponse(answersWith({ 'pain-score': undefined })), `${PAIN}.item.where(linkId='pain-score')`, 'pain-score'],
    [
      'a boolean answered with a string',
      withItemAnswers(valid, 'cannot-weight-bear', [{ valueString: 'no' }]),
      `${EMERGENCY}.item[0].answer[0]`,
      'cannot-weight-bear',
    ],
    ['an integer answered with a boolean', withItemAnswers(valid, 'age', [{ valueBoolean: true }]), `${ABOUT_YOU}.item[0].answer[0]`, 'age'],
    [
      'a choice that is not an option',
      withItemAnswers(valid, 'duration', [{ valueCoding: { system: 'https://fhir.hip-triage.example.org/CodeSystem/hip-pain-duration', code: 'forever' } }]),
      `${PAIN}.item[0].answer[0].valueCoding`,
      'duration',
    ],
    [
      'a choice from another code system',
      withItemAnswers(valid, 'duration', [{ valueCoding: { system: 'http://example.org/other', code: 'under-3-days' } }]),
      `${PAIN}.item[0].answer[0].valueCoding`,
      'duration',
    ],
    ["'none' with another risk factor", buildResponse(answersWith({ 'risk-factors': ['none', 'diabetes'] })), `${EMERGENCY}.item[8]`, 'risk-factors'],
    ['an age above the range', buildResponse(answersWith({ age: 121 })), `${ABOUT_YOU}.item[0].answer[0].valueInteger`, 'age'],
    ['a pain score below the range', buildResponse(answersWith({ 'pain-score': -1 })), `${PAIN}.item[3].answer[0].valueInteger`, 'pain-score'],
    [
      'an unknown linkId',
      { ...valid, item: [...(valid.item ?? []), { linkId: 'favourite-colour', answer: [{ valueString: 'blue' }] }] },
      'QuestionnaireResponse.item[5]',
      'favourite-colour',
    ],
    ['an answer to a disabled item', buildResponse(answersWith({ 'child-limp': false })), `${ABOUT_YOU}.item[1]`, 'child-limp'],
    [
      'an answer to painkillers-not-helping with no painkillers',
      buildResponse(answersWith({ 'painkillers-not-helping': true })),
      `${DAILY}.item[3]`,
      'painkillers-not-helping',
    ],
    [
      'two answers to a single-answer item',
      withItemAnswers(valid, 'leg-deformed', [{ valueBoolean: false }, { valueBoolean: true }]),
      `${EMERGENCY}.item[1].answer[1]`,
      'leg-deformed',
    ],
    [
      'the same option twice in a repeating item',
      buildResponse(answersWith({ 'risk-factors': ['diabetes', 'diabetes'] })),
      `${EMERGENCY}.item[8].answer[1]`,
      'risk-factors',
    ],
    ['a fractional integer', withItemAnswers(valid, 'pain-score', [{ valueInteger: 1.5 }]), `${PAIN}.item[3].answer[0].valueInteger`, undefined],
    ['two value[x] in one answer', withItemAnswers(valid, 'night-pain', [{ valueBoolean: false, valueInteger: 1 }]), `${PAIN}.item[4].answer[0]`, undefined],
    ['an unknown element', { ...valid, colour: 'blue' } as QuestionnaireResponse, 'QuestionnaireResponse.colour', undefined],
  ];

  it.each(cases)('422 for %s, naming where', async (_name, body, expression, linkId) => {
    const res = await postTriage(body);
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const issues = errorIssues(res.body);
    const match = issues.find((i) => (i.expression ?? []).some((e) => e === expression || e.startsWith(expression)));
    expect({ expressions: issues.map((i) => i.expression) }).toEqual({
      expressions: expect.arrayContaining([expect.arrayContaining([expect.stringContaining(expression)])]),
    });
    if (linkId) {
      expect(match?.diagnostics).toBe(`linkId=${linkId}`);
    }
  });

  it('reports three problems as three issues', async () => {
    const body = buildResponse(answersWith({ 'pain-score': undefined, age: 121 }), { status: 'in-progress' });
    const res = await postTriage(body);
    expect(res.status).toBe(422);
    const expressions = errorIssues(res.body).map((i) => i.expression?.[0]);
    expect(expressions).toHaveLength(3);
    expect(expressions).toEqual(
      expect.arrayContaining(['QuestionnaireResponse.status', `${ABOUT_YOU}.item[0].answer[0].valueInteger`, `${PAIN}.item.where(linkId='pain-score')`])
    );
  });

  it('accepts the response wrapped in Parameters', async () => {
    const res = await postTriage({ resourceType: 'Parameters', parameter: [{ name: 'response', resource: valid }] });
    expect(res.status).toBe(200);
  });

  it('answers unknown routes with an OperationOutcome', async () => {
    const res = await request(service.app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

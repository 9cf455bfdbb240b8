import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem, OperationOutcomeIssue, QuestionnaireResponse } from '@medplum/fhirtypes';
import { PROBLEM_BOUNDS_EXTENSION, problemOf, RESPONSE_PROBLEM_SYSTEM, type ResponseProblem } from '../../src/triage/outcomeIssues';
import { indexQuestionnaire } from '../../src/triage/questionnaireIndex';
import { validateResponse } from '../../src/triage/validateResponse';
import { answersWith, buildResponse, questionnaire, ROOT } from '../support/responses';

/**
 * Every problem the engine finds is coded (details.coding, CodeSystem response-problem), so
 * the SMART app and other clients word it for people from the code, never from the English
 * text (which is for integrators and may be reworded).
 */
const index = indexQuestionnaire(questionnaire);
const codeSystem = JSON.parse(readFileSync(join(ROOT, 'fhir-resources', 'CodeSystem-response-problem.json'), 'utf8')) as CodeSystem;

function withItem(response: QuestionnaireResponse, linkId: string, change: (item: Record<string, unknown>) => void): QuestionnaireResponse {
  const copy = structuredClone(response);
  const visit = (items: Record<string, unknown>[] | undefined): void => {
    for (const item of items ?? []) {
      if (item.linkId === linkId) {
        change(item);
      }
      visit(item.item as Record<string, unknown>[] | undefined);
    }
  };
  visit(copy.item as unknown as Record<string, unknown>[]);
  return copy;
}

const valid = buildResponse(answersWith({}));

const cases: [ResponseProblem, QuestionnaireResponse][] = [
  ['out-of-range', withItem(valid, 'pain-score', (i) => (i.answer = [{ valueInteger: 11 }]))],
  ['required-missing', withItem(valid, 'pain-score', (i) => delete i.answer)],
  ['boolean-expected', withItem(valid, 'cannot-weight-bear', (i) => (i.answer = [{ valueString: 'yes' }]))],
  ['integer-expected', withItem(valid, 'age', (i) => (i.answer = [{ valueDecimal: 40.5 }]))],
  ['too-many-answers', withItem(valid, 'night-pain', (i) => (i.answer = [{ valueBoolean: true }, { valueBoolean: false }]))],
  ['exclusive-with-others', buildResponse(answersWith({ 'risk-factors': ['none', 'steroids'] }))],
  ['not-an-option', withItem(valid, 'duration', (i) => (i.answer = [{ valueCoding: { system: 'urn:other', code: 'forever' } }]))],
  ['status-not-scorable', { ...valid, status: 'in-progress' }],
  ['subject-not-patient', { ...valid, subject: { reference: 'Group/1' } }],
  ['questionnaire-mismatch', { ...valid, questionnaire: 'https://example.org/Questionnaire/other' }],
  ['unknown-item', { ...valid, item: [...(valid.item ?? []), { linkId: 'shoe-size', answer: [{ valueInteger: 9 }] }] }],
];

describe('coded response problems', () => {
  it.each(cases)('%s is reported with its code', (problem, response) => {
    const { issues } = validateResponse(index, response);
    expect(issues.map(problemOf)).toContain(problem);
    for (const issue of issues) {
      expect(issue.details?.coding?.[0]?.system).toBe(RESPONSE_PROBLEM_SYSTEM);
    }
  });

  it('gives an out-of-range answer its bounds, so a client can say "from 0 to 10" without reading the text', () => {
    const { issues } = validateResponse(index, cases[0]?.[1] as QuestionnaireResponse);
    const issue = issues.find((i) => problemOf(i) === 'out-of-range') as OperationOutcomeIssue;
    expect(issue.extension?.find((e) => e.url === PROBLEM_BOUNDS_EXTENSION)?.valueRange).toEqual({ low: { value: 0 }, high: { value: 10 } });
    expect(issue.diagnostics).toBe('linkId=pain-score');
  });

  it('a valid response has no problems (the control)', () => {
    expect(validateResponse(index, valid).issues).toEqual([]);
  });

  it('every code the engine can report is defined in the CodeSystem, with a definition', () => {
    const defined = new Set((codeSystem.concept ?? []).filter((c) => (c.definition ?? '') !== '').map((c) => c.code));
    const source = readFileSync(join(ROOT, 'src', 'triage', 'outcomeIssues.ts'), 'utf8');
    const declared = [...(/export type ResponseProblem =([^;]+);/.exec(source)?.[1] ?? '').matchAll(/'([a-z-]+)'/g)].map((m) => m[1]);
    expect(declared.length).toBeGreaterThan(15);
    expect(declared.filter((code) => !defined.has(code as string))).toEqual([]);
    expect(codeSystem.url).toBe(RESPONSE_PROBLEM_SYSTEM);
  });
});

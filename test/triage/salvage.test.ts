import { join } from 'node:path';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { createStructureCheck, type StructureCheck } from '../../src/fhir/structure';
import { evaluateRules } from '../../src/triage/evaluateRules';
import { mostUrgentUnion, salvageAnswers, salvageRedFlags } from '../../src/triage/salvage';
import { NO_RED_FLAGS } from '../../src/triage/redFlagSuite';
import { assessResponse, scoreResponse } from '../../src/triage/scoreResponse';
import { type Answers, answersWith, buildResponse, ROOT } from '../support/responses';
import { RESHAPINGS, worryingItems } from '../support/reshapings';
import { BOOLEAN_ITEMS, RISK_FACTORS } from '../../src/triage/answerGenerator';

const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
const now = new Date('2026-11-20T12:00:00Z');
const TZ = 'Europe/London';
let checkStructure: StructureCheck;
beforeAll(() => {
  indexFhirDefinitions();
  checkStructure = createStructureCheck(['QuestionnaireResponse']);
});

// The items and risk factors of the shared answer generator (the one verify-ruleset and the monotonicity test use).
const BOOLEANS: readonly string[] = BOOLEAN_ITEMS;

/** Mostly "no", so that one red flag at a time is common (the hard case for a salvage). */
const rarelyYes = fc.integer({ min: 0, max: 14 }).map((n) => n === 0);

const validAnswers = fc
  .record({
    age: fc.integer({ min: 0, max: 120 }),
    booleans: fc.array(rarelyYes, { minLength: BOOLEANS.length, maxLength: BOOLEANS.length }),
    child: fc.array(rarelyYes, { minLength: 3, maxLength: 3 }),
    risks: fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.subarray(RISK_FACTORS, { minLength: 1 }) }),
    daily: fc.constantFrom('none', 'some', 'a-lot', 'unable'),
    pain: fc.integer({ min: 0, max: 10 }),
  })
  .map(({ age, booleans, child, risks, daily, pain }): Answers => {
    const answers: Answers = answersWith({
      age,
      ...Object.fromEntries(BOOLEANS.map((linkId, i) => [linkId, booleans[i] ?? false])),
      'risk-factors': risks.length > 0 ? risks : ['none'],
      'daily-activities': daily,
      'pain-score': pain,
    });
    if (age < 18) {
      answers['child-limp'] = child[0] ?? false;
    }
    if (age < 16) {
      answers['child-not-improving'] = child[1] ?? false;
      answers['child-very-unwell'] = child[2] ?? false;
    }
    return answers;
  });

const RANK: Readonly<Record<string, number>> = { 'self-care': 1, physio: 2, gp: 3, urgent: 4, emergency: 5 };
const SHAPES = Object.keys(RESHAPINGS);

describe('salvage (contract 1.1.0: red flags survive any shape)', () => {
  it('property: for any valid red-flag response, any reshaping (one or two at once) keeps the disposition at least as urgent', () => {
    fc.assert(
      fc.property(validAnswers, fc.array(fc.constantFrom(...SHAPES), { minLength: 1, maxLength: 2 }), (answers, shapes) => {
        const valid = scoreResponse({ content, response: buildResponse(answers), now, timeZone: TZ });
        if (!valid.valid) {
          throw new Error(`generated response is invalid: ${JSON.stringify(valid.issues)}`);
        }
        const before = valid.result.disposition.code;
        fc.pre((RANK[before] ?? 0) >= 4);
        const worrying = worryingItems(answers);
        const body = shapes.reduce<unknown>(
          (shaped, name) => (RESHAPINGS[name] as (r: QuestionnaireResponse, w: readonly string[]) => unknown)(shaped as QuestionnaireResponse, worrying),
          buildResponse(answers)
        );
        const outcome = assessResponse({ content, body, checkStructure, now, timeZone: TZ });
        const after = outcome.valid ? outcome.result.disposition.code : outcome.redFlags?.disposition.code;
        expect({ shapes, before, after: RANK[after ?? ''] ?? 0 }).toEqual({ shapes, before, after: expect.any(Number) });
        expect(RANK[after ?? ''] ?? 0).toBeGreaterThanOrEqual(RANK[before] ?? 0);
      }),
      { numRuns: 1000 }
    );
  });

  it.each([
    ['yes then no', [true, false], true],
    ['no then yes', [false, true], true],
    ['no twice', [false, false], false],
  ])('a yes/no item answered %s counts as yes: %s', (_name, values, expected) => {
    const body = { resourceType: 'QuestionnaireResponse', item: values.map((v) => ({ linkId: 'cannot-weight-bear', answer: [{ valueBoolean: v }] })) };
    expect(salvageAnswers(content.questionnaire, body).view['cannot-weight-bear']).toBe(expected);
  });

  it.each([
    ['a string for a yes/no', { valueString: 'yes' }],
    ['an age out of range', { valueInteger: 400 }],
    ['an option from another code system', { valueCoding: { system: 'http://example.org/other', code: 'a-lot' } }],
    ['an option that does not exist', { valueCoding: { code: 'terrible' } }],
    ['null', null],
  ])('keeps only valid values: %s is not an answer', (_name, answer) => {
    const linkId = _name.includes('age') ? 'age' : _name.includes('yes/no') ? 'cannot-weight-bear' : 'daily-activities';
    const body = { resourceType: 'QuestionnaireResponse', item: [{ linkId, answer: [answer] }] };
    expect(salvageAnswers(content.questionnaire, body).view[linkId]).toBeUndefined();
  });

  it('a repeating choice is the union of every place it was answered, "none" giving way to a real risk factor', () => {
    const system = 'https://fhir.hip-triage.example.org/CodeSystem/hip-risk-factor';
    const body = {
      resourceType: 'QuestionnaireResponse',
      item: [
        { linkId: 'risk-factors', answer: [{ valueCoding: { system, code: 'none' } }] },
        { linkId: 'group-x', item: [{ linkId: 'risk-factors', answer: [{ valueCoding: { system, code: 'diabetes' } }] }] },
      ],
    };
    expect(salvageAnswers(content.questionnaire, body).view['risk-factors']).toEqual(['diabetes']);
  });

  it('conflicting single answers are each judged: daily activities "none" and "unable" gives U7', () => {
    const system = 'https://fhir.hip-triage.example.org/CodeSystem/hip-daily-activities';
    const body = {
      resourceType: 'QuestionnaireResponse',
      item: [{ linkId: 'daily-activities', answer: [{ valueCoding: { system, code: 'none' } }, { valueCoding: { system, code: 'unable' } }] }],
    };
    expect(salvageRedFlags(content, body).redFlags?.firedRules.map((r) => r.id)).toEqual(['U7']);
  });

  it('conflicting ages are each judged: fever at "10" and "40" is E7 (a child with fever)', () => {
    const body = {
      resourceType: 'QuestionnaireResponse',
      item: [
        { linkId: 'age', answer: [{ valueInteger: 40 }] },
        { linkId: 'age', answer: [{ valueInteger: 10 }] },
        { linkId: 'fever-or-unwell', answer: [{ valueBoolean: true }] },
      ],
    };
    const flags = salvageRedFlags(content, body).redFlags;
    expect(flags?.disposition.code).toBe('emergency');
    expect(flags?.firedRules.map((r) => r.id)).toContain('E7');
  });

  it("the birth date's possible ages count when the age is not answered: fever with a record age of 2 is E7", () => {
    const body = { resourceType: 'QuestionnaireResponse', item: [{ linkId: 'fever-or-unwell', answer: [{ valueBoolean: true }] }] };
    expect(salvageRedFlags(content, body).redFlags?.disposition.code).toBe('urgent');
    expect(salvageRedFlags(content, body, [2]).redFlags?.disposition.code).toBe('emergency');
  });

  it('never throws on hostile JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => salvageRedFlags(content, { resourceType: 'QuestionnaireResponse', item: value })).not.toThrow();
      }),
      { numRuns: 300 }
    );
  });

  it('mostUrgentUnion: the rules of every evaluation that reached the kept disposition, and only those', () => {
    const evaluate = (changes: Record<string, boolean>) => evaluateRules(content.ruleset, { ...NO_RED_FLAGS, ...changes });
    const union = mostUrgentUnion(content.ruleset, [
      evaluate({ 'cannot-weight-bear': true }),
      evaluate({ 'pain-worsening': true }),
      evaluate({ 'saddle-numbness': true }),
    ]);
    expect(union?.disposition.code).toBe('emergency');
    expect(union?.firedRules.map((r) => r.id)).toEqual(['E1', 'E5']);
  });
});

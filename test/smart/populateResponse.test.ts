import { OperationOutcomeError } from '@medplum/core';
import type { Extension, Patient, Questionnaire, QuestionnaireResponse } from '@medplum/fhirtypes';
import { populateResponse } from '../../src/smart/populateResponse';
import { dateInZone } from '../../src/triage/age';
import { questionnaire } from '../support/responses';

/** The published Questionnaire's own prefill for a patient on a clinical date (noon UTC that day as the instant). */
function populatedFor(birthDate: string | undefined, today: string): QuestionnaireResponse {
  const patient: Patient = { resourceType: 'Patient', id: 'p', ...(birthDate ? { birthDate } : {}) };
  return populateResponse(questionnaire, { context: { patient }, today, now: new Date(`${today}T12:00:00Z`) });
}

const withAge = (age: number): QuestionnaireResponse => ({
  resourceType: 'QuestionnaireResponse',
  status: 'in-progress',
  item: [{ linkId: 'group-about-you', item: [{ linkId: 'age', answer: [{ valueInteger: age }] }] }],
});
const unanswered: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', status: 'in-progress' };

describe("the response populated from the Questionnaire's own SDC prefill (initialExpression, %patient)", () => {
  it.each([
    ['on the 16th birthday', '2010-03-15', '2026-03-15', withAge(16)],
    ['the day before the 16th birthday', '2010-03-15', '2026-03-14', withAge(15)],
    ['the day after it', '2010-03-15', '2026-03-16', withAge(16)],
    ['the 18th birthday (an adult from today)', '2008-12-03', '2026-12-03', withAge(18)],
    ['the day before the 18th birthday', '2008-12-04', '2026-12-03', withAge(17)],
    ['a leap-day birth date, on 28 February of a common year', '2008-02-29', '2026-02-28', withAge(17)],
    ['a leap-day birth date, on 1 March of a common year', '2008-02-29', '2026-03-01', withAge(18)],
    ['a leap-day birth date, on 29 February of a leap year', '2008-02-29', '2028-02-29', withAge(20)],
    ['a newborn', '2026-12-01', '2026-12-03', withAge(0)],
    ['aged exactly 120 (the highest age the item takes)', '1906-12-03', '2026-12-03', withAge(120)],
    ['older than 120 (not an age the item takes: asked instead)', '1905-12-03', '2026-12-03', unanswered],
    ['a birth date after today (not an age: asked)', '2026-12-04', '2026-12-03', unanswered],
    ['a year only', '2010', '2026-06-01', unanswered],
    ['a year and month', '2010-03', '2026-06-01', unanswered],
    ['no birth date', undefined, '2026-06-01', unanswered],
  ])('%s: born %s, on %s', (_name, birthDate, today, expected) => {
    expect(populatedFor(birthDate, today)).toEqual(expected);
  });

  it('without a patient in the launch, answers nothing', () => {
    expect(populateResponse(questionnaire, { context: {}, today: '2026-06-01', now: new Date('2026-06-01T12:00:00Z') })).toEqual(unanswered);
  });

  it("counts the day as the clinical time zone's, not UTC's: 00:30 in London in summer is already the birthday", () => {
    // In summer time, 00:30 on 15 June in London is 23:30 on 14 June in UTC.
    const instant = new Date('2026-06-14T23:30:00Z');
    const today = dateInZone(instant, 'Europe/London');
    expect(today).toBe('2026-06-15');
    const patient: Patient = { resourceType: 'Patient', birthDate: '2010-06-15' };
    expect(populateResponse(questionnaire, { context: { patient }, today, now: instant })).toEqual(withAge(16));
    expect(populateResponse(questionnaire, { context: { patient }, today: dateInZone(instant, 'UTC'), now: instant })).toEqual(withAge(15));
  });

  it('leaves the Questionnaire untouched', () => {
    const before = JSON.stringify(questionnaire);
    populatedFor('1980-01-01', '2026-06-01');
    expect(JSON.stringify(questionnaire)).toBe(before);
  });
});

describe('populating any Questionnaire (answers typed by the item, nested in their groups)', () => {
  const sdc = (expression: string): Extension => ({
    url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression',
    valueExpression: { language: 'text/fhirpath', expression },
  });
  const form: Questionnaire = {
    resourceType: 'Questionnaire',
    status: 'active',
    extension: [
      {
        url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-launchContext',
        extension: [
          { url: 'name', valueCoding: { system: 'http://hl7.org/fhir/uv/sdc/CodeSystem/launchContext', code: 'patient' } },
          { url: 'type', valueCode: 'Patient' },
        ],
      },
    ],
    item: [
      {
        linkId: 'outer',
        type: 'group',
        item: [
          { linkId: 'family', type: 'string', extension: [sdc('%patient.name.first().family')] },
          { linkId: 'born', type: 'date', extension: [sdc('%patient.birthDate')] },
          { linkId: 'deceased', type: 'boolean', extension: [sdc('%patient.deceasedBoolean')] },
          { linkId: 'given', type: 'string', repeats: true, extension: [sdc('%patient.name.given')] },
          { linkId: 'one-given', type: 'string', extension: [sdc('%patient.name.given')] },
          { linkId: 'status', type: 'choice', extension: [sdc('%patient.maritalStatus.coding.first()')] },
          { linkId: 'inner', type: 'group', item: [{ linkId: 'weight', type: 'decimal', extension: [sdc('2.5')] }] },
          { linkId: 'empty', type: 'group', item: [{ linkId: 'nothing', type: 'string', extension: [sdc('%patient.address.city')] }] },
          { linkId: 'not-a-number', type: 'integer', extension: [sdc('%patient.name.first().family')] },
          { linkId: 'asked', type: 'string' },
        ],
      },
    ],
  };
  const patient: Patient = {
    resourceType: 'Patient',
    name: [{ family: 'Example', given: ['Ada', 'May'] }],
    birthDate: '1990-04-05',
    deceasedBoolean: false,
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
  };

  it('answers each item from its expression, leaves out what gives nothing, a wrong type, or several values for a single answer', () => {
    expect(populateResponse(form, { context: { patient }, today: '2026-01-01', now: new Date('2026-01-01T00:00:00Z') })).toEqual({
      resourceType: 'QuestionnaireResponse',
      status: 'in-progress',
      item: [
        {
          linkId: 'outer',
          item: [
            { linkId: 'family', answer: [{ valueString: 'Example' }] },
            { linkId: 'born', answer: [{ valueDate: '1990-04-05' }] },
            { linkId: 'deceased', answer: [{ valueBoolean: false }] },
            { linkId: 'given', answer: [{ valueString: 'Ada' }, { valueString: 'May' }] },
            { linkId: 'status', answer: [{ valueCoding: { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' } }] },
            { linkId: 'inner', item: [{ linkId: 'weight', answer: [{ valueDecimal: 2.5 }] }] },
          ],
        },
      ],
    });
  });

  it('knows only the launch contexts the Questionnaire declares', () => {
    const undeclared: Questionnaire = { ...form, extension: [] };
    expect(() => populateResponse(undeclared, { context: { patient }, today: '2026-01-01', now: new Date() })).toThrow(OperationOutcomeError);
  });

  it('names the item whose expression cannot be evaluated', () => {
    const broken: Questionnaire = { ...form, item: [{ linkId: 'b', type: 'string', extension: [sdc('%patient.name.(')] }] };
    try {
      populateResponse(broken, { context: { patient }, today: '2026-01-01', now: new Date() });
      throw new Error('expected an OperationOutcomeError');
    } catch (err) {
      expect(err).toBeInstanceOf(OperationOutcomeError);
      expect((err as OperationOutcomeError).outcome.issue?.[0]?.expression?.[0]).toMatch(/^Questionnaire\.item\[0\]\.extension/);
      expect((err as OperationOutcomeError).outcome.issue?.[0]?.details?.text).toContain('"b"');
    }
  });
});

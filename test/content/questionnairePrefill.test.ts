import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalFhirPath } from '@medplum/core';
import type { Patient, Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { ROOT } from '../support/responses';

const questionnaire = JSON.parse(readFileSync(join(ROOT, 'questionnaires', 'hip-pain-triage.json'), 'utf8')) as Questionnaire;
const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';

function findItem(items: QuestionnaireItem[] | undefined, linkId: string): QuestionnaireItem | undefined {
  for (const item of items ?? []) {
    const found = item.linkId === linkId ? item : findItem(item.item, linkId);
    if (found) {
      return found;
    }
  }
  return undefined;
}

const ageExpression = findItem(questionnaire.item, 'age')?.extension?.find((e) => e.url === `${SDC}/sdc-questionnaire-initialExpression`)?.valueExpression;

/** The age the Questionnaire's own prefill gives for this patient, evaluated as an SDC renderer would, on `today`. */
function prefilledAge(patient: Patient, today: string): unknown[] {
  jest.useFakeTimers({ now: new Date(`${today}T12:00:00Z`), doNotFake: ['nextTick', 'setImmediate'] });
  try {
    return evalFhirPath(ageExpression?.expression ?? '', patient, { '%patient': { type: 'Patient', value: patient } });
  } finally {
    jest.useRealTimers();
  }
}

describe('the Questionnaire pre-fills the age itself (SDC), for any SDC renderer', () => {
  it('declares the patient launch context', () => {
    const launchContext = questionnaire.extension?.find((e) => e.url === `${SDC}/sdc-questionnaire-launchContext`);
    expect(launchContext?.extension?.find((e) => e.url === 'name')?.valueCoding?.code).toBe('patient');
    expect(launchContext?.extension?.find((e) => e.url === 'type')?.valueCode).toBe('Patient');
  });

  it('gives the age as a FHIRPath initialExpression on the age item', () => {
    expect(ageExpression?.language).toBe('text/fhirpath');
    expect(ageExpression?.expression).toContain('%patient.birthDate');
  });

  it.each([
    ['on the 16th birthday', '2010-03-15', '2026-03-15', 16],
    ['the day before the 16th birthday', '2010-03-15', '2026-03-14', 15],
    ['the day after', '2010-03-15', '2026-03-16', 16],
    ['a leap-day birthday, on 28 February', '2008-02-29', '2026-02-28', 17],
    ['a leap-day birthday, on 1 March', '2008-02-29', '2026-03-01', 18],
    ['a newborn', '2026-12-01', '2026-12-03', 0],
    ['late in the year', '1950-12-31', '2026-12-30', 75],
  ])('%s: born %s, on %s, aged %i', (_name, birthDate, today, age) => {
    expect(prefilledAge({ resourceType: 'Patient', birthDate }, today)).toEqual([age]);
  });

  it.each([
    ['a year only', '2010'],
    ['a year and month', '2010-03'],
    ['no birth date', undefined],
  ])('leaves the age to be answered with %s', (_name, birthDate) => {
    expect(prefilledAge({ resourceType: 'Patient', ...(birthDate ? { birthDate } : {}) }, '2026-06-01')).toEqual([]);
  });
});

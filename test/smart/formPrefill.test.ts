import type { QuestionnaireItem } from '@medplum/fhirtypes';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { ageFromBirthDate, initialResponse, presentationQuestionnaire, questionnaireForLaunch, withAgeFromRecord } from '../../src/smart/formPrefill';
import { questionnaire } from '../support/responses';
import { bornYearsAgoToday } from './smartTestbed';

/** A calendar date n days from `date` (YYYY-MM-DD), in UTC arithmetic. */
function shift(date: string, days: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

describe('the age pre-filled from Patient.birthDate', () => {
  const now = new Date();

  it('is N on the Nth birthday, and N-1 the day before it', () => {
    const birthday = bornYearsAgoToday(40, now);
    expect(ageFromBirthDate(birthday, now, 'Europe/London')).toBe(40);
    // Born a day later: the 40th birthday is tomorrow.
    expect(ageFromBirthDate(shift(birthday, 1), now, 'Europe/London')).toBe(39);
    expect(ageFromBirthDate(shift(birthday, -1), now, 'Europe/London')).toBe(40);
  });

  it('counts the day in the clinical time zone: 23:30 in London on 31 December is already the new year in Tokyo', () => {
    const lateEvening = new Date('2025-12-31T23:30:00Z');
    expect(ageFromBirthDate('2000-01-01', lateEvening, 'Europe/London')).toBe(25);
    expect(ageFromBirthDate('2000-01-01', lateEvening, 'Asia/Tokyo')).toBe(26);
  });

  it('is not guessed from a partial birth date, a missing one, or one in the future', () => {
    expect(ageFromBirthDate('1980', now, 'Europe/London')).toBeUndefined();
    expect(ageFromBirthDate('1980-05', now, 'Europe/London')).toBeUndefined();
    expect(ageFromBirthDate(undefined, now, 'Europe/London')).toBeUndefined();
    expect(ageFromBirthDate(shift(bornYearsAgoToday(0, now), 2), now, 'Europe/London')).toBeUndefined();
  });
});

describe('the response LHC-Forms starts from', () => {
  it('answers age in its place in the groups, and nothing else', () => {
    expect(initialResponse(questionnaire, 40)).toEqual({
      resourceType: 'QuestionnaireResponse',
      status: 'in-progress',
      item: [{ linkId: 'group-about-you', item: [{ linkId: 'age', answer: [{ valueInteger: 40 }] }] }],
    });
  });

  it('is empty without an age', () => {
    expect(initialResponse(questionnaire, undefined)).toEqual({ resourceType: 'QuestionnaireResponse', status: 'in-progress' });
  });
});

describe('the Questionnaire as LHC-Forms shows it', () => {
  const flat = (items: readonly QuestionnaireItem[] | undefined): QuestionnaireItem[] => (items ?? []).flatMap((i) => [i, ...flat(i.item)]);
  const shown = flat(presentationQuestionnaire(questionnaire).item);
  const published = flat(questionnaire.item);
  const control = (item: QuestionnaireItem | undefined): string | undefined =>
    item?.extension?.find((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl')?.valueCodeableConcept?.coding?.[0]?.code;

  it('has the same items, answer options, requirements, ranges and enableWhen', () => {
    expect(shown.map((i) => [i.linkId, i.type, i.required, i.repeats, i.enableWhen, i.answerOption])).toEqual(
      published.map((i) => [i.linkId, i.type, i.required, i.repeats, i.enableWhen, i.answerOption])
    );
    const age = shown.find((i) => i.linkId === 'age');
    expect(age?.extension?.map((e) => e.url)).toEqual(['http://hl7.org/fhir/StructureDefinition/minValue', 'http://hl7.org/fhir/StructureDefinition/maxValue']);
  });

  it('shows single choices as radio buttons and multiple choices as check boxes', () => {
    expect(control(shown.find((i) => i.linkId === 'duration'))).toBe('radio-button');
    expect(control(shown.find((i) => i.linkId === 'risk-factors'))).toBe('check-box');
    expect(control(shown.find((i) => i.linkId === 'cannot-weight-bear'))).toBeUndefined();
  });

  it('publishes the same controls in the Questionnaire itself, for other SDC renderers', () => {
    expect(control(published.find((i) => i.linkId === 'duration'))).toBe('radio-button');
    expect(control(published.find((i) => i.linkId === 'pain-site'))).toBe('check-box');
  });

  it('leaves the published Questionnaire untouched', () => {
    const before = JSON.stringify(questionnaire);
    presentationQuestionnaire(questionnaire);
    expect(JSON.stringify(questionnaire)).toBe(before);
  });
});

describe('the age from a full birth date', () => {
  const flat = (items: readonly QuestionnaireItem[] | undefined): QuestionnaireItem[] => (items ?? []).flatMap((i) => [i, ...flat(i.item)]);
  const shownFor = (age: number | undefined): QuestionnaireItem[] => flat(questionnaireForLaunch(questionnaire, { ageFromRecord: age }).item);

  it('is read-only in the form; asked (editable) when the record has none', () => {
    expect(shownFor(40).find((i) => i.linkId === 'age')?.readOnly).toBe(true);
    expect(shownFor(undefined).find((i) => i.linkId === 'age')?.readOnly).toBeUndefined();
  });

  it('the app leaves out the proxy hint "give their age" (the page says to answer in the other person’s record), and nothing else', () => {
    const answerable = flat(questionnaire.item).filter((i) => i.linkId !== 'age-help');
    expect(flat(questionnaire.item).some((i) => i.linkId === 'age-help')).toBe(true);
    for (const age of [40, undefined]) {
      expect(shownFor(age).map((i) => [i.linkId, i.type, i.required, i.enableWhen, i.answerOption])).toEqual(
        answerable.map((i) => [i.linkId, i.type, i.required, i.enableWhen, i.answerOption])
      );
    }
  });

  it('replaces whatever age the page sent, wherever it stood, or adds it when the page left it out', () => {
    const answered = (items: QuestionnaireResponse['item']): QuestionnaireResponse => ({
      resourceType: 'QuestionnaireResponse',
      status: 'completed',
      item: items,
    });
    const ages = (response: QuestionnaireResponse): unknown[] => {
      const all = (items: QuestionnaireResponse['item']): NonNullable<QuestionnaireResponse['item']> => (items ?? []).flatMap((i) => [i, ...all(i.item)]);
      return all(response.item)
        .filter((i) => i.linkId === 'age')
        .map((i) => i.answer?.[0]?.valueInteger);
    };
    const tampered = answered([
      {
        linkId: 'group-about-you',
        item: [
          { linkId: 'age', answer: [{ valueInteger: 9 }] },
          { linkId: 'child-limp', answer: [{ valueBoolean: false }] },
        ],
      },
      { linkId: 'age', answer: [{ valueInteger: 3 }] },
    ]);
    const fixed = withAgeFromRecord(questionnaire, tampered, 40);
    expect(ages(fixed)).toEqual([40]);
    expect(fixed.item?.[0]).toEqual({
      linkId: 'group-about-you',
      item: [
        { linkId: 'age', answer: [{ valueInteger: 40 }] },
        { linkId: 'child-limp', answer: [{ valueBoolean: false }] },
      ],
    });
    expect(ages(withAgeFromRecord(questionnaire, answered([{ linkId: 'group-pain', item: [] }]), 7))).toEqual([7]);
  });
});

import type { Patient, QuestionnaireItem, QuestionnaireResponse } from '@medplum/fhirtypes';
import {
  answersFromRecord,
  presentationQuestionnaire,
  questionnaireForLaunch,
  type RecordAnswer,
  recordAnswer,
  withAnswersFromRecord,
} from '../../src/smart/formPrefill';
import { populateResponse } from '../../src/smart/populateResponse';
import { questionnaire } from '../support/responses';

/** What the launch populates from a patient born on `birthDate`, on the clinical date `today`. */
function fromRecordFor(birthDate: string | undefined, today = '2026-06-01'): RecordAnswer[] {
  const patient: Patient = { resourceType: 'Patient', ...(birthDate ? { birthDate } : {}) };
  return answersFromRecord(populateResponse(questionnaire, { context: { patient }, today, now: new Date(`${today}T12:00:00Z`) }));
}

describe('the answers from the record', () => {
  it.each([
    ['a full birth date', '1986-06-01', { valueInteger: 40 }],
    ['the day before the birthday', '1986-06-02', { valueInteger: 39 }],
    ['a partial birth date', '1986-06', undefined],
    ['no birth date', undefined, undefined],
    ['an age over 120', '1900-01-01', undefined],
  ])('%s (born %s): the age %j', (_name, birthDate, answer) => {
    expect(recordAnswer(fromRecordFor(birthDate), 'age')).toEqual(answer);
  });

  it('are the populated questions with the groups that hold them', () => {
    expect(fromRecordFor('1986-06-01')).toEqual([{ groups: ['group-about-you'], item: { linkId: 'age', answer: [{ valueInteger: 40 }] } }]);
    expect(fromRecordFor('1986')).toEqual([]);
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

  it('shows single choices as radio buttons and multiple choices as check boxes, as the published Questionnaire says for every SDC renderer', () => {
    const choices = published.filter((i) => i.type === 'choice');
    expect(choices.length).toBeGreaterThan(3);
    for (const item of choices) {
      expect([item.linkId, control(item)]).toEqual([item.linkId, item.repeats ? 'check-box' : 'radio-button']);
      expect(control(shown.find((i) => i.linkId === item.linkId))).toBe(control(item));
    }
    expect(control(shown.find((i) => i.linkId === 'cannot-weight-bear'))).toBeUndefined();
  });

  it('is not given the SDC prefill, which the app has evaluated already (in the clinical time zone)', () => {
    const sdc = (extensions: { url: string }[] | undefined): string[] => (extensions ?? []).map((e) => e.url).filter((u) => u.includes('/uv/sdc/'));
    expect(sdc(questionnaire.extension)).toHaveLength(1);
    expect(sdc(published.find((i) => i.linkId === 'age')?.extension)).toHaveLength(1);
    expect(sdc(presentationQuestionnaire(questionnaire).extension)).toEqual([]);
    expect(shown.flatMap((i) => sdc(i.extension))).toEqual([]);
  });

  it('leaves the published Questionnaire untouched', () => {
    const before = JSON.stringify(questionnaire);
    presentationQuestionnaire(questionnaire);
    expect(JSON.stringify(questionnaire)).toBe(before);
  });
});

describe('the age from a full birth date', () => {
  const flat = (items: readonly QuestionnaireItem[] | undefined): QuestionnaireItem[] => (items ?? []).flatMap((i) => [i, ...flat(i.item)]);
  const shownFor = (birthDate: string | undefined): QuestionnaireItem[] =>
    flat(questionnaireForLaunch(questionnaire, { fromRecord: fromRecordFor(birthDate) }).item);

  it('is read-only in the form; asked (editable) when the record has none', () => {
    expect(shownFor('1986-06-01').find((i) => i.linkId === 'age')?.readOnly).toBe(true);
    expect(shownFor('1986-06').find((i) => i.linkId === 'age')?.readOnly).toBeUndefined();
    expect(shownFor(undefined).find((i) => i.linkId === 'age')?.readOnly).toBeUndefined();
    expect(
      shownFor('1986-06-01')
        .filter((i) => i.readOnly)
        .map((i) => i.linkId)
    ).toEqual(['age']);
  });

  it('the app leaves out the proxy hint "give their age" (the page says to answer in the other person’s record), and nothing else', () => {
    const answerable = flat(questionnaire.item).filter((i) => i.linkId !== 'age-help');
    expect(flat(questionnaire.item).some((i) => i.linkId === 'age-help')).toBe(true);
    for (const birthDate of ['1986-06-01', undefined]) {
      expect(shownFor(birthDate).map((i) => [i.linkId, i.type, i.required, i.enableWhen, i.answerOption])).toEqual(
        answerable.map((i) => [i.linkId, i.type, i.required, i.enableWhen, i.answerOption])
      );
    }
  });

  const answered = (items: QuestionnaireResponse['item']): QuestionnaireResponse => ({
    resourceType: 'QuestionnaireResponse',
    status: 'completed',
    item: items,
  });
  const ages = (response: QuestionnaireResponse): unknown[] => {
    const all = (items: QuestionnaireResponse['item']): NonNullable<QuestionnaireResponse['item']> =>
      (items ?? []).flatMap((i) => [i, ...all(i.item), ...all(i.answer?.flatMap((a) => a.item ?? []))]);
    return all(response.item)
      .filter((i) => i.linkId === 'age')
      .map((i) => i.answer?.[0]?.valueInteger);
  };

  it('replaces whatever age the page sent, wherever it stood, or adds it in its place when the page left it out', () => {
    const tampered = answered([
      {
        linkId: 'group-about-you',
        item: [
          { linkId: 'child-limp', answer: [{ valueBoolean: false }] },
          { linkId: 'age', answer: [{ valueInteger: 9 }] },
        ],
      },
      { linkId: 'age', answer: [{ valueInteger: 3 }] },
      {
        linkId: 'group-your-pain',
        item: [{ linkId: 'not-improving', answer: [{ valueBoolean: true, item: [{ linkId: 'age', answer: [{ valueInteger: 2 }] }] }] }],
      },
    ]);
    const fixed = withAnswersFromRecord(questionnaire, tampered, fromRecordFor('1986-06-01'));
    expect(ages(fixed)).toEqual([40]);
    expect(fixed.item).toEqual([
      {
        linkId: 'group-about-you',
        item: [
          { linkId: 'age', answer: [{ valueInteger: 40 }] },
          { linkId: 'child-limp', answer: [{ valueBoolean: false }] },
        ],
      },
      { linkId: 'group-your-pain', item: [{ linkId: 'not-improving', answer: [{ valueBoolean: true }] }] },
    ]);
    const leftOut = withAnswersFromRecord(questionnaire, answered([{ linkId: 'group-your-pain', item: [] }]), fromRecordFor('2019-05-31'));
    expect(ages(leftOut)).toEqual([7]);
    expect(leftOut.item?.map((i) => i.linkId)).toEqual(['group-your-pain', 'group-about-you']);
  });

  it('leaves the page’s age alone when the record gave none (a partial or missing birth date: the form asked it)', () => {
    const response = answered([{ linkId: 'group-about-you', item: [{ linkId: 'age', answer: [{ valueInteger: 9 }] }] }]);
    for (const birthDate of ['2016', '2016-05', undefined]) {
      expect(withAnswersFromRecord(questionnaire, response, fromRecordFor(birthDate))).toEqual(response);
    }
  });
});

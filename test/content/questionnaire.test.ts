import type { QuestionnaireItem } from '@medplum/fhirtypes';
import { questionnaire } from '../support/responses';

/** Contract, "Items": linkId, type, options, required, repeats, enableWhen. A public API: never renamed. */
type Row = {
  linkId: string;
  type: QuestionnaireItem['type'];
  options?: string[];
  required: boolean;
  repeats?: boolean;
  range?: [number, number];
  enableWhen?: { question: string; operator: string; answer: number | string }[];
};

const YES_NO = (linkId: string, required = true): Row => ({ linkId, type: 'boolean', required });

const CONTRACT: Row[] = [
  { linkId: 'age', type: 'integer', required: true, range: [0, 120] },
  { linkId: 'duration', type: 'choice', required: true, options: ['under-3-days', '3-13-days', '2-6-weeks', '6-12-weeks', 'over-12-weeks'] },
  YES_NO('not-improving'),
  { linkId: 'pain-site', type: 'choice', required: false, repeats: true, options: ['groin', 'thigh', 'outer-hip', 'buttock', 'knee', 'lower-back'] },
  ...[
    'hip-replacement',
    'fall-or-injury',
    'cannot-weight-bear',
    'leg-deformed',
    'reduced-movement',
    'fever-or-unwell',
    'hot-swollen-joint',
    'weight-loss',
    'cancer-history',
  ].map((l) => YES_NO(l)),
  {
    linkId: 'risk-factors',
    type: 'choice',
    required: true,
    repeats: true,
    options: ['steroids', 'immunosuppression', 'diabetes', 'sickle-cell', 'alcohol', 'radiotherapy', 'recent-joint-injection-or-surgery', 'none'],
  },
  ...[
    'neuro-symptoms',
    'saddle-numbness',
    'bladder-bowel-change',
    'night-pain',
    'pain-worsening',
    'sudden-severe-pain',
    'morning-stiffness',
    'other-joints',
    'groin-lump',
  ].map((l) => YES_NO(l)),
  { ...YES_NO('child-limp'), enableWhen: [{ question: 'age', operator: '<', answer: 18 }] },
  { ...YES_NO('child-not-improving'), enableWhen: [{ question: 'age', operator: '<', answer: 16 }] },
  { ...YES_NO('child-very-unwell'), enableWhen: [{ question: 'age', operator: '<', answer: 16 }] },
  { linkId: 'pain-score', type: 'integer', required: true, range: [0, 10] },
  { linkId: 'daily-activities', type: 'choice', required: true, options: ['none', 'some', 'a-lot', 'unable'] },
  YES_NO('work-related'),
  { linkId: 'painkillers', type: 'choice', required: true, options: ['none', 'under-2-weeks', '2-weeks-or-more'] },
  {
    ...YES_NO('painkillers-not-helping'),
    enableWhen: [
      { question: 'painkillers', operator: '=', answer: 'under-2-weeks' },
      { question: 'painkillers', operator: '=', answer: '2-weeks-or-more' },
    ],
  },
];

/** Items the E and U rules read: their wording must tell the patient what to do when unsure. */
const RED_FLAG_ITEMS = [
  'cannot-weight-bear',
  'leg-deformed',
  'fever-or-unwell',
  'hot-swollen-joint',
  'hip-replacement',
  'saddle-numbness',
  'bladder-bowel-change',
  'child-very-unwell',
  'child-not-improving',
  'child-limp',
  'groin-lump',
  'sudden-severe-pain',
  'fall-or-injury',
  'weight-loss',
  'neuro-symptoms',
  'pain-worsening',
  'cancer-history',
  'night-pain',
  'reduced-movement',
];

function allItems(items: QuestionnaireItem[] | undefined): QuestionnaireItem[] {
  return (items ?? []).flatMap((item) => [item, ...allItems(item.item)]);
}

const items = allItems(questionnaire.item);
const byLinkId = new Map(items.map((i) => [i.linkId, i]));
const extension = (item: QuestionnaireItem, name: string) => item.extension?.find((e) => e.url === `http://hl7.org/fhir/StructureDefinition/${name}`);

describe('the Questionnaire carries the contract', () => {
  it('has a stable id, canonical url and version', () => {
    expect(questionnaire.id).toBe('hip-pain-triage');
    expect(questionnaire.url).toBe('https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage');
    expect(questionnaire.version).toBe('1.1.0');
    expect(questionnaire.status).toBe('active');
  });

  it('every linkId is unique in the whole tree', () => {
    expect(new Set(items.map((i) => i.linkId)).size).toBe(items.length);
  });

  it('has exactly the contract items as questions (groups and display text aside)', () => {
    const questions = items.filter((i) => i.type !== 'group' && i.type !== 'display').map((i) => i.linkId);
    expect(questions.sort()).toEqual(CONTRACT.map((r) => r.linkId).sort());
  });

  it.each(CONTRACT.map((row) => [row.linkId, row] as const))('%s: type, options, required, repeats, range and enableWhen', (linkId, row) => {
    const item = byLinkId.get(linkId);
    expect(item).toBeDefined();
    if (!item) return;
    expect(item.type).toBe(row.type);
    expect(item.required ?? false).toBe(row.required);
    expect(item.repeats ?? false).toBe(row.repeats ?? false);
    if (row.options) {
      expect(item.answerOption?.map((o) => o.valueCoding?.code)).toEqual(row.options);
      for (const option of item.answerOption ?? []) {
        expect(option.valueCoding?.system).toMatch(/^https:\/\/fhir\.hip-triage\.example\.org\/CodeSystem\//);
        expect(option.valueCoding?.display).toBeTruthy();
      }
    }
    if (row.range) {
      expect([extension(item, 'minValue')?.valueInteger, extension(item, 'maxValue')?.valueInteger]).toEqual(row.range);
    }
    const enableWhen = (item.enableWhen ?? []).map((e) => ({
      question: e.question,
      operator: e.operator,
      answer: e.answerInteger ?? e.answerCoding?.code ?? e.answerBoolean,
    }));
    expect(enableWhen).toEqual(row.enableWhen ?? []);
    if ((row.enableWhen?.length ?? 0) > 1) {
      expect(item.enableBehavior).toBe('any');
    }
  });

  it("marks 'none' in risk-factors, and only it, as exclusive", () => {
    const exclusive = byLinkId
      .get('risk-factors')
      ?.answerOption?.filter((o) => o.extension?.some((e) => e.url.endsWith('questionnaire-optionExclusive') && e.valueBoolean))
      .map((o) => o.valueCoding?.code);
    expect(exclusive).toEqual(['none']);
  });

  it('codes the pain score with LOINC 72514-3', () => {
    expect(byLinkId.get('pain-score')?.code).toEqual(expect.arrayContaining([expect.objectContaining({ system: 'http://loinc.org', code: '72514-3' })]));
  });

  it.each(RED_FLAG_ITEMS)('%s tells the patient what to do when unsure', (linkId) => {
    expect(byLinkId.get(linkId)?.text).toMatch(/If you are not sure/);
  });

  it('asks the most dangerous questions before the pain and daily-life questions', () => {
    const order = items.map((i) => i.linkId);
    expect(order.indexOf('cannot-weight-bear')).toBeLessThan(order.indexOf('pain-score'));
    expect(order.indexOf('saddle-numbness')).toBeLessThan(order.indexOf('duration'));
  });
});

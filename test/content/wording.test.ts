import { join } from 'node:path';
import type { ActivityDefinition, CodeSystem, PlanDefinition, Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { ROOT } from '../support/responses';

/**
 * Hazard H11: machine-translated wording must not reach a patient. Every patient-facing
 * text is the project's own English; seed B's Chinese passages appear only in citations,
 * each with the project's reviewed translation beside it.
 */
const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
const content = buildTriageContent(resources);
const plan = resources.find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition') as PlanDefinition;
const questionnaire = resources.find((r): r is Questionnaire => r.resourceType === 'Questionnaire') as Questionnaire;
const dispositions = resources.find((r): r is CodeSystem => r.resourceType === 'CodeSystem' && r.id === 'triage-disposition') as CodeSystem;

const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

function itemTexts(items: readonly QuestionnaireItem[] | undefined): string[] {
  return (items ?? []).flatMap((item) => [item.text ?? '', ...(item.answerOption ?? []).map((o) => o.valueCoding?.display ?? ''), ...itemTexts(item.item)]);
}

/** What a patient can read: questions and options, reasons, warning signs, disposition meanings and the advice as results show it. */
const PATIENT_FACING: [where: string, text: string][] = [
  ...itemTexts(questionnaire.item).map((t) => ['Questionnaire item', t] as [string, string]),
  ...content.ruleset.rules.flatMap((r) => [
    [`${r.id} reason`, r.reason] as [string, string],
    ...r.warningSigns.map((w) => [`${r.id} warning sign`, w] as [string, string]),
  ]),
  ...(dispositions.concept ?? []).map((c) => [`disposition ${c.code}`, c.definition ?? ''] as [string, string]),
  ...[...content.activityDefinitions.values()].map((a: ActivityDefinition) => [`${a.id ?? ''} description`, a.description ?? ''] as [string, string]),
];

describe('patient-facing wording is authored English, never translated (hazard H11)', () => {
  it('there is wording to check', () => {
    expect(PATIENT_FACING.length).toBeGreaterThan(100);
  });

  it('no patient-facing text contains Chinese (or any CJK) characters', () => {
    expect(PATIENT_FACING.filter(([, text]) => CJK.test(text))).toEqual([]);
  });

  it("every citation of a Chinese passage gives the project's reviewed English translation beside it", () => {
    const citations = (plan.action ?? []).flatMap((a) => (a.documentation ?? []).map((d) => [a.id, d] as const)).filter(([, d]) => CJK.test(d.citation ?? ''));
    expect(citations.length).toBeGreaterThan(0);
    for (const [id, doc] of citations) {
      expect([id, doc.citation]).toEqual([id, expect.stringMatching(/the English shown is the project's reviewed translation/)]);
      expect([id, CJK.test(doc.display ?? '')]).toEqual([id, false]);
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NO_RED_FLAGS } from '../../src/triage/redFlagSuite';
import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from '@medplum/fhirtypes';

export const ROOT = join(__dirname, '..', '..');
export const questionnaire: Questionnaire = JSON.parse(readFileSync(join(ROOT, 'questionnaires', 'hip-pain-triage.json'), 'utf8'));
export const QUESTIONNAIRE_CANONICAL = `${questionnaire.url}|${questionnaire.version}`;

/** A flat answer set as a test writes it: booleans, integers, option codes, option-code lists. */
export type Answers = Record<string, boolean | number | string | string[] | undefined>;

/** An adult with short, mild, improving pain and every red flag answered "no": self-care. */
export const BASELINE: Readonly<Answers> = NO_RED_FLAGS as Readonly<Answers>;

/** Child questions answered "no", for ages that enable them. */
export function childDefaults(age: number): Answers {
  return {
    ...(age < 18 ? { 'child-limp': false } : {}),
    ...(age < 16 ? { 'child-not-improving': false, 'child-very-unwell': false } : {}),
  };
}

/**
 * Baseline answers with changes, keeping the response valid: child questions follow
 * the age, and `painkillers-not-helping` is answered "no" when painkillers are taken.
 */
export function answersWith(changes: Answers): Answers {
  const age = typeof changes.age === 'number' ? changes.age : (BASELINE.age as number);
  const painkillers = changes.painkillers ?? BASELINE.painkillers;
  return {
    ...BASELINE,
    ...childDefaults(age),
    ...(painkillers !== 'none' ? { 'painkillers-not-helping': false } : {}),
    ...changes,
  };
}

function findItem(items: QuestionnaireItem[] | undefined, linkId: string): QuestionnaireItem | undefined {
  for (const item of items ?? []) {
    if (item.linkId === linkId) {
      return item;
    }
    const found = findItem(item.item, linkId);
    if (found) {
      return found;
    }
  }
  return undefined;
}

function toAnswers(item: QuestionnaireItem, value: Answers[string]): QuestionnaireResponseItemAnswer[] {
  if (value === undefined) {
    return [];
  }
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => {
    if (typeof v === 'boolean') {
      return { valueBoolean: v };
    }
    if (typeof v === 'number') {
      return { valueInteger: v };
    }
    const option = item.answerOption?.find((o) => o.valueCoding?.code === v);
    return { valueCoding: option?.valueCoding ?? { system: 'urn:unknown', code: v } };
  });
}

/** Builds a QuestionnaireResponse nested as the Questionnaire's groups, from flat answers. */
export function buildResponse(answers: Answers, overrides: Partial<QuestionnaireResponse> = {}): QuestionnaireResponse {
  const build = (items: QuestionnaireItem[] | undefined): QuestionnaireResponseItem[] =>
    (items ?? []).flatMap((item): QuestionnaireResponseItem[] => {
      if (item.type === 'display') {
        return [];
      }
      if (item.type === 'group') {
        const children = build(item.item);
        return children.length ? [{ linkId: item.linkId, text: item.text, item: children }] : [];
      }
      const answer = toAnswers(item, answers[item.linkId]);
      return answer.length ? [{ linkId: item.linkId, answer }] : [];
    });
  for (const linkId of Object.keys(answers)) {
    if (!findItem(questionnaire.item, linkId)) {
      throw new Error(`test answers name an unknown linkId ${linkId}`);
    }
  }
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: QUESTIONNAIRE_CANONICAL,
    status: 'completed',
    subject: { reference: 'Patient/example-patient' },
    authored: '2026-11-20T10:00:00Z',
    item: build(questionnaire.item),
    ...overrides,
  };
}

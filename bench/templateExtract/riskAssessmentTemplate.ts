import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Extension, Questionnaire, QuestionnaireItem, Resource } from '@medplum/fhirtypes';
import { ROOT } from '../support/fixtures';

const TEMPLATE_EXTRACT = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-templateExtract';
const TEMPLATE_EXTRACT_VALUE = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-templateExtractValue';

/** The item the template hangs on: the red-flag group, so its answers are the template's context (`item`). */
export const TEMPLATE_ITEM = 'group-emergency-signs';
const TEMPLATE_ID = 'hipPainRiskAssessment';

/** Emergency-group questions whose "yes" makes the extracted risk high (the E rules' main inputs). */
const RED_FLAG_QUESTIONS = [
  'cannot-weight-bear',
  'leg-deformed',
  'saddle-numbness',
  'bladder-bowel-change',
  'fever-or-unwell',
  'hot-swollen-joint',
  'sudden-severe-pain',
];

function value(expression: string): { extension: Extension[] } {
  return { extension: [{ url: TEMPLATE_EXTRACT_VALUE, valueString: expression }] };
}

const answerOf = (group: string, linkId: string): string => `%resource.item.where(linkId = '${group}').item.where(linkId = '${linkId}').answer.value.first()`;

/**
 * An SDC template-based extraction of a RiskAssessment, as a site would write one to get a
 * risk level out of this Questionnaire with `@aehrc/sdc-template-extract` instead of a
 * rules engine. Evaluated against the red-flag group (item-level template); six FHIRPath
 * expressions:
 * - `subject` ← the response's subject; `occurrenceDateTime` ← `authored`;
 *   `basis` ← `QuestionnaireResponse/<id>`;
 * - `prediction.qualitativeRisk` ← `high` if any of seven emergency questions is answered
 *   yes, else `moderate` if any urgent-group question is, else `low` (the risk-probability
 *   code system);
 * - `prediction.rationale` ← the pain score; `note` ← the answered age.
 * It is far less than the service's job (31 rules, validation, three-valued logic, advice and
 * routing): the comparison is of the per-response cost of a declarative extraction engine.
 */
export function riskAssessmentTemplate(): Record<string, unknown> {
  const redFlagList = RED_FLAG_QUESTIONS.map((q) => `'${q}'`).join(' | ');
  // Plain JSON, not a typed RiskAssessment: a template's elements carry only extensions
  // (`_occurrenceDateTime`, `_code`) until extraction fills them in.
  return {
    resourceType: 'RiskAssessment',
    id: TEMPLATE_ID,
    status: 'final',
    subject: value('%resource.subject'),
    _occurrenceDateTime: value('%resource.authored'),
    method: { coding: [{ system: 'https://fhir.hip-triage.example.org/CodeSystem/bench', code: 'sdc-template-extract' }] },
    basis: [{ _reference: value(`'QuestionnaireResponse/' + %resource.id`) }],
    prediction: [
      {
        outcome: { text: 'Hip pain needing assessment' },
        qualitativeRisk: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/risk-probability',
              _code: value(
                `iif(item.where(linkId in (${redFlagList})).answer.value contains true, 'high', ` +
                  `iif(%resource.item.where(linkId = 'group-urgent-signs').item.answer.value contains true, 'moderate', 'low'))`
              ),
            },
          ],
        },
        _rationale: value(`'Pain score ' + ${answerOf('group-your-pain', 'pain-score')}.toString() + ' of 10'`),
      },
    ],
    note: [{ _text: value(`'Answered age ' + ${answerOf('group-about-you', 'age')}.toString()`) }],
  };
}

/** The shipped Questionnaire with the template contained and referenced from TEMPLATE_ITEM. */
export function questionnaireWithTemplate(): Questionnaire {
  const questionnaire = JSON.parse(readFileSync(join(ROOT, 'questionnaires', 'hip-pain-triage.json'), 'utf8')) as Questionnaire;
  const attach = (items: QuestionnaireItem[] | undefined): void => {
    for (const item of items ?? []) {
      if (item.linkId === TEMPLATE_ITEM) {
        item.extension = [
          ...(item.extension ?? []),
          { url: TEMPLATE_EXTRACT, extension: [{ url: 'template', valueReference: { reference: `#${TEMPLATE_ID}` } }] },
        ];
        return;
      }
      attach(item.item);
    }
  };
  attach(questionnaire.item);
  return { ...questionnaire, contained: [riskAssessmentTemplate() as unknown as Resource] };
}

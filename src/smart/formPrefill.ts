import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { ageOnDate, dateInZone } from '../triage/age';

const ITEM_CONTROL = 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl';
const ITEM_CONTROL_SYSTEM = 'http://hl7.org/fhir/questionnaire-item-control';
const UNIT = 'http://hl7.org/fhir/StructureDefinition/questionnaire-unit';
/** The SDC prefill the Questionnaire publishes for other renderers; the app fills the age from its launch itself. */
const SDC_PREFILL = new Set([
  'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-launchContext',
  'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression',
]);

/**
 * The age to pre-fill: completed years from the birth date to today in the clinical time
 * zone, by the same function the engine uses to check the answered age against the record.
 */
export function ageFromBirthDate(birthDate: string | undefined, now: Date, timeZone: string): number | undefined {
  if (!birthDate) {
    return undefined;
  }
  const age = ageOnDate(birthDate, dateInZone(now, timeZone));
  return age !== undefined && age <= 120 ? age : undefined;
}

/**
 * The response LHC-Forms starts from: `age` answered from the record, in its place in the
 * Questionnaire's groups, so the person sees it and can change it.
 */
export function initialResponse(questionnaire: Questionnaire, age: number | undefined): QuestionnaireResponse {
  const response: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', status: 'in-progress' };
  if (age === undefined) {
    return response;
  }
  const path = pathTo(questionnaire.item ?? [], 'age');
  if (!path) {
    return response;
  }
  let item: QuestionnaireResponseItem = { linkId: 'age', answer: [{ valueInteger: age }] };
  for (const group of [...path].reverse()) {
    item = { linkId: group, item: [item] };
  }
  return { ...response, item: [item] };
}

/**
 * The Questionnaire as LHC-Forms is given it: the same items, with SDC itemControl hints
 * so that answer lists show as radio buttons and check boxes (all choices visible, one
 * tap each on a phone) instead of LHC-Forms' default type-ahead lists. A unit on a whole
 * number (`age`: years, which its question already says) is left out: LHC-Forms 40 shows it
 * as a read-only field labelled by an element that does not exist (axe: `label`, critical).
 * Presentation only: responses are validated against the Questionnaire as published.
 */
export function presentationQuestionnaire(questionnaire: Questionnaire): Questionnaire {
  const withControls = (items: readonly QuestionnaireItem[]): QuestionnaireItem[] =>
    items.map((item) => {
      const extension = item.extension?.filter((e) => !SDC_PREFILL.has(e.url) && (item.type !== 'integer' || e.url !== UNIT));
      const copy: QuestionnaireItem = { ...item, ...(item.extension ? { extension } : {}), ...(item.item ? { item: withControls(item.item) } : {}) };
      if (item.type !== 'choice' || item.extension?.some((e) => e.url === ITEM_CONTROL)) {
        return copy;
      }
      const code = item.repeats ? 'check-box' : 'radio-button';
      return { ...copy, extension: [...(copy.extension ?? []), { url: ITEM_CONTROL, valueCodeableConcept: { coding: [{ system: ITEM_CONTROL_SYSTEM, code }] } }] };
    });
  const extension = questionnaire.extension?.filter((e) => !SDC_PREFILL.has(e.url));
  return { ...questionnaire, ...(questionnaire.extension ? { extension } : {}), item: withControls(questionnaire.item ?? []) };
}

/** The linkIds of the groups that hold `linkId`, outermost first; undefined when absent. */
function pathTo(items: readonly QuestionnaireItem[], linkId: string): string[] | undefined {
  for (const item of items) {
    if (item.linkId === linkId) {
      return [];
    }
    const inner = pathTo(item.item ?? [], linkId);
    if (inner) {
      return [item.linkId, ...inner];
    }
  }
  return undefined;
}

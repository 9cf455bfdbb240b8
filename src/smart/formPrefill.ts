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
 * The age from the record: completed years from a FULL birth date (`YYYY-MM-DD`) to today in
 * the clinical time zone, by the same function the engine uses; undefined for a partial
 * (`YYYY`, `YYYY-MM`) or missing birth date, whose age the form must ask.
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
 * Questionnaire's groups (shown read-only: see questionnaireForLaunch).
 */
export function initialResponse(questionnaire: Questionnaire, age: number | undefined): QuestionnaireResponse {
  const response: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', status: 'in-progress' };
  return age === undefined ? response : withAgeFromRecord(questionnaire, response, age);
}

/**
 * The response with `age` answered from the record wherever the Questionnaire puts it: the
 * age of a patient with a full birth date is the record's, not the page's (the field is
 * read-only, and a page may leave a read-only field out or be tampered with). Any other
 * `age` answer, wherever it stands, is replaced.
 */
export function withAgeFromRecord(questionnaire: Questionnaire, response: QuestionnaireResponse, age: number): QuestionnaireResponse {
  const path = pathTo(questionnaire.item ?? [], 'age');
  if (!path) {
    return response;
  }
  const withoutAge = (items: readonly QuestionnaireResponseItem[]): QuestionnaireResponseItem[] =>
    items.filter((i) => i.linkId !== 'age').map((i) => ({ ...i, ...(i.item ? { item: withoutAge(i.item) } : {}) }));
  const insert = (items: readonly QuestionnaireResponseItem[], groups: readonly string[]): QuestionnaireResponseItem[] => {
    const [group, ...inner] = groups;
    if (group === undefined) {
      return [{ linkId: 'age', answer: [{ valueInteger: age }] }, ...items];
    }
    const existing = items.find((i) => i.linkId === group);
    if (!existing) {
      return [...items, { linkId: group, item: insert([], inner) }];
    }
    return items.map((i) => (i === existing ? { ...i, item: insert(i.item ?? [], inner) } : i));
  };
  return { ...response, item: insert(withoutAge(response.item ?? []), path) };
}

/**
 * The Questionnaire as this launch shows it, before presentationQuestionnaire: with the age
 * from a full birth date, `age` is read-only (the record's age, not the page's); and the
 * `age-help` text ("if you are filling this in for someone else, give their age") is left out,
 * since in the app someone answering for another person must do so in that person's record
 * (the page says so above the form). Presentation only, like presentationQuestionnaire.
 */
export function questionnaireForLaunch(questionnaire: Questionnaire, options: { readonly ageFromRecord: number | undefined }): Questionnaire {
  const adjust = (items: readonly QuestionnaireItem[]): QuestionnaireItem[] =>
    items
      .filter((item) => item.linkId !== 'age-help')
      .map((item) => {
        const children = item.item ? adjust(item.item) : undefined;
        const { item: _children, ...rest } = item;
        return {
          ...rest,
          ...(children && children.length > 0 ? { item: children } : {}),
          ...(item.linkId === 'age' && options.ageFromRecord !== undefined ? { readOnly: true } : {}),
        };
      });
  return { ...questionnaire, item: adjust(questionnaire.item ?? []) };
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
      return {
        ...copy,
        extension: [...(copy.extension ?? []), { url: ITEM_CONTROL, valueCodeableConcept: { coding: [{ system: ITEM_CONTROL_SYSTEM, code }] } }],
      };
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

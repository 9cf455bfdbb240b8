import type { Device, Encounter, Meta, Patient, QuestionnaireResponse, Reference, Resource } from '@medplum/fhirtypes';
import type { CompiledNote } from '../ruleset';
import type { TriageResult } from '../scoreResponse';
import type { TriageContent } from '../triageContent';
import { idempotencyTag, type ResultRole, resultUuid } from './idempotencyKey';

/** Everything the result builders share for one triage; built once by buildTriageTransaction. */
export interface ResultContext {
  readonly key: string;
  readonly result: TriageResult;
  readonly content: TriageContent;
  readonly now: Date;
  readonly timeZone: string;
  readonly subject: Reference<Patient>;
  readonly encounter: Reference<Encounter> | undefined;
  readonly response: Reference<QuestionnaireResponse>;
  readonly device: Reference<Device>;
}

/** `url|version` of the ruleset PlanDefinition, for the instantiatesCanonical and moduleCanonical elements. */
export function rulesetCanonical(context: ResultContext): string {
  return `${context.content.ruleset.url}|${context.content.ruleset.version}`;
}

/** The in-bundle reference to another result of the same triage. */
export function roleReference<T extends Resource>(context: ResultContext, role: ResultRole): Reference<T> {
  return { reference: resultUuid(context.key, role) };
}

export function roleMeta(context: ResultContext, role: ResultRole): Meta {
  return { tag: [idempotencyTag(context.key, role)] };
}

/** Rule ids as a reader scans them: "E1, U1, G3". */
export function firedRuleIds(result: TriageResult): string {
  return result.firedRules.map((rule) => rule.id).join(', ');
}

/** A clinician-facing note (SG1 safeguarding) as written into RiskAssessment and GuidanceResponse notes. */
export function clinicianNoteText(note: CompiledNote): string {
  return `For clinicians (${note.kind}, ${note.id}): ${note.text}`;
}

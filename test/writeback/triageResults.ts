import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, QuestionnaireResponse, Resource, RiskAssessment } from '@medplum/fhirtypes';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { ROOT } from '../support/responses';

/** What a triage with a referral writes (besides the service Device, created once). */
export const RESULT_TYPES = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'GuidanceResponse', 'ServiceRequest', 'Task', 'Provenance'] as const;
export type ResultType = (typeof RESULT_TYPES)[number];

/**
 * Rule G1 (a child under 16: see a GP): one ServiceRequest and one Task, so "exactly one of
 * each" is the right expectation. The subject is the caller's, so runs do not share results.
 */
export function gpResponse(subject: string): QuestionnaireResponse {
  const response = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules/G1.qr.json'), 'utf8')) as QuestionnaireResponse;
  return { ...response, subject: { reference: subject } };
}

/** `Type/id` of every stored resource in a `$triage` answer, in order. */
export function storedReferences(answer: Bundle): string[] {
  return (answer.entry ?? []).flatMap((e) =>
    e.resource && e.resource.resourceType !== 'OperationOutcome' ? [`${e.resource.resourceType}/${e.resource.id ?? ''}`] : []
  );
}

/**
 * The results a store holds for one subject, found by searching it: by `subject` for the
 * clinical resources, and Provenance by its target (it has no subject).
 */
export async function resultsForSubject(store: FhirStore, subject: string): Promise<Record<ResultType, Resource[]>> {
  const bySubject = async (type: Exclude<ResultType, 'Provenance'>): Promise<Resource[]> => store.searchResources(type, { subject, _count: '100' });
  const [responses, risks, carePlans, guidance, requests, tasks] = await Promise.all([
    bySubject('QuestionnaireResponse'),
    bySubject('RiskAssessment'),
    bySubject('CarePlan'),
    bySubject('GuidanceResponse'),
    bySubject('ServiceRequest'),
    bySubject('Task'),
  ]);
  const provenance = (
    await Promise.all((risks as RiskAssessment[]).map((risk) => store.searchResources('Provenance', { target: `RiskAssessment/${risk.id ?? ''}` })))
  ).flat();
  return {
    QuestionnaireResponse: responses,
    RiskAssessment: risks,
    CarePlan: carePlans,
    GuidanceResponse: guidance,
    ServiceRequest: requests,
    Task: tasks,
    Provenance: provenance,
  };
}

/** `{ type: count }` for readable failures. */
export function counts(results: Record<ResultType, Resource[]>): Record<ResultType, number> {
  return Object.fromEntries(RESULT_TYPES.map((t) => [t, results[t].length])) as Record<ResultType, number>;
}

export const ONE_OF_EACH: Readonly<Record<ResultType, number>> = Object.fromEntries(RESULT_TYPES.map((t) => [t, 1])) as Record<ResultType, number>;
export const NONE: Readonly<Record<ResultType, number>> = Object.fromEntries(RESULT_TYPES.map((t) => [t, 0])) as Record<ResultType, number>;

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CarePlan, GuidanceResponse, QuestionnaireResponse, Resource, RiskAssessment, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { type Answers, answersWith, buildResponse, ROOT } from '../support/responses';

/** A response of the triage Questionnaire about `subject`, built from baseline answers with changes. */
export function responseFor(subject: string, changes: Answers = {}, overrides: Partial<QuestionnaireResponse> = {}): QuestionnaireResponse {
  return buildResponse(answersWith(changes), { subject: { reference: subject }, ...overrides });
}

/** Drops one answered item (a required answer missing makes the response invalid). */
export function withoutItem(response: QuestionnaireResponse, linkId: string): QuestionnaireResponse {
  const strip = (items: QuestionnaireResponse['item']): QuestionnaireResponse['item'] =>
    (items ?? []).filter((item) => item.linkId !== linkId).map((item) => (item.item ? { ...item, item: strip(item.item) } : item));
  return { ...response, item: strip(response.item) };
}

/** Stores a response through the embedded store's FHIR REST API (`POST /fhir/QuestionnaireResponse`). */
export async function createThroughFhir(app: Express, response: QuestionnaireResponse): Promise<QuestionnaireResponse & { id: string }> {
  const res = await request(app).post('/fhir/QuestionnaireResponse').set('Content-Type', 'application/fhir+json').send(JSON.stringify(response));
  if (res.status !== 201) {
    throw new Error(`POST /fhir/QuestionnaireResponse answered ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`);
  }
  return res.body as QuestionnaireResponse & { id: string };
}

/** Updates a resource through `PUT /fhir/<type>/<id>`. */
export async function updateThroughFhir<T extends Resource & { id: string }>(app: Express, resource: T): Promise<T> {
  const res = await request(app)
    .put(`/fhir/${resource.resourceType}/${resource.id}`)
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(resource));
  if (res.status !== 200) {
    throw new Error(`PUT /fhir/${resource.resourceType}/${resource.id} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`);
  }
  return res.body as T;
}

/** Everything a store holds about one subject, by type, found by search (Provenance has no subject). */
export interface SubjectRecord {
  readonly responses: QuestionnaireResponse[];
  readonly risks: RiskAssessment[];
  readonly carePlans: CarePlan[];
  readonly guidance: GuidanceResponse[];
  readonly requests: ServiceRequest[];
  readonly tasks: Task[];
}

export async function recordOf(store: FhirStore, subject: string): Promise<SubjectRecord> {
  const query = { subject, _count: '100' };
  const [responses, risks, carePlans, guidance, requests, tasks] = await Promise.all([
    store.searchResources<QuestionnaireResponse>('QuestionnaireResponse', query),
    store.searchResources<RiskAssessment>('RiskAssessment', query),
    store.searchResources<CarePlan>('CarePlan', query),
    store.searchResources<GuidanceResponse>('GuidanceResponse', query),
    store.searchResources<ServiceRequest>('ServiceRequest', query),
    store.searchResources<Task>('Task', query),
  ]);
  return { responses, risks, carePlans, guidance, requests, tasks };
}

/** `{ type: count }`, for readable failures. */
export function countsOf(record: SubjectRecord): Record<keyof SubjectRecord, number> {
  return {
    responses: record.responses.length,
    risks: record.risks.length,
    carePlans: record.carePlans.length,
    guidance: record.guidance.length,
    requests: record.requests.length,
    tasks: record.tasks.length,
  };
}

/** The disposition code a RiskAssessment predicts. */
export function dispositionOf(risk: RiskAssessment | undefined): string | undefined {
  return risk?.prediction?.[0]?.outcome?.coding?.[0]?.code;
}

/** The `code` of a Task's first coding (`fulfill`, `review-response`, …). */
export function taskCode(task: Task): string | undefined {
  return task.code?.coding?.[0]?.code;
}

/** A notification Bundle fixture (test/fixtures/intake/) with its focus and event number filled in. */
export function notificationFixture(name: string, fill: { readonly focus?: string; readonly eventNumber?: string } = {}): Bundle {
  let text = readFileSync(join(ROOT, 'test/fixtures/intake', `${name}.json`), 'utf8');
  if (fill.focus !== undefined) {
    text = text.replaceAll('https://fhir.example.org/r4/QuestionnaireResponse/FOCUS', fill.focus);
  }
  if (fill.eventNumber !== undefined) {
    text = text.replaceAll('"EVENT-NUMBER"', JSON.stringify(fill.eventNumber));
  }
  return JSON.parse(text) as Bundle;
}

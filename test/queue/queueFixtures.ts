import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, QuestionnaireResponse, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { ROOT } from '../support/responses';

export function ruleFixture(rule: string): QuestionnaireResponse {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${rule}.qr.json`), 'utf8')) as QuestionnaireResponse;
}

/** What one persisted `$triage` stored, by type. */
export interface StoredTriage {
  readonly response: QuestionnaireResponse;
  readonly serviceRequests: ServiceRequest[];
  readonly tasks: Task[];
}

/** Triages a response through `POST /fhir/QuestionnaireResponse/$triage` (persist) and returns what was stored. */
export async function triageAndStore(app: Express, response: QuestionnaireResponse): Promise<StoredTriage> {
  const res = await request(app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(response));
  if (res.status !== 200) {
    throw new Error(`$triage answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  }
  const resources = ((res.body as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  const ofType = <T extends Resource>(type: T['resourceType']): T[] => resources.filter((r): r is T => r.resourceType === type);
  const [stored] = ofType<QuestionnaireResponse>('QuestionnaireResponse');
  if (!stored) {
    throw new Error('$triage stored no QuestionnaireResponse');
  }
  return { response: stored, serviceRequests: ofType<ServiceRequest>('ServiceRequest'), tasks: ofType<Task>('Task') };
}

/** `GET /fhir/<path>?<query>` on the embedded store, each value URL-encoded; answers the matching resources' ids. */
export async function searchIds(app: Express, path: string, query: Record<string, string>): Promise<string[]> {
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const res = await request(app).get(`/fhir/${path}?${qs}`);
  if (res.status !== 200) {
    throw new Error(`GET /fhir/${path}?${qs} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  }
  return ((res.body as Bundle).entry ?? []).flatMap((e) => (e.resource?.id ? [e.resource.id] : []));
}

import type { Bundle, Parameters, Resource, RiskAssessment } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { REVIEW_REASON_SYSTEM } from '../../src/review/reviewTerms';
import { ruleFixture } from '../queue/queueFixtures';

export const FHIR_JSON = 'application/fhir+json';

/** Triages a rule fixture with `$triage` (persist) and returns the stored RiskAssessment. */
export async function triageRule(app: Express, rule: string, patient = 'example-patient', token?: string): Promise<RiskAssessment & { id: string }> {
  const response = { ...ruleFixture(rule), subject: { reference: `Patient/${patient}` } };
  const req = request(app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', FHIR_JSON);
  const res = await (token ? req.set('Authorization', `Bearer ${token}`) : req).send(JSON.stringify(response));
  if (res.status !== 200) {
    throw new Error(`$triage answered ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`);
  }
  const risk = ((res.body as Bundle).entry ?? []).map((e) => e.resource).find((r): r is RiskAssessment => r?.resourceType === 'RiskAssessment');
  if (!risk?.id) {
    throw new Error('$triage stored no RiskAssessment');
  }
  return risk as RiskAssessment & { id: string };
}

export function confirmBody(reviewer?: string): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [{ name: 'decision', valueCode: 'confirm' }, ...(reviewer ? [{ name: 'reviewer', valueReference: { reference: reviewer } }] : [])],
  };
}

export function overrideBody(disposition: string, options: { code?: string; text?: string; reviewer?: string } = {}): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'decision', valueCode: 'override' },
      { name: 'disposition', valueCode: disposition },
      {
        name: 'reason',
        valueCodeableConcept: {
          ...(options.code ? { coding: [{ system: REVIEW_REASON_SYSTEM, code: options.code }] } : {}),
          ...(options.text ? { text: options.text } : {}),
        },
      },
      ...(options.reviewer ? [{ name: 'reviewer', valueReference: { reference: options.reviewer } }] : []),
    ],
  };
}

export function review(app: Express, id: string, body: Parameters, headers: Record<string, string> = {}) {
  let req = request(app).post(`/fhir/RiskAssessment/${id}/$review`).set('Content-Type', FHIR_JSON);
  for (const [name, value] of Object.entries(headers)) {
    req = req.set(name, value);
  }
  return req.send(JSON.stringify(body));
}

export function parameter(answer: Parameters, name: string) {
  return answer.parameter?.find((p) => p.name === name);
}

/** `GET /fhir/<reference>` on the embedded store. */
export async function readBack<T extends Resource>(app: Express, reference: string): Promise<T> {
  const res = await request(app).get(`/fhir/${reference}`);
  if (res.status !== 200) {
    throw new Error(`GET /fhir/${reference} answered ${res.status}`);
  }
  return res.body as T;
}

export async function search<T extends Resource>(app: Express, path: string): Promise<T[]> {
  const res = await request(app).get(`/fhir/${path}`);
  if (res.status !== 200) {
    throw new Error(`GET /fhir/${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  return ((res.body as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource as T] : []));
}

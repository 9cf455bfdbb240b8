import { getStatus } from '@medplum/core';
import { type FhirRequest, FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { indexFhirDefinitions } from '../../../src/fhir/fhirDefinitions';
import type { FetchFunction } from '../../../src/fhir/remote/serverAnswer';

/**
 * A Medplum FHIR server in-process: @medplum/fhir-router's FhirRouter, the code the Medplum
 * server runs for every FHIR request, with its transaction processing switched on
 * (`config.transactions`, as the server sets it) and every limit at its default, over a
 * MemoryRepository. Reached through a fetch function, so the remote store sends real HTTP
 * requests as far as it can tell. The CapabilityStatement is shaped like Medplum's (every type
 * with read, create, update, search; `updateCreate` not stated).
 */
export interface MedplumServer {
  readonly repo: MemoryRepository;
  readonly fetch: FetchFunction;
  readonly requests: string[];
  readonly baseUrl: string;
}

export const MEDPLUM_BASE_URL = 'http://medplum.test/fhir/R4';

export function medplumServer(): MedplumServer {
  // The search parameters (`_tag`, `identifier`…) the Medplum server indexes at start-up.
  indexFhirDefinitions();
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const requests: string[] = [];
  const fetchImpl: FetchFunction = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? 'GET').toUpperCase();
    const path = url.pathname.slice(new URL(MEDPLUM_BASE_URL).pathname.length).replace(/^\//, '');
    requests.push(`${method} /${path}${url.search}`);
    if (path === 'metadata') {
      return json(200, capabilityStatement());
    }
    const body: unknown = typeof init?.body === 'string' && init.body.length > 0 ? JSON.parse(init.body) : undefined;
    const request: FhirRequest = {
      method: method as FhirRequest['method'],
      url: `${path}${url.search}`,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: {},
      config: { transactions: true },
    };
    const [outcome, resource] = await router.handleRequest(request, repo);
    return json(getStatus(outcome), resource ?? outcome);
  };
  return { repo, fetch: fetchImpl, requests, baseUrl: MEDPLUM_BASE_URL };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/fhir+json' } });
}

const TYPES: Resource['resourceType'][] = [
  'Patient',
  'Device',
  'QuestionnaireResponse',
  'RiskAssessment',
  'ServiceRequest',
  'CarePlan',
  'GuidanceResponse',
  'Task',
  'Provenance',
];

function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Medplum (fhir-router in-process)' },
    rest: [
      {
        mode: 'server',
        resource: TYPES.map((type) => ({
          type,
          interaction: ['read', 'create', 'update', 'search-type'].map((code) => ({ code: code as 'read' })),
          conditionalCreate: true,
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

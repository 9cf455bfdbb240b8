import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { TRIAGE_BASE } from '../triage/ruleset';

export interface CapabilityOptions {
  /** Embedded: full REST on every type. Remote: only the service's own content and `$triage`. */
  readonly mode: 'embedded' | 'remote';
  readonly publicBaseUrl: string;
  readonly softwareVersion: string;
  readonly resourceTypes: readonly string[];
  /** Types whose content the service itself publishes (served in remote mode too). */
  readonly contentTypes: readonly string[];
  readonly smartOAuth?: { readonly authorize: string; readonly token: string } | undefined;
}

const TRIAGE_OPERATION = { name: 'triage', definition: `${TRIAGE_BASE}/OperationDefinition/QuestionnaireResponse-triage` };
const REVIEW_OPERATION = { name: 'review', definition: `${TRIAGE_BASE}/OperationDefinition/RiskAssessment-review` };

/** The CapabilityStatement at `/fhir/metadata`: what this server really does, nothing more. */
export function buildCapabilityStatement(options: CapabilityOptions): CapabilityStatement {
  const embedded = options.mode === 'embedded';
  const types = embedded ? options.resourceTypes : options.contentTypes;
  const resource: CapabilityStatementRestResource[] = types.map((type) => ({
    type: type as CapabilityStatementRestResource['type'],
    interaction: embedded
      ? (['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'] as const).map((code) => ({ code }))
      : [{ code: 'read' }, { code: 'search-type' }],
    versioning: embedded ? 'versioned' : 'no-version',
    conditionalCreate: embedded,
    ...(type === 'QuestionnaireResponse' ? { operation: [TRIAGE_OPERATION] } : {}),
    ...(type === 'RiskAssessment' ? { operation: [REVIEW_OPERATION] } : {}),
  }));
  if (!types.includes('QuestionnaireResponse')) {
    resource.push({ type: 'QuestionnaireResponse', operation: [TRIAGE_OPERATION] });
  }
  if (!types.includes('RiskAssessment')) {
    resource.push({ type: 'RiskAssessment', operation: [REVIEW_OPERATION] });
  }
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-22',
    publisher: 'Hip Pain Triage project',
    kind: 'instance',
    software: { name: 'hip-pain-triage', version: options.softwareVersion },
    implementation: {
      description: `Hip-pain triage service (${embedded ? 'embedded FHIR store' : 'remote FHIR server'})`,
      url: `${options.publicBaseUrl}/fhir`,
    },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        ...(options.smartOAuth
          ? {
              security: {
                service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
                extension: [
                  {
                    url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
                    extension: [
                      { url: 'authorize', valueUri: options.smartOAuth.authorize },
                      { url: 'token', valueUri: options.smartOAuth.token },
                    ],
                  },
                ],
              },
            }
          : {}),
        resource,
        interaction: embedded ? [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }] : [],
        operation: [TRIAGE_OPERATION, REVIEW_OPERATION],
      },
    ],
  };
}

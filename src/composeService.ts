import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDefinition, Resource } from '@medplum/fhirtypes';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import { buildTriageContent } from './content/buildTriageContent';
import { readResourceFile, readResourceFiles } from './content/readResourceFiles';
import { openEmbeddedStore, type EmbeddedStore } from './fhir/embedded/embeddedStore';
import type { FhirStore } from './fhir/fhirStore';
import { indexFhirDefinitions } from './fhir/fhirDefinitions';
import { createStructureCheck } from './fhir/structure';
import { buildCapabilityStatement } from './http/capabilityStatement';
import { createApp } from './http/createApp';
import { checkRoutingNotLessUrgent } from './routing/checkRoutingNotLessUrgent';
import { parseRoutingTable } from './routing/parseRoutingTable';
import { createTriageHandler } from './service/createTriageHandler';
import type { TriageContent } from './triage/triageContent';
import { verifyRuleset } from './triage/verifyRuleset';

export const SOFTWARE_VERSION = '1.0.0';

export interface Service {
  readonly app: Express;
  readonly store: FhirStore;
  readonly content: TriageContent;
  close(): Promise<void>;
}

/** Thrown when the service must not start; the message is for the operator. */
export class StartupError extends Error {}

/**
 * The composition root's work, apart from listening: load and check the content,
 * ruleset and routing table, open the store, build the app.
 */
export async function composeService(config: Config, logger: Logger, clock: () => Date = () => new Date()): Promise<Service> {
  const phases = startupPhases();
  indexFhirDefinitions();
  phases.mark('definitions');
  const resources = readResourceFiles([join(config.contentRoot, 'questionnaires'), join(config.contentRoot, 'fhir-resources')]);
  const content = loadContent(config, resources);
  const routing = loadRouting(config);
  phases.mark('content');
  const checkStructure = createStructureCheck(['QuestionnaireResponse']);
  phases.mark('structureCheck');
  if (config.fhirBaseUrl) {
    throw new StartupError('FHIR_BASE_URL (remote mode) is not available in this build yet; unset it to use the embedded store.');
  }
  const embedded: EmbeddedStore = await openEmbeddedStore({ dataDir: config.dataDir, logger, seed: resources });
  const store: FhirStore = embedded;
  phases.mark('store');
  logger.info({ phasesMs: phases.done() }, 'start-up phases');
  const capabilityStatement = buildCapabilityStatement({
    mode: 'embedded',
    publicBaseUrl: config.publicBaseUrl,
    softwareVersion: SOFTWARE_VERSION,
    resourceTypes: EMBEDDED_TYPES,
    contentTypes: [...new Set(resources.map((r) => r.resourceType))],
  });
  const app = createApp({
    logger,
    store,
    rest: (request) => embedded.handleRest(request),
    contentResources: resources,
    capabilityStatement,
    triage: createTriageHandler({ content, checkStructure, store, routing, clock, timeZone: config.timeZone, logger }),
  });
  return { app, store, content, close: () => store.close() };
}

function loadContent(config: Config, resources: readonly Resource[]): TriageContent {
  if (!config.rulesetFile) {
    return buildTriageContent(resources);
  }
  let replacement: PlanDefinition;
  let content: TriageContent;
  try {
    replacement = readResourceFile<PlanDefinition>(config.rulesetFile);
    content = buildTriageContent(resources, replacement);
  } catch (err) {
    throw new StartupError(`RULESET_FILE ${config.rulesetFile} cannot be used: ${describe(err)}`);
  }
  const verification = verifyRuleset(content.ruleset);
  if (!verification.passed) {
    throw new StartupError(`RULESET_FILE ${config.rulesetFile} is refused: it fails the red-flag suite.\n${verification.message}`);
  }
  return content;
}

function loadRouting(config: Config) {
  try {
    const table = parseRoutingTable(JSON.parse(readFileSync(config.routingFile, 'utf8')));
    checkRoutingNotLessUrgent(table);
    return table;
  } catch (err) {
    throw new StartupError(`ROUTING_FILE ${config.routingFile} is refused: ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'outcome' in err) {
    const outcome = (err as { outcome: { issue?: { details?: { text?: string }; expression?: string[] }[] } }).outcome;
    return (outcome.issue ?? []).map((i) => `${i.details?.text ?? ''} (${(i.expression ?? []).join(', ')})`).join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}

/** Types the embedded server advertises; every R4 type is served, these are listed. */
const EMBEDDED_TYPES = [
  'Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'HealthcareService', 'Device', 'Encounter',
  'Questionnaire', 'QuestionnaireResponse', 'PlanDefinition', 'ActivityDefinition', 'CodeSystem', 'ValueSet',
  'RiskAssessment', 'CarePlan', 'ServiceRequest', 'Task', 'GuidanceResponse', 'Provenance', 'OperationOutcome',
  'SearchParameter', 'Subscription', 'AuditEvent', 'OperationDefinition',
];

/** Milliseconds spent in each start-up phase, logged so an operator can see what a slow start costs. */
function startupPhases() {
  const phases: Record<string, number> = {};
  let last = performance.now();
  return {
    mark(name: string): void {
      const now = performance.now();
      phases[name] = Math.round(now - last);
      last = now;
    },
    done: (): Record<string, number> => phases,
  };
}

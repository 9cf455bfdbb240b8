import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDefinition, Resource } from '@medplum/fhirtypes';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import { buildTriageContent, publishableContent } from './content/buildTriageContent';
import { readResourceFile, readResourceFiles } from './content/readResourceFiles';
import { DataDirLockedError } from './fhir/embedded/dataDirLock';
import { type EmbeddedStore, openEmbeddedStore } from './fhir/embedded/embeddedStore';
import type { FhirStore } from './fhir/fhirStore';
import { indexFhirDefinitions } from './fhir/fhirDefinitions';
import { backendCredentials, TRIAGE_BACKEND_SCOPES } from './fhir/remote/backendLogin';
import { openRemoteStore } from './fhir/remote/remoteStore';
import { createStructureCheck } from './fhir/structure';
import { buildCapabilityStatement } from './http/capabilityStatement';
import { cdsRoutes } from './cds/cdsRoutes';
import { createApp } from './http/createApp';
import { OutboundFetchPolicy } from './http/outboundFetchPolicy';
import { responseLimits } from './http/responseLimits';
import { requestSecurityFromConfig } from './http/securityLayer';
import type { KeySetPolicy } from './auth/tokenVerification';
import { createServiceMetrics, embeddedStoreStats } from './metrics';
import type { RestHandler } from './http/fhirRoutes';
import { checkRoutingNotLessUrgent } from './routing/checkRoutingNotLessUrgent';
import { parseRoutingTable } from './routing/parseRoutingTable';
import { composeIntake, type Intake } from './intake/composeIntake';
import { createTriageHandler, type TriageServiceDeps } from './service/createTriageHandler';
import { queueRoutesFromConfig } from './queue/queueRoutes';
import { RevokedSessions } from './queue/staffSession';
import { dashboardRoutes } from './dashboard/dashboardRoutes';
import { staffGateFromConfig } from './dashboard/staffGate';
import { CdsFeedbackRecorder } from './review/cdsFeedback';
import { QueueReviewCsrf, queueReviewRoutes } from './review/queueReviewRoutes';
import { reviewOperationRoutes } from './review/reviewRoutes';
import { loadSmartClientCredentials } from './smart/smartClientCredentials';
import type { HeldAnswersStore } from './smart/heldAnswers';
import type { SmartSessionStore } from './smart/smartSessions';
import { smartFeatures } from './smart/smartFeatures';
import { queueReview } from './review/queueReviewSeam';
import { redFlagAdviceIssue } from './service/redFlagAdvice';
import { RED_FLAG_DISPOSITIONS, type TriageContent } from './triage/triageContent';
import { verifyRuleset } from './triage/verifyRuleset';

export const SOFTWARE_VERSION = '1.0.0';

export interface Service {
  readonly app: Express;
  readonly store: FhirStore;
  readonly content: TriageContent;
  /** Clinic intake: the Subscription receiver and, in embedded mode, triage on every stored response. */
  readonly intake: Intake;
  close(): Promise<void>;
}

/** Thrown when the service must not start; the message is for the operator. */
export class StartupError extends Error {}

/**
 * The composition root's work, apart from listening: load and check the content,
 * ruleset and routing table, open the store, build the app.
 */
export async function composeService(
  config: Config,
  logger: Logger,
  clock: () => Date = () => new Date(),
  seams: {
    /** How the JWKS of AUTH_JWKS_URI and CDS_TRUSTED_ISSUERS are cached; tests shorten the refetch cooldown. */
    readonly keySetPolicy?: KeySetPolicy | undefined;
    /** Where the SMART app keeps its sessions; replicas share one (default: this process's memory). */
    readonly smartSessionStore?: SmartSessionStore | undefined;
    /** Where the SMART app keeps answers it could not save; replicas share one, beside the sessions (default: this process's memory). */
    readonly smartHeldAnswersStore?: HeldAnswersStore | undefined;
  } = {}
): Promise<Service> {
  const { keySetPolicy } = seams;
  const phases = startupPhases();
  indexFhirDefinitions();
  phases.mark('definitions');
  // As push-content publishes them: the safety net's lists generated from the ruleset.
  const resources = publishableContent(readResourceFiles([join(config.contentRoot, 'questionnaires'), join(config.contentRoot, 'fhir-resources')]));
  const content = loadContent(config, resources);
  const routing = loadRouting(config);
  phases.mark('content');
  const checkStructure = createStructureCheck(['QuestionnaireResponse']);
  phases.mark('structureCheck');
  const { store, rest, embedded } = await openStore(config, logger, resources);
  phases.mark('store');
  logger.info({ phasesMs: phases.done() }, 'start-up phases');
  const capabilityStatement = buildCapabilityStatement({
    mode: rest ? 'embedded' : 'remote',
    publicBaseUrl: config.publicBaseUrl,
    softwareVersion: SOFTWARE_VERSION,
    resourceTypes: EMBEDDED_TYPES,
    contentTypes: [...new Set(resources.map((r) => r.resourceType))],
  });
  const metrics = createServiceMetrics({ storeStats: embeddedStoreStats(store) });
  const triageDeps: TriageServiceDeps = { content, checkStructure, store, routing, clock, timeZone: config.timeZone, logger, observer: metrics.triageObserver };
  const intake = composeIntake({ triage: triageDeps, embedded, webhook: { secret: config.webhookSecret, allowInsecure: config.allowInsecure } });
  metrics.watchIntakeBacklog(() => intake.backlog);
  // The seam for /queue's Confirm and Override row forms (src/review/queueReviewForm.ts renders them with this CSRF key).
  const queueReviewCsrf = new QueueReviewCsrf(config.sessionSecret);
  // One set of signed-out staff sessions for /queue and the pages beside it.
  const staffRevocations = new RevokedSessions();
  const app = createApp({
    logger,
    store,
    rest,
    contentResources: resources,
    capabilityStatement,
    triage: createTriageHandler(triageDeps),
    metrics,
    metricsToken: config.metricsToken,
    security: requestSecurityFromConfig(config, keySetPolicy),
    fhirOperations: [reviewOperationRoutes({ store, content, routing, clock, timeZone: config.timeZone, logger, authOn: config.auth !== undefined })],
    features: [
      cdsRoutes({
        logger,
        launchUrl: `${config.publicBaseUrl}/smart/launch`,
        fhirServers: config.cdsFhirServers,
        outbound: new OutboundFetchPolicy({ allowedNetworks: config.outboundAllowedNetworks }),
        content,
        timeZone: config.timeZone,
        clock,
        feedback: new CdsFeedbackRecorder(store, clock),
      }),
      responseLimits(config.responseLimits, { redFlagAdvice: (body) => redFlagAdviceIssue(content, body) }),
      queueRoutesFromConfig(config, {
        store,
        clock,
        logger,
        revoked: staffRevocations,
        review: queueReview({ store, content, csrf: queueReviewCsrf, askReviewer: config.auth === undefined }),
      }),
      dashboardRoutes({
        store,
        clock,
        timeZone: config.timeZone,
        logger,
        dispositions: content.ruleset.dispositions.map((d) => ({ code: d.code, display: d.display, rank: d.rank })),
        redFlags: RED_FLAG_DISPOSITIONS,
        staff: staffGateFromConfig(config, { revoked: staffRevocations }),
      }),
      queueReviewRoutes(
        {
          store,
          content,
          routing,
          clock,
          timeZone: config.timeZone,
          logger,
          staff: staffGateFromConfig(config, { revoked: staffRevocations }),
          sessionSecret: config.sessionSecret,
          issuer: config.auth?.issuer,
        },
        queueReviewCsrf
      ),
      intake.router,
      ...smartFeatures(config, {
        triage: triageDeps,
        store,
        clientCredentials: await loadSmartClientCredentials(config.smart.clientAuth),
        sessionStore: seams.smartSessionStore,
        heldAnswersStore: seams.smartHeldAnswersStore,
      }),
    ],
  });
  return {
    app,
    store,
    content,
    intake,
    close: async () => {
      // Intake first: the job running finishes against an open store.
      await intake.close();
      await store.close();
    },
  };
}

/**
 * Remote mode (FHIR_BASE_URL): the external server is the system of record; no DATA_DIR, and
 * `/fhir` serves only metadata, the service's own content and `$triage`. Embedded mode: the
 * SQLite store under DATA_DIR (one process at a time) and full FHIR REST.
 */
export async function openStore(
  config: Config,
  logger: Logger,
  seed: readonly Resource[]
): Promise<{ store: FhirStore; rest: RestHandler | undefined; embedded: EmbeddedStore | undefined }> {
  if (config.fhirBaseUrl) {
    let credentials;
    try {
      credentials = await backendCredentials(config.fhirClient, TRIAGE_BACKEND_SCOPES);
    } catch (err) {
      throw new StartupError(describe(err));
    }
    const server = new URL(config.fhirBaseUrl);
    // Origin and path only: a URL may carry user:password.
    logger.info({ fhirBaseUrl: `${server.origin}${server.pathname}`, login: credentials.method }, 'remote mode: writing back to an external FHIR server');
    return { store: openRemoteStore({ baseUrl: config.fhirBaseUrl, credentials, logger }), rest: undefined, embedded: undefined };
  }
  let embedded;
  try {
    embedded = await openEmbeddedStore({ dataDir: config.dataDir, logger, seed });
  } catch (err) {
    // The operator needs the sentence (which directory, which process), not a stack.
    throw err instanceof DataDirLockedError ? new StartupError(err.message) : err;
  }
  return { store: embedded, rest: (request) => embedded.handleRest(request), embedded };
}

export function loadContent(config: Config, resources: readonly Resource[]): TriageContent {
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
  const verification = verifyRuleset(content);
  if (!verification.passed) {
    throw new StartupError(`RULESET_FILE ${config.rulesetFile} is refused: it breaks the contract's rules for a replacement ruleset.\n${verification.message}`);
  }
  return content;
}

export function loadRouting(config: Config) {
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
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'HealthcareService',
  'Device',
  'Encounter',
  'Questionnaire',
  'QuestionnaireResponse',
  'PlanDefinition',
  'ActivityDefinition',
  'CodeSystem',
  'ValueSet',
  'RiskAssessment',
  'CarePlan',
  'ServiceRequest',
  'Task',
  'GuidanceResponse',
  'Provenance',
  'OperationOutcome',
  'SearchParameter',
  'Subscription',
  'AuditEvent',
  'OperationDefinition',
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

import { OperationOutcomeError } from '@medplum/core';
import type { Bundle, BundleEntry, CarePlan, CarePlanActivity, OperationOutcomeIssue, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import type { StructureCheck } from '../fhir/structure';
import type { AnswerPreference, TriageHandler, TriageRequest } from './triageRequest';
import { badGatewayError, badRequestError, errorIssue, serviceUnavailableError, statusOf, unprocessableError } from '../outcomes';
import type { RoutingTable } from '../routing/routingTable';
import { dispositionAdviceIssue } from '../triage/adviceIssue';
import { buildTriageTransaction, isShownToAnswerer, type TriageTransaction } from '../triage/results/buildTriageTransaction';
import { assessResponse, type ScoreOutcome, type TriageResult } from '../triage/scoreResponse';
import type { TriageContent } from '../triage/triageContent';
import { extractResponse, persistParameter } from './extractResponse';

export interface TriageServiceDeps {
  readonly content: TriageContent;
  readonly checkStructure: StructureCheck;
  readonly store: FhirStore;
  readonly routing: RoutingTable;
  readonly clock: () => Date;
  readonly timeZone: string;
  readonly logger: Logger;
  /** Told of every scored response and failed write-back (metrics); never of patient data. */
  readonly observer?: TriageObserver | undefined;
}

export type WriteBackFailureKind = 'unavailable' | 'refused';

/**
 * Hooks for counting, so the core stays free of any metrics library. An observer that
 * throws is logged and ignored: counting must never cost a patient their answer.
 */
export interface TriageObserver {
  /** A response was scored (valid); `persisted` is true once its results are stored. */
  onTriage?(event: { readonly disposition: string; readonly persisted: boolean }): void;
  onWriteBackFailure?(kind: WriteBackFailureKind): void;
}

/** Per call: the logger of the request being served, so its lines carry the request id. */
export interface TriageCallContext {
  readonly logger?: Logger | undefined;
  /** A response written long ago (the bulk command line): due times from `authored`, a review Task instead of routing. */
  readonly stale?: { readonly authored: Date } | undefined;
}

/**
 * Entries to write in the SAME transaction as a triage's results, decided once the result is
 * known (intake: supersede the results of a response's earlier content, add a review Task).
 * They follow the results, so they may reference them by their in-bundle fullUrls.
 */
export type ExtraEntries = (planned: { readonly result: TriageResult; readonly transaction: TriageTransaction }) => readonly BundleEntry[];

/** What one triage produced: the scored result and, when persisted, the stored resources. */
export interface TriageRun {
  readonly result: TriageResult;
  readonly transaction: TriageTransaction;
  readonly stored: readonly Resource[] | undefined;
}

/**
 * The application service behind every route that triages (`$triage`, and later the
 * SMART app, intake and the CLI): validate, score, build the results, write them back
 * in one transaction. HTTP-free: errors are OperationOutcomeErrors.
 */
export function createTriageRunner(deps: TriageServiceDeps) {
  return async function runTriage(
    options: { response: unknown; persist: boolean; responseAlreadyStored: boolean; extraEntries?: ExtraEntries | undefined } & TriageCallContext
  ): Promise<TriageRun> {
    const started = performance.now();
    const logger = options.logger ?? deps.logger;
    const body = claimedResponse(options.response);
    const now = deps.clock();
    const birthDate = await readBirthDate(deps, body);
    // Red flags are salvaged before, and whatever, the structure check finds (contract 1.1.0).
    const outcome = assessResponse({
      content: deps.content,
      body,
      checkStructure: deps.checkStructure,
      birthDate: birthDate.value,
      now,
      timeZone: deps.timeZone,
    });
    if (!outcome.valid) {
      throw unprocessableError(invalidIssues(deps.content, outcome));
    }
    const response = body as QuestionnaireResponse;
    const result: TriageResult = { ...outcome.result, warnings: [...outcome.result.warnings, ...birthDate.warnings] };
    const transaction = buildTriageTransaction({
      result,
      response,
      content: deps.content,
      routing: deps.routing,
      now,
      timeZone: deps.timeZone,
      responseAlreadyStored: options.responseAlreadyStored,
      stale: options.stale,
    });
    if (!options.persist) {
      notify(deps, logger, (o) => o.onTriage?.({ disposition: result.disposition.code, persisted: false }));
      return { result, transaction, stored: undefined };
    }
    let stored: Resource[];
    try {
      const extra = options.extraEntries?.({ result, transaction }) ?? [];
      stored = await writeBack(deps, logger, { transaction, extra }, result, Math.max(SHORTEST_WRITE_WAIT_MS, STORE_WAIT_MS - (performance.now() - started)));
    } catch (err) {
      notify(deps, logger, (o) => o.onTriage?.({ disposition: result.disposition.code, persisted: false }));
      throw err;
    }
    notify(deps, logger, (o) => o.onTriage?.({ disposition: result.disposition.code, persisted: true }));
    logger.info({ key: transaction.key.slice(0, 12), disposition: result.disposition.code, rules: result.firedRules.map((r) => r.id) }, 'triage written back');
    return { result, transaction, stored };
  };
}

/** `$triage` over HTTP: answers a Bundle of what was stored (or, with persist=false, what would be). */
export function createTriageHandler(deps: TriageServiceDeps): TriageHandler {
  const runTriage = createTriageRunner(deps);
  return async (request: TriageRequest): Promise<Bundle> => {
    let body: unknown;
    let responseAlreadyStored = false;
    // `persist` in a Parameters body counts as much as `?persist=`: either one saying false scores only.
    const bodyPersist = persistParameter(request.body);
    if (request.storedResponseId !== undefined) {
      body = await deps.store.readResource<QuestionnaireResponse>('QuestionnaireResponse', request.storedResponseId);
      responseAlreadyStored = true;
    } else {
      body = extractResponse(request.body).response;
    }
    const run = await runTriage({ response: body, persist: request.persist && bodyPersist !== false, responseAlreadyStored, logger: request.logger });
    return answerBundle(run, { baseUrl: request.baseUrl, prefer: request.prefer });
  };
}

/**
 * Only a body that is not a JSON object, or says it is not a QuestionnaireResponse, is
 * refused without being read (400); anything else is salvaged for red flags.
 */
function claimedResponse(candidate: unknown): object {
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    Array.isArray(candidate) ||
    (candidate as { resourceType?: unknown }).resourceType !== 'QuestionnaireResponse'
  ) {
    throw badRequestError([errorIssue('structure', 'Expected a FHIR QuestionnaireResponse (JSON object).', 'resourceType')]);
  }
  return candidate;
}

/**
 * The subject's birth date, for the age check. A patient the store does not have, or a
 * store that cannot be read, leaves the age unchecked, with a warning: scoring must
 * not wait on it (the write-back will report an unreachable server itself).
 */
async function readBirthDate(deps: TriageServiceDeps, body: object): Promise<{ value: string | undefined; warnings: OperationOutcomeIssue[] }> {
  const reference = (body as { subject?: { reference?: unknown } | null }).subject?.reference;
  const match = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(typeof reference === 'string' ? reference : '');
  if (!match?.[1]) {
    return { value: undefined, warnings: [] };
  }
  try {
    const patient = await deps.store.readResource<Patient>('Patient', match[1], { maxWaitMs: BIRTH_DATE_WAIT_MS });
    return { value: patient.birthDate, warnings: [] };
  } catch (err) {
    const status = err instanceof OperationOutcomeError ? statusOf(err.outcome) : 500;
    if (status === 404 || status === 410) {
      return { value: undefined, warnings: [] };
    }
    return {
      value: undefined,
      warnings: [
        {
          severity: 'warning',
          code: 'incomplete',
          details: { text: "The patient's birth date could not be read, so the answered age was not checked against it." },
        },
      ],
    };
  }
}

/**
 * A patient is waiting: the birth-date read and the write-back together wait about this long
 * for a remote FHIR server (retries included) before the answer is a 503 with the advice.
 */
const STORE_WAIT_MS = 5_000;
/** The age check is worth a short wait only: an unreachable server is reported by the write-back. */
const BIRTH_DATE_WAIT_MS = 1_000;
/** Whatever the reads took, the write-back gets at least one real attempt. */
const SHORTEST_WRITE_WAIT_MS = 1_000;

/** An invalid response's issues, led by the red-flag disposition and advice when its answers already show one. */
export function invalidIssues(content: TriageContent, outcome: Extract<ScoreOutcome, { valid: false }>): OperationOutcomeIssue[] {
  const issues = [...outcome.issues, ...outcome.warnings];
  if (outcome.redFlags) {
    // First, so a client that reads only one issue still sees the emergency.
    issues.unshift(dispositionAdviceIssue(content, outcome.redFlags, outcome.redFlagAdvice));
  }
  return issues;
}

function notify(deps: TriageServiceDeps, logger: Logger, call: (observer: TriageObserver) => void): void {
  if (!deps.observer) {
    return;
  }
  try {
    call(deps.observer);
  } catch (err) {
    logger.warn({ err: describe(err) }, 'triage observer failed');
  }
}

async function writeBack(
  deps: TriageServiceDeps,
  logger: Logger,
  write: { readonly transaction: TriageTransaction; readonly extra: readonly BundleEntry[] },
  result: TriageResult,
  maxWaitMs: number
): Promise<Resource[]> {
  const { transaction, extra } = write;
  const own = transaction.bundle.entry ?? [];
  const bundle: Bundle = extra.length > 0 ? { ...transaction.bundle, entry: [...own, ...extra] } : transaction.bundle;
  try {
    const answer = await deps.store.executeTransaction(bundle, { maxWaitMs });
    // The triage's own results only: the extra entries' answers are the caller's business.
    return (answer.entry ?? [])
      .slice(0, own.length)
      .map((e) => e.resource)
      .filter((r): r is Resource => r !== undefined && r.resourceType !== 'Device');
  } catch (err) {
    const advice = dispositionAdviceIssue(deps.content, result, result.advice);
    if (err instanceof OperationOutcomeError) {
      const status = statusOf(err.outcome);
      if (extra.length > 0 && (status === 409 || status === 412)) {
        // Only the caller's extra entries can conflict (the triage's own are conditional creates):
        // the conflict is theirs to resolve, so it leaves as it came.
        throw err;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        notify(deps, logger, (o) => o.onWriteBackFailure?.('refused'));
        logger.warn({ status, key: transaction.key.slice(0, 12) }, 'FHIR server refused the write-back');
        throw badGatewayError(err.outcome, [advice]);
      }
    }
    notify(deps, logger, (o) => o.onWriteBackFailure?.('unavailable'));
    logger.error({ err: describe(err), key: transaction.key.slice(0, 12) }, 'write-back failed: FHIR server unavailable');
    throw serviceUnavailableError('The FHIR server could not be reached; nothing was saved. Try again shortly.', [advice]);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}

/**
 * The answer of `$triage`, as the caller preferred (`Prefer: return=…`, FHIR's convention):
 * - `representation`: every result shown to the answerer, in full (as stored, or as it would be);
 * - `minimal`: the RiskAssessment alone (disposition, fired rules in words, what to do);
 * - neither (the default): every result, but the CarePlan's advice and material activities
 *   reference their ActivityDefinitions by canonical (kind, code, status) instead of
 *   repeating the reviewed text and links in every answer: those are the same for every
 *   triage and are served at `/fhir/ActivityDefinition?url=…`. What is stored is unchanged.
 * The warnings (an age left unchecked) travel in an OperationOutcome in every form.
 */
function answerBundle(run: TriageRun, options: { readonly baseUrl: string; readonly prefer: AnswerPreference | undefined }): Bundle {
  // SG1's review Task is written, but the caller (possibly the person who answered) is not shown it.
  let entries: BundleEntry[] = run.stored
    ? run.stored.filter(isShownToAnswerer).map((resource) => ({ fullUrl: `${options.baseUrl}/${resource.resourceType}/${resource.id ?? ''}`, resource }))
    : (run.transaction.bundle.entry ?? [])
        .filter((e) => e.resource && e.resource.resourceType !== 'Device' && isShownToAnswerer(e.resource))
        .map((e) => ({ fullUrl: e.fullUrl, resource: e.resource }));
  if (options.prefer === 'minimal') {
    entries = entries.filter((e) => e.resource?.resourceType === 'RiskAssessment');
  } else if (options.prefer !== 'representation') {
    entries = entries.map((e) => (e.resource?.resourceType === 'CarePlan' ? { ...e, resource: leanCarePlan(e.resource) } : e));
  }
  if (run.result.warnings.length > 0) {
    entries.push({ resource: { resourceType: 'OperationOutcome', issue: [...run.result.warnings] } });
  }
  return { resourceType: 'Bundle', type: 'collection', timestamp: run.result.evaluatedAt, entry: entries };
}

/** A copy of the CarePlan whose activities that instantiate a shared definition name it instead of repeating its text. */
function leanCarePlan(plan: CarePlan): CarePlan {
  return { ...plan, activity: plan.activity?.map(leanActivity) };
}

function leanActivity(activity: CarePlanActivity): CarePlanActivity {
  const detail = activity.detail;
  if (!detail?.instantiatesCanonical?.length) {
    return activity;
  }
  const { description: _description, instantiatesUri: _links, ...kept } = detail;
  return { ...activity, detail: kept };
}

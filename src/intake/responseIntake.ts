import { OperationOutcomeError } from '@medplum/core';
import type { BundleEntry, OperationOutcome, QuestionnaireResponse, RiskAssessment, Task, TaskInput } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import { statusOf } from '../outcomes';
import { dueTime } from '../routing/dueTime';
import type { RequestPriority, RoutingTable } from '../routing/routingTable';
import type { createTriageRunner } from '../service/createTriageHandler';
import { IDEMPOTENCY_TAG_SYSTEM, idempotencyCode, idempotencyKey, resultUuid } from '../triage/results/idempotencyKey';
import { CLINICIAN_ONLY_ROLES, type TriageTransaction } from '../triage/results/buildTriageTransaction';
import type { TriageResult } from '../triage/scoreResponse';
import type { TriageContent } from '../triage/triageContent';
import { type EarlierResult, findEarlierResults, isOpenTask, keyAndRole } from './earlierResults';
import { buildReviewTask, dutyClinician, type ReviewKind, reviewTaskEntry, serviceDeviceEntry } from './reviewTask';
import {
  mostUrgentPriority,
  REVIEW_INPUT_NEW_ASSESSMENT,
  REVIEW_INPUT_OPEN_TASK,
  retractionEntries,
  supersessionPlan,
  type SupersessionPlan,
} from './statusChanges';

export type TriageRunner = ReturnType<typeof createTriageRunner>;

export interface IntakeDeps {
  readonly content: TriageContent;
  readonly store: FhirStore;
  readonly routing: RoutingTable;
  readonly runTriage: TriageRunner;
  readonly clock: () => Date;
  /** TZ_CLINICAL, for a review Task's due time. */
  readonly timeZone: string;
  readonly logger: Logger;
}

/** Per call: the request's logger, and what is left of the caller's time budget. */
export interface IntakeContext {
  readonly logger?: Logger | undefined;
  /** Bounds each read through the port (a Subscription sender is waiting). */
  readonly maxWaitMs?: number | undefined;
}

export type IgnoreReason = 'other-questionnaire' | 'not-final' | 'own-write-back' | 'already-triaged' | 'already-under-review' | 'gone' | 'unknown-status';

/** What intake did with one stored response; ids, codes and counts only. */
export type IntakeOutcome =
  | { readonly action: 'ignored'; readonly reason: IgnoreReason }
  | {
      readonly action: 'triaged';
      readonly disposition: string;
      readonly superseded: number;
      readonly keptOpen: number;
      readonly review: ReviewKind | undefined;
    }
  | { readonly action: 'review'; readonly priority: RequestPriority }
  | { readonly action: 'retracted'; readonly changed: number };

export interface ResponseIntake {
  /** Decides and acts on a response as it is stored now (it must carry its server id). */
  admit(response: QuestionnaireResponse, context?: IntakeContext): Promise<IntakeOutcome>;
  /** Reads the response from the store first; a response deleted meanwhile is ignored. */
  admitStored(id: string, context?: IntakeContext): Promise<IntakeOutcome>;
}

/** Contract priorities of the red-flag dispositions, when the routing table has no route for one. */
const RED_FLAG_PRIORITY: Readonly<Record<string, RequestPriority>> = { emergency: 'stat', urgent: 'asap' };

/** One retry when staff changed a result between our read and our write (412/409). */
const CONFLICT_ATTEMPTS = 2;

/**
 * Intake: what happens to a QuestionnaireResponse that has just been stored on the FHIR
 * server (embedded or external), decided and done through the FhirStore port only.
 *
 * - another Questionnaire, or `in-progress`/`stopped`: stored, left alone;
 * - `completed`/`amended` and valid: triaged through the application service and written
 *   back once per content (the idempotency key); results of earlier content of the same
 *   response are superseded in the same transaction;
 * - `completed`/`amended` and invalid: kept as the client sent it, and a review Task for
 *   the duty clinician, prioritised by any red flag the answers already show;
 * - `entered-in-error`: every result of it retracted in one transaction.
 */
export function createResponseIntake(deps: IntakeDeps): ResponseIntake {
  const questionnaireUrl = deps.content.questionnaire.questionnaire.url;
  const owner = dutyClinician(deps.routing);

  const admit = async (response: QuestionnaireResponse, context: IntakeContext = {}): Promise<IntakeOutcome> => {
    if (!response.id) {
      throw new Error('Intake needs a stored response (with its id).');
    }
    const stored = response as QuestionnaireResponse & { id: string };
    if ((response.questionnaire ?? '').split('|')[0] !== questionnaireUrl) {
      return { action: 'ignored', reason: 'other-questionnaire' };
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await decide(stored, context);
      } catch (err) {
        const status = err instanceof OperationOutcomeError ? statusOf(err.outcome) : 0;
        if ((status === 412 || status === 409) && attempt < CONFLICT_ATTEMPTS) {
          (context.logger ?? deps.logger).info({ responseId: stored.id, status }, 'intake: a result changed meanwhile; deciding again');
          continue;
        }
        throw err;
      }
    }
  };

  const decide = async (response: QuestionnaireResponse & { id: string }, context: IntakeContext): Promise<IntakeOutcome> => {
    switch (response.status) {
      case 'in-progress':
      case 'stopped':
        return { action: 'ignored', reason: 'not-final' };
      case 'entered-in-error':
        return retract(response, context);
      case 'completed':
      case 'amended':
        return triageOrReview(response, context);
      default:
        return { action: 'ignored', reason: 'unknown-status' };
    }
  };

  const wait = (context: IntakeContext) => ({ maxWaitMs: context.maxWaitMs });

  const retract = async (response: QuestionnaireResponse & { id: string }, context: IntakeContext): Promise<IntakeOutcome> => {
    const earlier = await findEarlierResults(deps.store, response.id, wait(context));
    const entries = retractionEntries(earlier.filter(isAutomaticallyClosable), deps.clock());
    if (entries.length > 0) {
      await deps.store.executeTransaction({ resourceType: 'Bundle', type: 'transaction', entry: entries }, wait(context));
    }
    return { action: 'retracted', changed: entries.length };
  };

  const triageOrReview = async (response: QuestionnaireResponse & { id: string }, context: IntakeContext): Promise<IntakeOutcome> => {
    const key = idempotencyKey(response, deps.content.ruleset.version);
    if (carriesOwnTag(response, key)) {
      // `$triage` stored this response in the same all-or-nothing transaction as its results:
      // one search confirms they are there and still current, and nothing else is needed.
      const [risk] = await deps.store.searchResources<RiskAssessment>(
        'RiskAssessment',
        { _tag: `${IDEMPOTENCY_TAG_SYSTEM}|${idempotencyCode(key, 'risk')}` },
        wait(context)
      );
      if (risk?.status === 'final') {
        return { action: 'ignored', reason: 'own-write-back' };
      }
    }
    const earlier = await findEarlierResults(deps.store, response.id, wait(context));
    const current = earlier.filter((e) => e.key === key);
    const others = earlier.filter((e) => e.key !== key && isActive(e) && isAutomaticallyClosable(e));
    // After a clinician's override (src/review/) this content has two: the automated one, `amended`, and the clinician's, `final`: the current one counts.
    const risks = current.filter((e): e is EarlierResult & { resource: RiskAssessment } => e.resource.resourceType === 'RiskAssessment');
    const currentRisk = risks.find((e) => e.resource.status === 'final') ?? risks[0];
    if (
      currentRisk &&
      (currentRisk.resource.status === 'final' || current.some((e) => e.role === 'review-retriage')) &&
      !supersessionPending(current, others, deps.clock())
    ) {
      return { action: 'ignored', reason: 'already-triaged' };
    }
    if (current.some((e) => e.role === 'review')) {
      return { action: 'ignored', reason: 'already-under-review' };
    }
    // Content triaged before whose results were since superseded or retracted (answers
    // changed and then changed back): the conditional creates find those results, so no
    // active ones can be written; a person re-triages.
    const returned = currentRisk !== undefined && currentRisk.resource.status !== 'final';
    let plan: SupersessionPlan | undefined;
    let review: ReviewKind | undefined;
    try {
      const run = await deps.runTriage({
        response,
        persist: true,
        responseAlreadyStored: true,
        logger: context.logger,
        extraEntries: ({ result, transaction }) => {
          const now = deps.clock();
          const newTasks = plannedTasks(transaction);
          plan = supersessionPlan({ earlier: others, newPriority: mostUrgentPriority(newTasks.map((t) => t.priority)), now });
          review = returned ? 'review-retriage' : plan.keptOpen.length > 0 ? 'review-downgrade' : undefined;
          const reviewEntry = review ? followUpReview({ kind: review, key, response, result, plan, newTasks, others, now }) : undefined;
          return [...plan.entries, ...(reviewEntry ? [reviewEntry] : [])];
        },
      });
      return {
        action: 'triaged',
        disposition: run.result.disposition.code,
        superseded: plan?.superseded ?? 0,
        keptOpen: plan?.keptOpen.length ?? 0,
        review,
      };
    } catch (err) {
      if (err instanceof OperationOutcomeError && statusOf(err.outcome) === 422) {
        return reviewInvalid({ response, key, outcome: err.outcome, context });
      }
      throw err;
    }
  };

  /** An invalid response: ONE review Task (conditional create on `<key>:review`) and the service Device. */
  const reviewInvalid = async (options: {
    readonly response: QuestionnaireResponse & { id: string };
    readonly key: string;
    readonly outcome: OperationOutcome;
    readonly context: IntakeContext;
  }): Promise<IntakeOutcome> => {
    const { response, key, outcome, context } = options;
    const now = deps.clock();
    const redFlag = redFlagOf(deps.content, outcome);
    const route = redFlag ? deps.routing.dispositions.get(redFlag.disposition)?.route : undefined;
    const priority: RequestPriority = redFlag ? (route?.priority ?? RED_FLAG_PRIORITY[redFlag.disposition] ?? 'routine') : 'routine';
    const due = route ? dueTime(route.safetyNet?.due ?? route.due, now, deps.timeZone) : undefined;
    const problems = (outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
    const device = serviceDeviceEntry(key);
    const task = buildReviewTask({
      kind: 'review-response',
      key,
      response,
      priority,
      owner,
      now,
      requester: device.reference,
      due,
      outcome: { resourceType: 'OperationOutcome', issue: outcome.issue ?? [] },
      description:
        `Hip pain triage: a stored response could not be scored (${problems} problem${problems === 1 ? '' : 's'}, see the validation outcome). ` +
        (redFlag
          ? `The answers given already show ${redFlag.disposition} (rules ${redFlag.rules.join(', ')}): act on that now. `
          : 'No red flag could be established from the answers given. ') +
        'Check the answers with the patient and correct the response.',
    });
    await deps.store.executeTransaction(
      { resourceType: 'Bundle', type: 'transaction', entry: [device.entry, reviewTaskEntry(task, key, 'review-response')] },
      wait(context)
    );
    return { action: 'review', priority };
  };

  /** The clinician review that goes with a downgrade (or a return to superseded content), in the triage's own transaction. */
  const followUpReview = (options: {
    readonly kind: ReviewKind;
    readonly key: string;
    readonly response: QuestionnaireResponse & { id: string };
    readonly result: TriageResult;
    readonly plan: SupersessionPlan;
    readonly newTasks: readonly Task[];
    readonly others: readonly EarlierResult[];
    readonly now: Date;
  }): BundleEntry => {
    const { kind, key, result, plan, newTasks, now } = options;
    const priority = mostUrgentPriority([...plan.keptOpen.map((t) => t.priority), ...newTasks.map((t) => t.priority)]) ?? 'routine';
    const rules = result.firedRules.map((r) => r.id).join(', ');
    const earlierDispositions = [
      ...new Set(
        options.others.flatMap((e) =>
          e.resource.resourceType === 'RiskAssessment' ? (e.resource.prediction?.[0]?.outcome?.coding ?? []).map((c) => c.code ?? '') : []
        )
      ),
    ].filter((c) => c !== '');
    const description =
      kind === 'review-downgrade'
        ? `Hip pain triage review: the amended response was triaged again as ${result.disposition.code} (rules ${rules}); ` +
          `${plan.keptOpen.length} open Task${plan.keptOpen.length === 1 ? '' : 's'} of the earlier, more urgent triage (${earlierDispositions.join(', ') || 'unknown'}) ` +
          `${plan.keptOpen.length === 1 ? 'was' : 'were'} left open. Decide whether ${plan.keptOpen.length === 1 ? 'it still stands' : 'they still stand'}.`
        : `Hip pain triage review: the response was changed back to answers triaged before, whose results had been superseded or retracted. ` +
          `The ruleset gives ${result.disposition.code} (rules ${rules}); triage it by hand.`;
    const inputs: TaskInput[] = [
      ...plan.keptOpen.map((task) => ({ type: REVIEW_INPUT_OPEN_TASK, valueReference: { reference: `Task/${task.id}` } })),
      { type: REVIEW_INPUT_NEW_ASSESSMENT, valueReference: { reference: resultUuid(key, 'risk') } },
    ];
    // Due when the most pressing of the work it is about falls due.
    const dues = [...plan.keptOpen, ...newTasks]
      .map((t) => t.restriction?.period?.end)
      .filter((d): d is string => d !== undefined)
      .sort();
    const earliest = dues[0];
    const task = buildReviewTask({
      kind,
      key,
      response: options.response,
      priority,
      owner,
      now,
      requester: { reference: resultUuid(key, 'device') },
      inputs,
      description,
      due: earliest === undefined ? undefined : new Date(earliest),
    });
    return reviewTaskEntry(task, key, kind);
  };

  return {
    admit,
    async admitStored(id: string, context: IntakeContext = {}): Promise<IntakeOutcome> {
      let response: QuestionnaireResponse;
      try {
        response = await deps.store.readResource<QuestionnaireResponse>('QuestionnaireResponse', id, wait(context));
      } catch (err) {
        if (err instanceof OperationOutcomeError && [404, 410].includes(statusOf(err.outcome))) {
          return { action: 'ignored', reason: 'gone' };
        }
        throw err;
      }
      return admit(response, context);
    },
  };
}

function carriesOwnTag(response: QuestionnaireResponse, key: string): boolean {
  return (response.meta?.tag ?? []).some((t) => t.system === IDEMPOTENCY_TAG_SYSTEM && t.code === idempotencyCode(key, 'response'));
}

/**
 * Whether a result may be closed by what the person answering does next (amending the
 * response, or marking it entered-in-error). A clinician-only review (safeguarding, identity)
 * may not: a concern once raised is closed by a clinician, never withdrawn by the answers.
 */
function isAutomaticallyClosable(e: EarlierResult): boolean {
  return !(CLINICIAN_ONLY_ROLES as readonly (string | undefined)[]).includes(e.role);
}

/** A result still in force (what supersession would change). */
function isActive(e: EarlierResult): boolean {
  const resource = e.resource;
  switch (resource.resourceType) {
    case 'RiskAssessment':
      return resource.status === 'final' || resource.status === 'preliminary';
    case 'CarePlan':
    case 'ServiceRequest':
      return resource.status === 'active' || resource.status === 'draft' || resource.status === 'on-hold';
    case 'Task':
      return isOpenTask(resource);
    default:
      return false;
  }
}

/**
 * Whether the results of earlier content still need superseding, judged against the current
 * content's stored Tasks. Usually not: supersession lands in the same transaction as the
 * results. It does when the results came another way (`QuestionnaireResponse/{id}/$triage`
 * on the amended response), or when a downgrade left Tasks open and no review exists yet.
 */
function supersessionPending(current: readonly EarlierResult[], others: readonly EarlierResult[], now: Date): boolean {
  const currentTasks = current
    .map((e): Task | undefined => (e.resource.resourceType === 'Task' ? e.resource : undefined))
    .filter((t): t is Task => t !== undefined);
  const newPriority = mostUrgentPriority(currentTasks.filter((t) => isReferralWork(keyAndRole(t).role)).map((t) => t.priority));
  const plan = supersessionPlan({ earlier: others, newPriority, now });
  const reviewed = current.some((e) => e.role === 'review-downgrade' || e.role === 'review-retriage');
  return plan.entries.length > 0 || (plan.keptOpen.length > 0 && !reviewed);
}

/** The Tasks a triage transaction will create (referral, safety net, additional referral), not its clinician-only reviews. */
function plannedTasks(transaction: TriageTransaction): Task[] {
  return (transaction.bundle.entry ?? [])
    .filter((e, i) => !CLINICIAN_ONLY_ROLES.includes(transaction.roles[i] ?? 'response'))
    .map((e) => e.resource)
    .filter((r): r is Task => r?.resourceType === 'Task');
}

/** A Task role that is the referral work of a triage (not a review of any kind), for supersession's priorities. */
function isReferralWork(role: string | undefined): boolean {
  return !role?.startsWith('review') && !(CLINICIAN_ONLY_ROLES as readonly (string | undefined)[]).includes(role);
}

/**
 * The red-flag disposition the 422 carries, from its `information` issue (contract,
 * "Validity": the answers given already show it), with the fired rule ids.
 */
function redFlagOf(content: TriageContent, outcome: OperationOutcome): { disposition: string; rules: string[] } | undefined {
  for (const issue of outcome.issue ?? []) {
    if (issue.severity !== 'information') {
      continue;
    }
    const codings = issue.details?.coding ?? [];
    const disposition = content.ruleset.dispositions.find((d) => codings.some((c) => c.system === d.coding.system && c.code === d.coding.code));
    if (disposition) {
      const rules = content.ruleset.rules.filter((r) => codings.some((c) => c.system === r.coding.system && c.code === r.coding.code)).map((r) => r.id);
      return { disposition: disposition.code, rules };
    }
  }
  return undefined;
}

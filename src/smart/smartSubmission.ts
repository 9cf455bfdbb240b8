import { OperationOutcomeError } from '@medplum/core';
import type { QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import { statusOf } from '../http/sendOutcome';
import { createTriageRunner, type TriageRun, type TriageServiceDeps } from '../service/createTriageHandler';
import { dispositionAdviceIssue } from '../triage/adviceIssue';
import { isClinicianOnly, type ServiceWriter, userTokenWrites, writeClinicianOnly } from './clinicianOnlyWrites';
import type { HeldAnswersKeeper } from './heldAnswers';
import { patientTokenStore, RECORD_TYPES } from './patientTokenWriteBack';
import { rememberedPatientStore } from './rememberedPatientStore';
import { ACT_NOW_DISPOSITIONS, buildResultView, heldView, notSavedView, type SavingView, savedView } from './resultView';
import { type LaunchContext, type SmartSession, signOut } from './smartSessions';
import { planWrite, type WritePlan, writeReach } from './writePlan';

/**
 * What happens to a SMART submission once the routes have checked where it comes from: it is
 * scored by the core, its results go to the EHR the way the sign-in allows (or are held for a
 * later sign-in), clinician-only results go with the service's own credentials, and the result
 * page's content is kept in the session. HTTP-free; the routes pass in how to reach the EHR.
 */
export interface SubmissionDeps {
  readonly triage: TriageServiceDeps;
  readonly held: HeldAnswersKeeper;
  /** A FhirStore on the launch's EHR with the user's token. */
  readonly userStore: (context: LaunchContext) => FhirStore;
  /** Whether the EHR takes transactions (its CapabilityStatement); undefined when unknown. */
  readonly transactionSupport: (iss: string) => Promise<boolean | undefined>;
  /** The service's own credentials for this FHIR server, when it has them. */
  readonly serviceFor: (iss: string) => { readonly store: FhirStore; readonly writer: ServiceWriter } | undefined;
  /** A new access token from the session's refresh token (it becomes the session's), or undefined when there is none to be had. */
  readonly refresh?: ((session: SmartSession, logger: Logger) => Promise<LaunchContext | undefined>) | undefined;
}

export interface Submission {
  readonly session: SmartSession;
  readonly context: LaunchContext;
  readonly response: QuestionnaireResponse;
  readonly logger: Logger;
  /** Set on the one retry after a 401 and a token refresh: a second 401 ends the sign-in. */
  readonly refreshed?: boolean;
}

/** Scores the response, decides how its results can reach the EHR, writes them, and keeps the page's content in the session. */
export async function saveWithSignIn(deps: SubmissionDeps, submission: Submission): Promise<void> {
  const { session, context, response, logger } = submission;
  const user = deps.userStore(context);
  // Scored once without writing: which resources it needs decides how (and whether) it can be saved.
  const scored = await createTriageRunner({ ...deps.triage, store: user, observer: undefined })({
    response,
    persist: false,
    responseAlreadyStored: false,
    logger,
  });
  const service = deps.serviceFor(context.iss);
  const serviceWriter = service?.writer;
  const backend = service?.store;
  const plan = planWrite({
    grantedScope: context.grantedScope,
    entryTypes: (scored.transaction.bundle.entry ?? []).filter((e) => !isClinicianOnly(e)).map((e) => e.resource?.resourceType ?? ''),
    transactions: await deps.transactionSupport(context.iss),
    backendAvailable: backend !== undefined,
  });
  let saving: SavingView;
  let run: TriageRun = scored;
  let failure: number | undefined;
  const store = storeFor(plan, { user, backend, serviceWriter, patientId: context.patientId, logger, onFailure: (status) => (failure = status) });
  if (!store) {
    deps.triage.observer?.onTriage?.({ disposition: scored.result.disposition.code, persisted: false });
    // Nothing of the person's can be written, but a clinician-only Task still goes with the service's own credentials (or is logged).
    await writeClinicianOnly({ entries: (scored.transaction.bundle.entry ?? []).filter(isClinicianOnly), stored: new Map(), serviceWriter, logger });
    saving = notSavedView(plan.kind === 'none' ? plan.because : '', false);
  } else {
    try {
      run = await createTriageRunner({ ...deps.triage, store })({ response, persist: true, responseAlreadyStored: false, logger });
      const leftOut =
        plan.kind === 'patient-token'
          ? RECORD_TYPES.filter((t) => t !== 'Device' && !(run.stored ?? []).some((r) => r.resourceType === t)).map((type) => ({
              type,
              // Never asked for (the default scopes do not: these records are outside the patient's compartment), or asked and not granted.
              asked: context.askedScope === undefined || writeReach(context.askedScope, type) !== 'denied',
            }))
          : [];
      saving = savedView({
        stored: visible(run.stored ?? []),
        by: plan.kind === 'backend' ? 'the triage service' : 'your sign-in',
        because: plan.kind === 'backend' ? plan.because : undefined,
        leftOut,
      });
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) {
        throw err;
      }
      const status = failure ?? statusOf(err.outcome);
      // A 401 before the token's stated expiry (the EHR revoked or shortened it): one refresh and
      // one more try; the write is idempotent (same key), so what the first try stored is found.
      const fresh = status === 401 && !submission.refreshed ? await deps.refresh?.(session, logger) : undefined;
      if (fresh) {
        await saveWithSignIn(deps, { ...submission, context: fresh, refreshed: true });
        return;
      }
      if (status === 401 || status === 403) {
        // The EHR no longer takes this sign-in: keep the answers for the next one.
        signOut(session);
        saving = heldView('Your record system did not accept your sign-in any more, so the results are not saved yet.');
      } else if (status >= 500 || status === 408 || status === 429) {
        saving = heldView('Your record system could not be reached, so the results could not be saved.');
      } else {
        saving = notSavedView('Your record system refused to save the results.', false);
      }
    }
  }
  logger.info({ plan: plan.kind, saved: saving.saved, held: saving.held, disposition: scored.result.disposition.code }, 'SMART triage');
  await keepOrRelease(deps.held, session, context, response, saving);
  session.result = buildResultView({ content: deps.triage.content, result: run.result, transaction: run.transaction, saving });
}

/**
 * Answers sent after the sign-in ended (token expired, or idle for an hour): scored by the
 * core all the same (the birth date as read when the form was shown), the advice shown; the
 * results saved with the service's own credentials where it has them for this EHR, else the
 * answers held for the next sign-in. A clinician-only Task is written with the service's
 * credentials either way (or logged).
 */
export async function scoreAfterSignInEnded(deps: SubmissionDeps, submission: Submission): Promise<void> {
  const { session, context, response, logger } = submission;
  const remembered = rememberedPatientStore({ id: context.patientId, birthDate: session.patient?.birthDate });
  const service = deps.serviceFor(context.iss);
  const serviceWriter = service?.writer;
  const backend = service?.store;
  let run = await createTriageRunner({ ...deps.triage, store: remembered, observer: undefined })({
    response,
    persist: false,
    responseAlreadyStored: false,
    logger,
  });
  let saving: SavingView | undefined;
  if (backend) {
    try {
      run = await createTriageRunner({ ...deps.triage, store: backend })({ response, persist: true, responseAlreadyStored: false, logger });
      saving = savedView({ stored: visible(run.stored ?? []), by: 'the triage service', because: 'Your sign-in had ended.', leftOut: [] });
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) {
        throw err;
      }
    }
  }
  if (!saving) {
    deps.triage.observer?.onTriage?.({ disposition: run.result.disposition.code, persisted: false });
    await writeClinicianOnly({ entries: (run.transaction.bundle.entry ?? []).filter(isClinicianOnly), stored: new Map(), serviceWriter, logger });
    saving = heldView('Your sign-in had ended, so the results are not saved yet.');
  }
  logger.info({ plan: 'sign-in-ended', saved: saving.saved, held: saving.held, disposition: run.result.disposition.code }, 'SMART triage');
  await keepOrRelease(deps.held, session, context, response, saving);
  session.result = buildResultView({ content: deps.triage.content, result: run.result, transaction: run.transaction, saving });
}

/** Saved: the held copy is no longer needed. Held: kept (replacing this session's earlier copy for the same patient). */
async function keepOrRelease(
  held: HeldAnswersKeeper,
  session: SmartSession,
  context: LaunchContext,
  response: QuestionnaireResponse,
  saving: SavingView
): Promise<void> {
  if (saving.held) {
    session.heldAnswersIds = await held.hold({ iss: context.iss, patientId: context.patientId, response }, session.heldAnswersIds);
  } else if (saving.saved) {
    const earlier = await held.find(session.heldAnswersIds, context);
    if (earlier) {
      session.heldAnswersIds = await held.release(earlier.id, session.heldAnswersIds);
    }
  }
}

/**
 * Answers that cannot be tied to a launch (no session, or a page from an earlier launch):
 * scored without any record, for their advice only. An invalid response still gives its
 * red-flag advice when one fired. Nothing is written or kept.
 */
export async function scoreUnattached(
  deps: Pick<SubmissionDeps, 'triage'>,
  options: { readonly body: unknown; readonly logger: Logger }
): Promise<{ readonly advice: string | undefined; readonly urgent: boolean }> {
  const candidate = (options.body as { response?: unknown } | null)?.response;
  try {
    const run = await createTriageRunner({ ...deps.triage, store: rememberedPatientStore(undefined), observer: undefined })({
      response: candidate,
      persist: false,
      responseAlreadyStored: false,
      logger: options.logger,
    });
    return {
      advice: dispositionAdviceIssue(deps.triage.content, run.result, run.result.advice).details?.text,
      urgent: ACT_NOW_DISPOSITIONS.includes(run.result.disposition.code),
    };
  } catch (err) {
    const advice = err instanceof OperationOutcomeError ? err.outcome.issue?.find((i) => i.severity === 'information')?.details?.text : undefined;
    return { advice, urgent: true };
  }
}

/**
 * The FhirStore a write plan writes through; undefined when nothing can be saved. What goes
 * with the user's token never carries a clinician-only Task or note: those go with the
 * service's own credentials (`serviceWriter`), or are logged as not written.
 */
function storeFor(
  plan: WritePlan,
  stores: {
    readonly user: FhirStore;
    readonly backend: FhirStore | undefined;
    readonly serviceWriter: ServiceWriter | undefined;
    readonly patientId: string;
    readonly logger: Logger;
    readonly onFailure: (status: number) => void;
  }
): FhirStore | undefined {
  const { serviceWriter, logger, onFailure } = stores;
  switch (plan.kind) {
    case 'user-token':
      return userTokenWrites({ user: stores.user, userWrites: () => true, serviceWriter, logger, onFailure });
    case 'patient-token':
      // The service record (GuidanceResponse, Provenance, Device) goes with the backend credentials, when there are some.
      return userTokenWrites({
        user: patientTokenStore(stores),
        userWrites: (type) => !stores.backend || !RECORD_TYPES.includes(type),
        serviceWriter,
        logger,
        onFailure,
      });
    case 'backend':
      return stores.backend;
    case 'none':
      return undefined;
  }
}

/** What the person sees as saved: the service Device is bookkeeping, not part of their record… */
function visible(stored: readonly Resource[]): Resource[] {
  // …and a clinician-only Task (written with the service's credentials) is not the person's to see, even as a word.
  return stored.filter((r) => r.resourceType !== 'Device' && !isClinicianOnly({ resource: r }));
}

import { randomBytes } from 'node:crypto';
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import express, { type CookieOptions, type Request, type RequestHandler, type Response, Router } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import { openRemoteStore } from '../fhir/remote/remoteStore';
import { requestLogger } from '../http/observeRequests';
import { statusOf } from '../http/sendOutcome';
import { badRequestError, errorIssue } from '../outcomes';
import type { TriageServiceDeps } from '../service/createTriageHandler';
import { transactionSupportLookup } from './capabilityLookup';
import { smartAssets } from './smartAssets';
import { dateInZone } from '../triage/age';
import { answersFromRecord, presentationQuestionnaire, questionnaireForLaunch, recordAnswer, withAnswersFromRecord } from './formPrefill';
import { HeldAnswersKeeper, type HeldAnswersStore, MemoryHeldAnswersStore } from './heldAnswers';
import { populateResponse } from './populateResponse';
import { beginLaunch, completeLaunch, refreshLaunch, type SmartClientSettings } from './smartAuthorization';
import { discoverSmartEndpoints, type FetchFunction, readIss } from './smartDiscovery';
import { errorPage, formPage, formPagePolicy, resultPage, resultPagePolicy } from './smartPages';
import {
  type LaunchContext,
  refreshDue,
  type RememberedPatient,
  type SessionLimits,
  sameToken,
  type SmartSession,
  SmartSessions,
  type SmartSessionStore,
  tokenUsable,
} from './smartSessions';
import { saveWithSignIn, scoreAfterSignInEnded, scoreUnattached, type SubmissionDeps } from './smartSubmission';

export const SESSION_COOKIE = 'hip_triage_smart';

export interface SmartAppDeps {
  /** The triage service's dependencies; its `store` is replaced per submission by one for the launching EHR. */
  readonly triage: TriageServiceDeps;
  readonly settings: SmartClientSettings;
  readonly publicBaseUrl: string;
  /** SESSION_SECRET; undefined = a random one per start (sessions end with the process). */
  readonly sessionSecret: string | undefined;
  /** SMART_ALLOWED_ISS: the FHIR bases a launch may name (origin and path prefix); empty = loopback bases only. */
  readonly allowedIss: readonly string[];
  /**
   * The service's own credentials for one FHIR server: FHIR_BASE_URL's backend login in
   * remote mode, or the embedded store at `{PUBLIC_BASE_URL}/fhir`. Used for a launch from
   * that very server when the user's token cannot write (and for the service's record).
   */
  readonly backend: { readonly fhirBaseUrl: string; readonly store: FhirStore } | undefined;
  /** `public/smart`: the page script, styles and LHC-Forms. */
  readonly assetsDir: string;
  readonly fetch?: FetchFunction | undefined;
  /**
   * SMART_FRAME_ANCESTORS: the EHR origins allowed to frame the app's pages (CSP
   * `frame-ancestors`); empty = framing refused. When set, the session cookie is
   * `SameSite=None; Secure; Partitioned`, so it is sent inside the EHR's frame.
   */
  readonly frameAncestors?: readonly string[] | undefined;
  /** Where sessions are kept; default a MemorySmartSessionStore (this process only). Replicas share one. */
  readonly sessionStore?: SmartSessionStore | undefined;
  /** Where answers that could not be saved are kept; default a MemoryHeldAnswersStore (this process only). Replicas share one. */
  readonly heldAnswersStore?: HeldAnswersStore | undefined;
  /** Session bounds of the default store (tests make them small); default DEFAULT_SESSION_LIMITS. */
  readonly sessionLimits?: SessionLimits | undefined;
}

/**
 * The SMART on FHIR app (App Launch 2.x): `/smart/launch` (EHR launch with `iss` and
 * `launch`, standalone with `iss` only), `/smart/callback`, the form at `/smart/app`,
 * `/smart/submit` (JSON, from the page script), the result at `/smart/result`, and the
 * static assets under `/smart/assets/`. Tokens stay in server memory; the browser holds a
 * signed session id (HttpOnly, SameSite=Lax, Secure over https).
 */
export function smartRoutes(deps: SmartAppDeps): Router {
  const router = Router();
  const nowMs = (): number => deps.triage.clock().getTime();
  const sessions = new SmartSessions(deps.sessionSecret ?? randomBytes(32), { nowMs, limits: deps.sessionLimits, store: deps.sessionStore });
  const held = new HeldAnswersKeeper(deps.heldAnswersStore ?? new MemoryHeldAnswersStore(nowMs), nowMs);
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const frameAncestors = deps.frameAncestors ?? [];
  const framed = frameAncestors.length > 0;
  // In an EHR's frame the app is a third party: only a SameSite=None (hence Secure) cookie is sent there,
  // Partitioned (CHIPS) so browsers that block third-party cookies keep it, in the EHR's partition only.
  const cookie: CookieOptions = framed
    ? { httpOnly: true, sameSite: 'none', secure: true, partitioned: true, path: '/smart' }
    : { httpOnly: true, sameSite: 'lax', path: '/smart', secure: deps.publicBaseUrl.startsWith('https:') };
  const formPolicy = formPagePolicy(frameAncestors);
  const resultPolicy = resultPagePolicy(frameAncestors);

  // Every /smart answer (redirects of the launch included) carries the pages' frame policy, and
  // helmet's X-Frame-Options (SAMEORIGIN) is made to agree with it: gone when EHRs may frame the
  // app (it would refuse their frame), DENY when none may (as `frame-ancestors 'none'`).
  router.use('/smart', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', resultPolicy);
    if (framed) {
      res.removeHeader('X-Frame-Options');
    } else {
      res.setHeader('X-Frame-Options', 'DENY');
    }
    next();
  });

  const assets = smartAssets({ dir: deps.assetsDir, logger: deps.triage.logger });
  router.use(assets.router);
  const asset = (path: string): string => assets.assetUrl(path);

  const sessionOf = (req: Request): Promise<SmartSession | undefined> => sessions.find(readCookie(req.headers.cookie, SESSION_COOKIE));
  const setSession = (res: Response, session: SmartSession): void => {
    res.cookie(SESSION_COOKIE, sessions.cookieValue(session), cookie);
  };
  const loggerOf = (req: Request): Logger => requestLogger(req) ?? deps.triage.logger;
  // The socket's address, never a forwarded header (anyone can write one); IPv6 by /56, as the rate limit groups it.
  const clientKeyOf = (req: Request): string => ipKeyGenerator(req.socket.remoteAddress ?? 'unknown');
  // By session id: each request has its own copy of the session (the store hands out copies).
  const refreshing = new Map<string, Promise<LaunchContext | undefined>>();
  /**
   * A new access token from the session's refresh token, one refresh at a time per session
   * (a rotated refresh token is good once). Undefined when it cannot be had: a refusal
   * (the refresh token is then dropped, the sign-in has ended), or an EHR that did not answer.
   */
  const refreshNow = (session: SmartSession, logger: Logger): Promise<LaunchContext | undefined> => {
    const running = refreshing.get(session.id);
    if (running) {
      return running.then((context) => {
        if (context) {
          session.context = context;
        }
        return context;
      });
    }
    const work = (async (): Promise<LaunchContext | undefined> => {
      const context = session.context;
      if (!context?.refreshToken) {
        return undefined;
      }
      try {
        session.context = await refreshLaunch({ settings: deps.settings, context, nowMs: nowMs() });
        // Written back at once: a rotated refresh token must not be lost if the request fails later.
        await sessions.save(session);
        logger.info({ scopes: session.context.grantedScope.split(' ').length }, 'SMART token refreshed');
        return session.context;
      } catch (err) {
        const refused = err instanceof OperationOutcomeError && statusOf(err.outcome) === 400;
        logger.warn({ refused }, 'SMART token refresh failed');
        if (refused && session.context === context) {
          session.context = { ...context, refreshToken: undefined };
          await sessions.save(session);
        }
        return undefined;
      }
    })().finally(() => refreshing.delete(session.id));
    refreshing.set(session.id, work);
    return work;
  };
  /** Before the token is used: refreshed when it has expired or is about to (REFRESH_BEFORE_EXPIRY_MS). */
  const freshen = async (session: SmartSession | undefined, req: Request): Promise<void> => {
    if (session && refreshDue(session.context, nowMs())) {
      await refreshNow(session, loggerOf(req));
    }
  };
  const submission: SubmissionDeps = {
    refresh: (session, logger) => refreshNow(session, logger),
    triage: deps.triage,
    held,
    userStore,
    transactionSupport: transactionSupportLookup({ fetch: fetchImpl, nowMs }),
    // The service's own credentials for the launch's FHIR server, when it has them (see SmartAppDeps.backend).
    serviceFor: (iss) => {
      const backend = deps.backend;
      return backend && sameBase(backend.fhirBaseUrl, iss)
        ? { store: backend.store, writer: (bundle, wait) => backend.store.executeTransaction(bundle, wait) }
        : undefined;
    },
  };
  const heldFor = async (session: SmartSession) => (session.context ? held.find(session.heldAnswersIds, session.context) : undefined);

  router.get(
    '/smart/launch',
    page(
      async (req, res) => {
        const iss = readIss(req.query.iss, deps.allowedIss);
        const launch = typeof req.query.launch === 'string' && req.query.launch !== '' ? req.query.launch.slice(0, 2000) : undefined;
        const endpoints = await discoverSmartEndpoints(iss, fetchImpl);
        const earlier = await sessionOf(req);
        if (earlier) {
          await sessions.end(earlier);
        }
        const session = await sessions.create(clientKeyOf(req));
        // Answers kept from an ended sign-in stay offered to the next sign-in in this browser (for the same patient only).
        session.heldAnswersIds = earlier?.heldAnswersIds ?? [];
        const { url, pending } = beginLaunch({ settings: deps.settings, iss, launch, endpoints, nowMs: deps.triage.clock().getTime() });
        session.pending = pending;
        await sessions.save(session);
        setSession(res, session);
        loggerOf(req).info({ launch: pending.kind }, 'SMART launch started');
        res.redirect(303, url);
      },
      { logger: deps.triage.logger, policy: resultPolicy, asset }
    )
  );

  router.get(
    '/smart/callback',
    page(
      async (req, res) => {
        const session = await sessionOf(req);
        const pending = session?.pending;
        const now = deps.triage.clock().getTime();
        // Single use: whatever happens next, this state is spent.
        if (session) {
          session.pending = undefined;
          await sessions.save(session);
        }
        if (!session || !pending || pending.expiresAt <= now || !sameToken(pending.state, req.query.state)) {
          loggerOf(req).warn(
            { reason: !pending ? 'no launch in progress' : pending.expiresAt <= now ? 'expired' : 'state mismatch' },
            'SMART callback refused'
          );
          throw badRequestError([
            errorIssue(
              'login',
              'This sign-in could not be matched to a launch of the app (it may be old, used already, or changed on the way). Please start again from your record system.'
            ),
          ]);
        }
        const context = await completeLaunch({ settings: deps.settings, pending, callbackUrl: req.originalUrl, nowMs: now });
        session.context = context;
        const signedIn = await sessions.renew(session);
        // The form instance of this launch: the response's `authored`, fixed once per sign-in so that
        // reloads, back, resubmits and retries of the same answers carry the same idempotency key.
        signedIn.formAuthored = new Date(now).toISOString();
        await sessions.save(signedIn);
        setSession(res, signedIn);
        loggerOf(req).info(
          { launch: pending.kind, scopes: context.grantedScope.split(' ').length, fhirUser: context.fhirUser !== undefined },
          'SMART sign-in completed'
        );
        res.redirect(303, '/smart/app');
      },
      { logger: deps.triage.logger, policy: resultPolicy, asset }
    )
  );

  router.get(
    '/smart/app',
    page(
      async (req, res) => {
        const current = await sessionOf(req);
        await freshen(current, req);
        const { session, context } = signedIn(current, nowMs());
        const patient = await userStore(context).readResource<Patient>('Patient', context.patientId);
        const now = deps.triage.clock();
        const questionnaire = deps.triage.content.questionnaire.questionnaire;
        // The Questionnaire's own SDC prefill, with "today" the clinical time zone's (as the engine's): only a
        // full birth date gives the age, then shown read-only; otherwise the form asks it.
        const populated = populateResponse(questionnaire, { context: { patient }, today: dateInZone(now, deps.triage.timeZone), now });
        const fromRecord = answersFromRecord(populated);
        const age = recordAnswer(fromRecord, 'age')?.valueInteger;
        // Not reset here: a reload or the back button shows the same form instance (see the callback).
        session.formAuthored ??= now.toISOString();
        session.patient = rememberedPatient(patient);
        session.formFromRecord = fromRecord;
        session.banner = context.needPatientBanner ? session.patient : undefined;
        await sessions.save(session);
        const earlier = await heldFor(session);
        res.setHeader('Content-Security-Policy', formPolicy);
        res.setHeader('Cache-Control', 'no-store');
        res.type('html').send(
          formPage({
            banner: session.banner,
            about: session.patient,
            ageFromRecord: age,
            heldSince: earlier ? new Date(earlier.heldAt).toISOString() : undefined,
            csrfToken: session.csrfToken,
            asset,
            data: {
              questionnaire: presentationQuestionnaire(questionnaireForLaunch(questionnaire, { fromRecord })),
              initialResponse: populated,
              subject: `Patient/${context.patientId}`,
              author: context.fhirUser,
              csrfToken: session.csrfToken,
            },
          })
        );
      },
      { logger: deps.triage.logger, policy: resultPolicy, asset }
    )
  );

  router.post('/smart/submit', async (req, res) => {
    const logger = loggerOf(req);
    try {
      const session = await sessionOf(req);
      if (session && sameToken(session.csrfToken, req.get('X-CSRF-Token'))) {
        await freshen(session, req);
      }
      const context = session?.context;
      if (!session || !context || !sameToken(session.csrfToken, req.get('X-CSRF-Token'))) {
        // Not tied to a launch any more (the app restarted, or a newer launch replaced this page's):
        // nothing can be saved or kept, but the answers are still scored and their advice given.
        await sendUnattached(res, { body: req.body, logger, forbidden: session?.context !== undefined });
        return;
      }
      const answered = completedResponse({
        body: req.body,
        context,
        authored: session.formAuthored ?? deps.triage.clock().toISOString(),
        canonical: deps.triage.content.questionnaire.canonical,
      });
      // What the form showed from the record (read-only) is put back over whatever the page sent for it.
      const response = withAnswersFromRecord(deps.triage.content.questionnaire.questionnaire, answered, session.formFromRecord ?? []);
      if (tokenUsable(context, nowMs())) {
        await serialised(session, () => saveWithSignIn(submission, { session, context, response, logger }));
      } else {
        await serialised(session, () => scoreAfterSignInEnded(submission, { session, context, response, logger }));
      }
      await sessions.save(session);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).json({ next: '/smart/result' });
    } catch (err) {
      sendSubmitProblem(res, err, { logger, questionText: (linkId) => deps.triage.content.questionnaire.items.get(linkId)?.text });
    }
  });

  // "Try saving again" (same sign-in) and "Save the answers you gave earlier" (a new sign-in, same patient):
  // the held answers, unchanged, so the write has the same idempotency key and never saves twice.
  router.post(
    '/smart/retry',
    express.urlencoded({ extended: false, limit: '2kb' }),
    page(
      async (req, res) => {
        const current = await sessionOf(req);
        await freshen(current, req);
        const { session, context } = signedIn(current, nowMs());
        const body = (req.body ?? {}) as { csrf?: unknown };
        if (!sameToken(session.csrfToken, body.csrf)) {
          throw forbiddenError('This form has expired or did not come from this app. Please go back and try again.');
        }
        const earlier = await heldFor(session);
        if (!earlier) {
          res.redirect(303, '/smart/app');
          return;
        }
        await serialised(session, () => saveWithSignIn(submission, { session, context, response: earlier.response, logger: loggerOf(req) }));
        await sessions.save(session);
        res.redirect(303, '/smart/result');
      },
      { logger: deps.triage.logger, policy: resultPolicy, asset }
    )
  );

  router.get(
    '/smart/result',
    page(
      async (req, res) => {
        // The result page needs the session, not the sign-in: answers sent after it ended have their advice here too.
        const session = await sessionOf(req);
        if (!session?.result) {
          signedIn(session, nowMs());
          res.redirect(303, '/smart/app');
          return;
        }
        const earlier = await heldFor(session);
        const usable = tokenUsable(session.context, nowMs());
        res.setHeader('Content-Security-Policy', resultPolicy);
        res.setHeader('Cache-Control', 'no-store');
        res.type('html').send(
          resultPage({
            view: session.result,
            banner: session.context?.needPatientBanner ? session.banner : undefined,
            csrfToken: session.csrfToken,
            retry: earlier !== undefined && usable,
            signInAgain:
              earlier !== undefined && !usable && session.context ? `/smart/launch?${new URLSearchParams({ iss: session.context.iss }).toString()}` : undefined,
            asset,
          })
        );
      },
      { logger: deps.triage.logger, policy: resultPolicy, asset }
    )
  );

  /** Answers that cannot be tied to a launch: scored, and their advice sent back with the one message. */
  async function sendUnattached(res: Response, options: { readonly body: unknown; readonly logger: Logger; readonly forbidden: boolean }): Promise<void> {
    const message = options.forbidden
      ? 'This page is out of date (the app was opened again since), so your answers were checked but NOT saved. Follow the advice below, then open the app again from your record system.'
      : 'This page is no longer connected to your record, so your answers were checked but NOT saved. Follow the advice below, then open the app again from your record system.';
    const { advice, urgent } = await scoreUnattached(submission, options);
    options.logger.warn(
      { reason: options.forbidden ? 'csrf' : 'no session', advice: advice !== undefined },
      'SMART submission not tied to a launch: scored only'
    );
    res.setHeader('Cache-Control', 'no-store');
    res.status(options.forbidden ? 403 : 401).json({ message, problems: [], ...(advice ? { advice, urgent } : {}) });
  }

  function userStore(context: LaunchContext): FhirStore {
    return openRemoteStore({
      baseUrl: context.iss,
      credentials: { method: 'bearer-token', accessToken: context.accessToken },
      logger: deps.triage.logger,
      fetch: fetchImpl,
    });
  }

  return router;
}

/** The signed-in session and its context, or a 401 that sends the person back to their EHR. */
function signedIn(session: SmartSession | undefined, nowMs: number): { session: SmartSession; context: LaunchContext } {
  const context = session?.context;
  if (!session || !tokenUsable(context, nowMs)) {
    // The page's heading says the session has ended (headingFor 401): this line says only what to do.
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      id: 'unauthorized',
      issue: [errorIssue('login', 'Please open the app again from your record system.')],
    });
  }
  return { session, context };
}

/**
 * The response as the app stores it: the page's answers, with the subject that must be the
 * launch patient (else 403), the signed-in user as author, the Questionnaire's canonical,
 * and `authored` fixed when the form was shown, so the same answers sent twice are the same
 * response (one idempotency key, one set of results).
 */
export function completedResponse(options: {
  readonly body: unknown;
  readonly context: LaunchContext;
  readonly authored: string;
  readonly canonical: string;
}): QuestionnaireResponse {
  const { body, context, authored, canonical } = options;
  const candidate = (body as { response?: unknown } | null)?.response;
  if (candidate === null || typeof candidate !== 'object' || (candidate as Resource).resourceType !== 'QuestionnaireResponse') {
    throw badRequestError([errorIssue('structure', 'The page sent no answers.')]);
  }
  const sent = candidate as QuestionnaireResponse;
  const subject = sent.subject?.reference;
  const launchPatient = `Patient/${context.patientId}`;
  if (subject !== launchPatient && subject !== `${context.iss}/${launchPatient}`) {
    throw forbiddenError('These answers are about a different patient from the one the app was opened for, so they were not accepted.');
  }
  if (sent.author?.reference !== undefined && context.fhirUser !== undefined && sent.author.reference !== context.fhirUser) {
    throw forbiddenError('These answers name a different author from the person signed in, so they were not accepted.');
  }
  const { id: _id, meta: _meta, text: _text, ...answers } = sent;
  return {
    ...answers,
    resourceType: 'QuestionnaireResponse',
    questionnaire: canonical,
    status: 'completed',
    subject: { reference: launchPatient },
    ...(context.fhirUser ? { author: { reference: context.fhirUser } } : {}),
    authored,
  };
}

function forbiddenError(text: string): OperationOutcomeError {
  return new OperationOutcomeError({ resourceType: 'OperationOutcome', id: 'forbidden', issue: [errorIssue('forbidden', text)] });
}

/**
 * One submission at a time per session in this process: the patient-token write searches
 * before it creates. Across replicas this does not hold: two submissions of one session sent
 * at the same moment to two replicas could both find nothing and, with a patient token, both
 * write (the user-token and backend writes are conditional creates and stay single). A page
 * sends one submission at a time, so this takes a double submission split across replicas.
 */
const queues = new Map<string, Promise<unknown>>();
async function serialised<T>(session: SmartSession, work: () => Promise<T>): Promise<T> {
  const next = (queues.get(session.id) ?? Promise.resolve()).then(work, work);
  const settled = next.catch(() => undefined);
  queues.set(session.id, settled);
  void settled.then(() => {
    if (queues.get(session.id) === settled) {
      queues.delete(session.id);
    }
  });
  return next;
}

function sameBase(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

function rememberedPatient(patient: Patient): RememberedPatient {
  const name = patient.name?.find((n) => n.use === 'official') ?? patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
  return { name: text || 'Name not recorded', birthDate: patient.birthDate };
}

/** The submit route answers the page script in JSON: problems by linkId, and any red-flag advice first. */
function sendSubmitProblem(
  res: Response,
  err: unknown,
  options: { readonly logger: Logger; readonly questionText: (linkId: string) => string | undefined }
): void {
  if (!(err instanceof OperationOutcomeError)) {
    options.logger.error({ err: err instanceof Error ? err.message.slice(0, 200) : 'unknown' }, 'SMART submission failed');
    res
      .status(500)
      .json({ message: 'Something went wrong on our side. Your answers were not checked. If you are worried, call NHS 111, or 999 in an emergency.' });
    return;
  }
  const outcome: OperationOutcome = err.outcome;
  const status = statusOf(outcome);
  const issues = outcome.issue ?? [];
  const advice = issues.find((i) => i.severity === 'information')?.details?.text;
  const problems = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((issue) => problemOf(issue, options.questionText));
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).json({
    message: status === 422 ? 'Some answers need checking.' : (problems[0]?.text ?? 'The answers could not be checked.'),
    problems,
    ...(advice ? { advice } : {}),
  });
}

/** A validation issue for the page: the item it is about, its question, and what to do, in words. */
export function problemOf(
  issue: OperationOutcomeIssue,
  questionText: (linkId: string) => string | undefined
): { linkId?: string; question?: string; text: string } {
  const linkId = /linkId=([A-Za-z0-9\-._]+)/.exec(issue.diagnostics ?? '')?.[1] ?? /linkId='([A-Za-z0-9\-._]+)'/.exec(issue.expression?.[0] ?? '')?.[1];
  const question = linkId ? questionText(linkId) : undefined;
  return { ...(linkId ? { linkId } : {}), ...(question ? { question } : {}), text: plainProblem(issue.details?.text ?? '') };
}

/** The engine's messages name items by linkId, for integrators; the person gets what to do. */
function plainProblem(text: string): string {
  const range = /must be between (\d+) and (\d+)/.exec(text);
  if (range) {
    return `Enter a whole number from ${range[1] ?? ''} to ${range[2] ?? ''}.`;
  }
  if (/is required and has no answer/.test(text)) {
    return 'Please answer this question.';
  }
  if (/'none' cannot be chosen together/.test(text)) {
    return 'Choose “None of these” on its own, or untick it and choose the ones that apply.';
  }
  return text.replace(/^Item '[^']+'/, 'This answer') || 'This answer needs checking.';
}

/**
 * A page route: an OperationOutcomeError becomes a page with its sentences and status;
 * anything else a 500 page (logged, never shown).
 */
function page(
  handler: (req: Request, res: Response) => Promise<void>,
  pageOptions: { readonly logger: Logger; readonly policy: string; readonly asset: (path: string) => string }
): RequestHandler {
  const { logger, policy, asset } = pageOptions;
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      res.setHeader('Content-Security-Policy', policy);
      res.setHeader('Cache-Control', 'no-store');
      if (err instanceof OperationOutcomeError) {
        const status = statusOf(err.outcome);
        const messages = (err.outcome.issue ?? [])
          .filter((i) => i.severity !== 'information')
          .map((i) => i.details?.text ?? '')
          .filter((t) => t !== '');
        res
          .status(status)
          .type('html')
          .send(errorPage({ heading: headingFor(status), messages: messages.length > 0 ? messages : ['Please start again from your record system.'], asset }));
        return;
      }
      (requestLogger(req) ?? logger).error({ err: err instanceof Error ? err.message.slice(0, 200) : 'unknown' }, 'SMART page failed');
      res
        .status(500)
        .type('html')
        .send(errorPage({ heading: 'Something went wrong', messages: ['Something went wrong on our side. Please try again from your record system.'], asset }));
    }
  };
}

function headingFor(status: number): string {
  if (status === 401) {
    return 'Your session has ended';
  }
  if (status === 403) {
    return 'Not allowed';
  }
  if (status >= 500) {
    return 'Your record system is not answering';
  }
  return 'The app could not start';
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

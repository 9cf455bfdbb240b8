import { randomBytes } from 'node:crypto';
import { OperationOutcomeError } from '@medplum/core';
import express, { type CookieOptions, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { FhirStore } from '../fhir/fhirStore';
import { statusOf } from '../outcomes';
import type { Html } from './html';
import { queueAccess } from './queueAccess';
import { QUEUE_STYLESHEET_PATH, renderMessagePage, renderQueuePage } from './queuePage';
import { QUEUE_CSS } from './queueStyles';
import { CookieSigner, readCookie, RevokedSessions, type StaffSession } from './staffSession';
import { StaffSignIn } from './staffSignIn';
import { loadWorkQueue, type QueueItem } from './workQueue';

export const SESSION_COOKIE = 'hip_triage_staff';
export const SIGN_IN_COOKIE = 'hip_triage_staff_sign_in';
export const CALLBACK_PATH = '/queue/callback';
/** The sign-out form's hidden field holding the session's CSRF token. */
export const SIGN_OUT_TOKEN_FIELD = 'csrf';

/** A staff session lasts a shift at most; then the person signs in again. */
export const SESSION_LIFETIME_MS = 8 * 3600 * 1000;

/**
 * Nothing may run or load from elsewhere: no script at all, styles from our own stylesheet
 * only, forms post only here, and no other site may frame the page.
 */
export const QUEUE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface QueueRoutesOptions {
  readonly store: FhirStore;
  /** The service clock: what "now" is for overdue work (the same clock that set the due times). */
  readonly clock: () => Date;
  readonly timeZone: string;
  readonly logger: Logger;
  /** Where the page links a response to. */
  readonly responseUrl: (id: string) => string;
  /** OpenID Connect sign-in; undefined when AUTH_* is not set (then loopback clients only). */
  readonly signIn: QueueSignInSettings | undefined;
  /** Real time in ms for session expiry; a parameter so tests can move it. */
  readonly sessionClock?: () => number;
  /** Signed-out sessions, shared with the other staff pages (the dashboard) so a sign-out ends them there too. */
  readonly revoked?: RevokedSessions | undefined;
  /** Clinician review on the rows (src/review), given by the composition root; no review column without it. */
  readonly review?: QueueReview | undefined;
}

/** What the queue needs of clinician review: each row's controls, and their styles. */
export interface QueueReview {
  /**
   * The review cell of each row (items in page order), for the person signed in (`staffSub`;
   * undefined on a loopback instance without sign-in), with times in the clinic's zone.
   */
  cells(items: readonly QueueItem[], viewer: { readonly staffSub: string | undefined; readonly timeZone: string }): Promise<(item: QueueItem) => Html | string>;
  readonly css: string;
}

export interface QueueSignInSettings {
  readonly issuerUrl: string;
  /** STAFF_CLIENT_ID and STAFF_CLIENT_SECRET; undefined when not both are set (the page then fails closed). */
  readonly client: { readonly id: string; readonly secret: string } | undefined;
  readonly roleClaim: string;
  readonly publicBaseUrl: string;
  /** SESSION_SECRET; undefined = a random one per start (sessions end with the process). */
  readonly sessionSecret: string | undefined;
}

/** The queue feature as the configuration asks for it: the composition root's one line. */
export function queueRoutesFromConfig(
  config: Config,
  deps: {
    readonly store: FhirStore;
    readonly clock: () => Date;
    readonly logger: Logger;
    readonly revoked?: RevokedSessions | undefined;
    readonly review?: QueueReview | undefined;
  }
): Router {
  const fhirBase = config.fhirBaseUrl ?? '/fhir';
  return queueRoutes({
    ...deps,
    timeZone: config.timeZone,
    responseUrl: (id) => `${fhirBase}/QuestionnaireResponse/${encodeURIComponent(id)}`,
    signIn: config.auth
      ? {
          issuerUrl: config.auth.issuer,
          client: config.staff.clientId && config.staff.clientSecret ? { id: config.staff.clientId, secret: config.staff.clientSecret } : undefined,
          roleClaim: config.staff.roleClaim,
          publicBaseUrl: config.publicBaseUrl,
          sessionSecret: config.sessionSecret,
        }
      : undefined,
  });
}

/** `GET /queue` (the staff work-queue page), its stylesheet, and the staff sign-in around it. */
export function queueRoutes(options: QueueRoutesOptions): Router {
  const router = Router();
  const nowMs = options.sessionClock ?? Date.now;
  const settings = options.signIn;
  const signer = new CookieSigner(settings?.sessionSecret ?? randomBytes(32));
  const revoked = options.revoked ?? new RevokedSessions();
  /** The signed-in staff member: a cookie that verifies, not expired, not signed out. */
  const sessionOf = (cookieHeader: string | undefined): StaffSession | undefined => {
    const session = signer.verify(readCookie(cookieHeader, SESSION_COOKIE), 'session', nowMs());
    return session && !revoked.isRevoked(session) ? session : undefined;
  };
  const signIn =
    settings?.client &&
    new StaffSignIn({
      issuerUrl: settings.issuerUrl,
      clientId: settings.client.id,
      clientSecret: settings.client.secret,
      redirectUri: `${settings.publicBaseUrl}${CALLBACK_PATH}`,
      roleClaim: settings.roleClaim,
    });
  if (settings && !signIn) {
    options.logger.warn('AUTH_* is set but STAFF_CLIENT_ID/STAFF_CLIENT_SECRET are not: /queue answers 503 until staff sign-in is configured');
  }
  const cookieBase: CookieOptions = { httpOnly: true, sameSite: 'lax', path: '/queue', secure: settings?.publicBaseUrl.startsWith('https:') ?? false };

  router.get(QUEUE_STYLESHEET_PATH, (_req, res) => {
    // No patient data in it, so it may be cached, unlike the page.
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('text/css').send(options.review ? `${QUEUE_CSS}\n${options.review.css}` : QUEUE_CSS);
  });

  router.get('/queue', async (req, res) => {
    secureHeaders(res);
    const session = sessionOf(req.headers.cookie);
    const access = queueAccess({
      signInRequired: settings !== undefined,
      staffClientConfigured: signIn !== undefined,
      remoteAddress: req.socket.remoteAddress,
      hasStaffSession: session !== undefined,
    });
    try {
      if (access === 'forbidden') {
        sendPage(
          res,
          403,
          renderMessagePage('Not available here', 'The work queue is shown only on this machine until staff sign-in (AUTH_* and STAFF_*) is configured.')
        );
        return;
      }
      if (access === 'sign-in' && signIn) {
        const started = await signIn.begin(nowMs());
        res.cookie(SIGN_IN_COOKIE, signer.sign(started.state), { ...cookieBase, maxAge: started.state.exp - nowMs() });
        res.redirect(302, started.url);
        return;
      }
      if (access !== 'allowed') {
        // 'unavailable': sign-in is required but no staff client is registered, so fail closed.
        sendPage(
          res,
          503,
          renderMessagePage(
            'Sign-in not configured',
            'Staff sign-in is not configured on this service (STAFF_CLIENT_ID and STAFF_CLIENT_SECRET), so the work queue cannot be shown.'
          )
        );
        return;
      }
      const queue = await loadWorkQueue(options.store);
      const reviewCell = options.review
        ? await options.review.cells(
            queue.services.flatMap((service) => service.items),
            { staffSub: session?.sub, timeZone: options.timeZone }
          )
        : undefined;
      sendPage(
        res,
        200,
        renderQueuePage({
          queue,
          now: options.clock(),
          timeZone: options.timeZone,
          responseUrl: options.responseUrl,
          signedInAs: session?.name,
          signOutToken: session ? signer.csrfToken(session) : undefined,
          reviewCell,
        })
      );
    } catch (err) {
      sendFailure(res, err, 'Work queue unavailable');
    }
  });

  router.get(CALLBACK_PATH, async (req, res) => {
    secureHeaders(res);
    if (!signIn) {
      sendPage(res, 404, renderMessagePage('Not found', 'Staff sign-in is not configured on this service.'));
      return;
    }
    const expected = signer.verify(readCookie(req.headers.cookie, SIGN_IN_COOKIE), 'sign-in', nowMs());
    res.clearCookie(SIGN_IN_COOKIE, cookieBase);
    if (!expected) {
      sendPage(res, 400, renderMessagePage('Sign-in expired', 'This sign-in was not started here or took too long. Open the work queue to sign in again.'));
      return;
    }
    try {
      const staff = await signIn.complete(req.originalUrl, expected);
      const exp = nowMs() + SESSION_LIFETIME_MS;
      const sid = randomBytes(18).toString('base64url');
      res.cookie(
        SESSION_COOKIE,
        signer.sign({ purpose: 'session', sid, sub: staff.sub, name: staff.name, ...(staff.fhirUser ? { fhirUser: staff.fhirUser } : {}), exp }),
        {
          ...cookieBase,
          maxAge: SESSION_LIFETIME_MS,
        }
      );
      res.redirect(303, '/queue');
    } catch (err) {
      // Why it failed, never who: no claims, names or tokens in the log.
      options.logger.warn({ status: err instanceof OperationOutcomeError ? statusOf(err.outcome) : 500 }, 'staff sign-in refused');
      sendFailure(res, err, 'Could not sign in');
    }
  });

  /**
   * Sign-out ends the session on the server (its id is revoked until it would have
   * expired), not only in this browser. It needs the session's CSRF token from the page's
   * form: another site cannot sign a clinician out mid-shift. SameSite=Lax already keeps
   * the cookie off cross-site POSTs in current browsers; the token does not rely on that.
   */
  router.post('/queue/sign-out', express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 }), (req, res) => {
    secureHeaders(res);
    const session = sessionOf(req.headers.cookie);
    if (session) {
      const token: unknown = (req.body as Record<string, unknown> | undefined)?.[SIGN_OUT_TOKEN_FIELD];
      if (!signer.checkCsrfToken(session, token)) {
        sendPage(
          res,
          403,
          renderMessagePage('Sign-out not confirmed', 'This sign-out did not come from the work queue page. Open /queue and use its Sign out button.')
        );
        return;
      }
      revoked.revoke(session, nowMs());
    }
    res.clearCookie(SESSION_COOKIE, cookieBase);
    sendPage(res, 200, renderMessagePage('Signed out', 'You are signed out of the work queue. Open /queue to sign in again.'));
  });

  return router;
}

/** The queue names patients: never cached, framed, sniffed or sent on as a referrer. */
function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', QUEUE_CSP);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

function sendPage(res: Response, status: number, body: string): void {
  res.status(status).type('text/html; charset=utf-8').send(body);
}

/** An OperationOutcomeError as a page a person can read; anything else goes to the app's error handler. */
function sendFailure(res: Response, err: unknown, title: string): void {
  if (!(err instanceof OperationOutcomeError)) {
    throw err;
  }
  const status = statusOf(err.outcome);
  if (status === 503) {
    res.setHeader('Retry-After', '5');
  }
  const text =
    err.outcome.issue
      ?.map((i) => i.details?.text ?? i.diagnostics ?? '')
      .filter((t) => t !== '')
      .join(' ') || 'The request could not be completed.';
  sendPage(res, status, renderMessagePage(status === 403 ? 'Not signed in as staff' : title, text));
}

import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import express, { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import { requestLogger } from '../http/observeRequests';
import { rawBodyOf } from '../http/rawBody';
import { sendFhir } from '../http/sendOutcome';
import { badGatewayError, badRequestError, errorIssue, statusOf } from '../outcomes';
import type { IntakeQueue } from './intakeQueue';
import { type Notification, readNotification } from './notification';
import type { IntakeOutcome, ResponseIntake } from './responseIntake';
import type { ResponseSweep } from './responseSweep';
import { NOTIFICATION_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookAuthenticator, type WebhookAuthSettings } from './webhookAuth';

export const RECEIVER_PATH = '/subscriptions/questionnaire-response';

export interface ReceiverDeps {
  readonly intake: ResponseIntake;
  readonly sweep: ResponseSweep;
  /** Where a ping's sweep continues when it outlives the answer. */
  readonly queue: IntakeQueue;
  readonly auth: WebhookAuthSettings;
  readonly logger: Logger;
  /** How long a sender waits for the answer; the reads share it. Default: the port's 5 s budget. */
  readonly budgetMs?: number | undefined;
  /** Aborted at shutdown: a ping's sweep carried on in the background stops. */
  readonly signal?: AbortSignal | undefined;
  /** Seconds since the epoch, for the signature window; a parameter so tests can move it. */
  readonly nowSeconds?: (() => number) | undefined;
}

/** The port's own budget (src/fhir/remote/retryPolicy.ts): the sender gets its answer within about that. */
const DEFAULT_BUDGET_MS = 5_000;
/** Event numbers remembered per process, for de-duplicating redeliveries cheaply. */
const REMEMBERED_EVENTS = 10_000;
/** A ping's sweep carried on in the background gets this long per go. */
const BACKGROUND_SWEEP_MS = 60_000;

/**
 * The FHIR Subscription receiver: `POST|PUT /subscriptions/questionnaire-response` and
 * `…/QuestionnaireResponse/{id}`.
 *
 * Authenticated by WEBHOOK_SECRET (see webhookAuth). The answer comes after the write-back,
 * so a failure reaches the sender as a 5xx and the sender redelivers: 503 with Retry-After
 * while the FHIR server is unreachable, 502 when it refuses. Redelivery is harmless: the
 * idempotency key gives one set of results per response content, and an event number seen
 * before is acknowledged without another look.
 */
export function subscriptionReceiver(deps: ReceiverDeps): Router {
  const router = Router();
  const budgetMs = deps.budgetMs ?? DEFAULT_BUDGET_MS;
  const seenEvents = new Set<string>();
  const authenticator = new WebhookAuthenticator(deps.auth, deps.nowSeconds);
  // Bodies that are not JSON (or a type express.json does not take, like `application/json+fhir`) arrive here raw.
  const raw = express.raw({ type: () => true, limit: '1mb' });

  const handle = async (req: Request, res: Response): Promise<void> => {
    const logger = requestLogger(req) ?? deps.logger;
    const rawBody = rawBodyOf(req) ?? (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    const verdict = authenticator.check({
      authorization: req.get('authorization'),
      signature: req.get(SIGNATURE_HEADER),
      timestamp: req.get(TIMESTAMP_HEADER),
      id: req.get(NOTIFICATION_ID_HEADER),
      contentEncoding: req.get('content-encoding'),
      rawBody,
    });
    if (verdict.verdict === 'refused') {
      logger.warn(
        { status: verdict.status, signed: req.get(SIGNATURE_HEADER) !== undefined, bearer: req.get('authorization') !== undefined },
        'Subscription notification refused'
      );
      if (verdict.status === 401) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="subscriptions"');
      }
      const code = verdict.status === 401 ? 'login' : verdict.status === 409 ? 'duplicate' : 'not-supported';
      sendFhir(res, verdict.status, outcome([errorIssue(code, verdict.text)]));
      return;
    }
    let handled = false;
    try {
      const notification = readNotification(typeof req.params.id === 'string' ? req.params.id : undefined, bodyOf(req));
      const deadline = performance.now() + budgetMs;
      const remaining = () => Math.max(1, deadline - performance.now());
      const issues = await atTheEdge(() => answer(notification, { logger, remaining, deadline }));
      logger.info({ kind: notification.kind, responses: issues.length }, 'Subscription notification handled');
      sendFhir(res, 200, outcome(issues.length > 0 ? issues : [info(`${notification.kind}: acknowledged`)]));
      handled = true;
    } finally {
      authenticator.settle(verdict.replayKey, handled);
    }
  };

  const answer = async (
    notification: Notification,
    context: { logger: Logger; remaining: () => number; deadline: number }
  ): Promise<OperationOutcomeIssue[]> => {
    const admitted = (id: string, outcome: IntakeOutcome) => info(`QuestionnaireResponse/${id}: ${summary(outcome)}`);
    switch (notification.kind) {
      case 'handshake':
      case 'heartbeat':
      case 'query-status':
        return [];
      case 'resource': {
        const outcome = await deps.intake.admitStored(notification.responseId, { logger: context.logger, maxWaitMs: context.remaining() });
        return [admitted(notification.responseId, outcome)];
      }
      case 'event-notification': {
        const issues: OperationOutcomeIssue[] = [];
        for (const event of notification.events) {
          const seenKey = event.eventNumber === undefined ? undefined : `${notification.subscription ?? ''}#${event.eventNumber}`;
          if (seenKey !== undefined && seenEvents.has(seenKey)) {
            issues.push(info(`event ${event.eventNumber ?? ''}: already handled`));
            continue;
          }
          if (event.responseId === undefined) {
            issues.push(info(`event ${event.eventNumber ?? ''}: no QuestionnaireResponse focus; ignored`));
          } else {
            issues.push(
              admitted(event.responseId, await deps.intake.admitStored(event.responseId, { logger: context.logger, maxWaitMs: context.remaining() }))
            );
          }
          if (seenKey !== undefined) {
            remember(seenEvents, seenKey);
          }
        }
        return issues;
      }
      case 'ping': {
        const issues: OperationOutcomeIssue[] = [];
        if (deps.sweep.busy) {
          // Waiting behind a long background sweep would keep the sender past its timeout.
          continueInBackground();
          return [info('A search for new responses is already running; it will include this one.')];
        }
        const report = await deps.sweep.sweep({
          deadline: context.deadline,
          visit: async (response) => {
            issues.push(admitted(response.id, await deps.intake.admit(response, { logger: context.logger, maxWaitMs: context.remaining() })));
          },
        });
        if (report.more) {
          continueInBackground();
          issues.push(info('More responses than fit in one answer: the search carries on in the background.'));
        }
        return issues;
      }
    }
  };

  const continueInBackground = (): void => {
    deps.queue.enqueue('sweep', () =>
      deps.sweep.sweep({
        deadline: performance.now() + BACKGROUND_SWEEP_MS,
        signal: deps.signal,
        visit: (response) => deps.intake.admit(response).then(() => undefined),
      })
    );
  };

  for (const path of [RECEIVER_PATH, `${RECEIVER_PATH}/QuestionnaireResponse/:id`]) {
    router.route(path).post(raw, handle).put(raw, handle);
  }
  return router;
}

/**
 * A refusal by the FHIR server (4xx) becomes a 502 here: the sender did nothing wrong, and a
 * 401 or 403 from the server must not read as "your WEBHOOK_SECRET is wrong".
 */
async function atTheEdge<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      const status = statusOf(err.outcome);
      if (status >= 400 && status < 500) {
        throw badGatewayError(err.outcome);
      }
    }
    throw err;
  }
}

function bodyOf(req: Request): unknown {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body)) {
    return body;
  }
  if (body.length === 0) {
    return undefined;
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequestError([errorIssue('structure', 'The notification body is not JSON.')]);
  }
}

function summary(outcome: IntakeOutcome): string {
  switch (outcome.action) {
    case 'ignored':
      return `ignored (${outcome.reason})`;
    case 'triaged':
      return `triaged: ${outcome.disposition}${outcome.superseded > 0 ? `, ${outcome.superseded} earlier result(s) superseded` : ''}${outcome.review ? `, review Task (${outcome.review})` : ''}`;
    case 'review':
      return `not valid: review Task (priority ${outcome.priority})`;
    case 'retracted':
      return `entered-in-error: ${outcome.changed} result(s) retracted`;
  }
}

function remember(seen: Set<string>, key: string): void {
  seen.add(key);
  if (seen.size > REMEMBERED_EVENTS) {
    const oldest = seen.values().next().value;
    if (oldest !== undefined) {
      seen.delete(oldest);
    }
  }
}

function info(text: string): OperationOutcomeIssue {
  return { severity: 'information', code: 'informational', details: { text } };
}

function outcome(issue: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue };
}

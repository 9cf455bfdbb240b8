import { OperationOutcomeError } from '@medplum/core';
import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type Request, type RequestHandler, Router } from 'express';
import { rateLimitKey } from './requestRateLimit';

/** RESPONSE_LIMIT_PER_MINUTE and RESPONSE_LIMIT_PER_TRANSACTION; 0 = no limit. */
export interface ResponseLimitSettings {
  readonly perMinute: number;
  readonly perTransaction: number;
}

/** Callers remembered at most; past it, those whose budget is full again are forgotten first. */
const REMEMBERED_CALLERS = 10_000;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const RESPONSE_PATH = /^\/QuestionnaireResponse(?:[/?]|$)/;
/** A search by POST reads; it writes nothing. */
const SEARCH_PATH = /^\/QuestionnaireResponse\/_search(?:[/?]|$)/;

interface Budget {
  tokens: number;
  at: number;
}

/**
 * Per-caller limits on QuestionnaireResponses written through `/fhir`: each response makes
 * intake work (a triage, or a review Task for a person), so one caller's flood must not
 * bury everyone else's. A caller is whom the request rate limit counts (the verified token's
 * subject, else the connection's address).
 *
 * - More responses in one batch or transaction than `perTransaction`: 413 with an
 *   OperationOutcome. Retrying the same Bundle can never succeed, so no Retry-After: the
 *   sender splits it.
 * - More than `perMinute` in a minute (a budget that refills continuously, so a burst
 *   spends it and a steady sender is never cut off at a window edge): 429 with Retry-After
 *   (the seconds until the budget holds this request) and an OperationOutcome. A refused
 *   request spends nothing.
 *
 * Counted: `POST|PUT|PATCH /fhir/QuestionnaireResponse…` (`$triage` included) as one, and
 * in a `POST /fhir` Bundle every entry that writes a QuestionnaireResponse or calls one of
 * its operations.
 */
export interface ResponseLimitOptions {
  readonly nowMs?: () => number;
  /**
   * The red-flag advice a refused body shows (src/service/redFlagAdvice.ts): a refusal writes
   * nothing, but it still leads with the advice, so a red-flag patient is never sent away without it.
   */
  readonly redFlagAdvice?: (body: unknown) => OperationOutcomeIssue | undefined;
}

export function responseLimits(settings: ResponseLimitSettings, options: ResponseLimitOptions = {}): Router {
  const nowMs = options.nowMs ?? Date.now;
  const adviceFirst = (body: unknown): OperationOutcomeIssue[] => {
    const issue = options.redFlagAdvice?.(body);
    return issue ? [issue] : [];
  };
  const router = Router();
  const budgets = new Map<string, Budget>();
  const refillPerMs = settings.perMinute / 60_000;

  const spend = (key: string, count: number): number => {
    const now = nowMs();
    const budget = budgets.get(key) ?? { tokens: settings.perMinute, at: now };
    budget.tokens = Math.min(settings.perMinute, budget.tokens + (now - budget.at) * refillPerMs);
    budget.at = now;
    if (budget.tokens < count) {
      budgets.set(key, budget);
      return Math.max(1, Math.ceil((count - budget.tokens) / refillPerMs / 1000));
    }
    budget.tokens -= count;
    budgets.delete(key);
    budgets.set(key, budget);
    if (budgets.size > REMEMBERED_CALLERS) {
      forgetFullest(budgets, now, settings.perMinute, refillPerMs);
    }
    return 0;
  };

  const limit: RequestHandler = (req, res, next) => {
    const count = responsesIn(req);
    if (count === 0) {
      next();
      return;
    }
    if (settings.perTransaction > 0 && count > settings.perTransaction) {
      next(
        new OperationOutcomeError({
          resourceType: 'OperationOutcome',
          id: 'content-too-large',
          issue: [
            ...adviceFirst(req.body),
            {
              severity: 'error',
              code: 'too-costly',
              details: {
                text: `This Bundle writes ${count} QuestionnaireResponses; at most ${settings.perTransaction} are taken in one request. Send them in smaller Bundles.`,
              },
              expression: ['Bundle.entry'],
            },
          ],
        })
      );
      return;
    }
    if (settings.perMinute <= 0) {
      next();
      return;
    }
    const waitSeconds = spend(rateLimitKey(req), count);
    if (waitSeconds > 0) {
      res.setHeader('Retry-After', String(waitSeconds));
      next(
        new OperationOutcomeError({
          resourceType: 'OperationOutcome',
          id: 'too-many-requests',
          issue: [
            ...adviceFirst(req.body),
            {
              severity: 'error',
              code: 'throttled',
              details: {
                text: `More than ${settings.perMinute} QuestionnaireResponses a minute from one caller: wait for the time in Retry-After, then send again.`,
              },
            },
          ],
        })
      );
      return;
    }
    next();
  };

  if (settings.perMinute > 0 || settings.perTransaction > 0) {
    router.use('/fhir', limit);
  }
  return router;
}

/** How many QuestionnaireResponses this request writes or submits (0 for anything else). */
export function responsesIn(req: Pick<Request, 'method' | 'path' | 'body'>): number {
  if (!WRITE_METHODS.has(req.method)) {
    return 0;
  }
  if (RESPONSE_PATH.test(req.path)) {
    return SEARCH_PATH.test(req.path) ? 0 : 1;
  }
  const body = req.body as Partial<Bundle> | undefined;
  if (req.method !== 'POST' || (req.path !== '/' && req.path !== '') || body?.resourceType !== 'Bundle' || !Array.isArray(body.entry)) {
    return 0;
  }
  let count = 0;
  for (const entry of body.entry) {
    const method = typeof entry?.request?.method === 'string' ? entry.request.method.toUpperCase() : '';
    const url = typeof entry?.request?.url === 'string' ? `/${entry.request.url.replace(/^\/+/, '')}` : '';
    if (entry?.resource?.resourceType === 'QuestionnaireResponse' || (WRITE_METHODS.has(method) && RESPONSE_PATH.test(url) && !SEARCH_PATH.test(url))) {
      count++;
    }
  }
  return count;
}

/** Drops the callers whose budget has refilled completely: forgetting them changes nothing. */
function forgetFullest(budgets: Map<string, Budget>, now: number, capacity: number, refillPerMs: number): void {
  for (const [key, budget] of budgets) {
    if (budget.tokens + (now - budget.at) * refillPerMs >= capacity) {
      budgets.delete(key);
    }
  }
  // Every one still spending: the oldest first (Map order is last use).
  for (const key of budgets.keys()) {
    if (budgets.size <= REMEMBERED_CALLERS) {
      break;
    }
    budgets.delete(key);
  }
}

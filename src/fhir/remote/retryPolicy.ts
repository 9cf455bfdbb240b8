import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long a request to the external FHIR server may take, retries included. A patient is
 * waiting for the answer, so the whole budget is a few seconds, not a queue.
 */
export interface RetryPolicy {
  /** Every attempt and every pause together end within this. */
  readonly totalMs: number;
  /** One attempt is abandoned after this (a slow server counts as an unavailable one). */
  readonly attemptTimeoutMs: number;
  /** The first pause; each next one doubles (with jitter). */
  readonly firstDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { totalMs: 5_000, attemptTimeoutMs: 3_000, firstDelayMs: 200 };

/** A pause shorter than this before the deadline is not worth another attempt. */
const SHORTEST_ATTEMPT_MS = 100;

/** What the caller makes of a failed attempt. */
export type FailureVerdict = { readonly retry: false } | { readonly retry: true; readonly reason: string; readonly retryAfterMs?: number | undefined };

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Tightens the policy's total for one call (never loosens it). */
  readonly maxWaitMs?: number | undefined;
  readonly classify: (err: unknown) => FailureVerdict;
  readonly onRetry?: (details: { readonly attempt: number; readonly reason: string; readonly delayMs: number }) => void;
}

/** Thrown when the budget ran out; `lastError` is the final attempt's failure. */
export class RetryBudgetExhausted extends Error {
  readonly attempts: number;
  readonly reason: string;
  readonly elapsedMs: number;
  readonly lastError: unknown;

  constructor(details: { readonly attempts: number; readonly reason: string; readonly elapsedMs: number; readonly lastError: unknown }) {
    super(`gave up after ${details.attempts} attempt(s) in ${Math.round(details.elapsedMs)} ms: ${details.reason}`);
    this.attempts = details.attempts;
    this.reason = details.reason;
    this.elapsedMs = details.elapsedMs;
    this.lastError = details.lastError;
  }
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the budget is spent. Each attempt
 * gets an AbortSignal that fires at its own timeout or at the deadline, whichever is first.
 * Backoff is exponential with jitter so that replicas behind one load balancer do not retry
 * in step; the last pause is shortened so one final attempt still fits before the deadline.
 */
export async function retryTransient<T>(attempt: (signal: AbortSignal) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy } = options;
  const started = performance.now();
  const totalMs = Math.min(policy.totalMs, options.maxWaitMs ?? Number.POSITIVE_INFINITY);
  const deadline = started + totalMs;
  for (let attemptNo = 1; ; attemptNo++) {
    const remaining = deadline - performance.now();
    const signal = AbortSignal.timeout(Math.max(1, Math.floor(Math.min(policy.attemptTimeoutMs, remaining))));
    try {
      return await attempt(signal);
    } catch (err) {
      const verdict = options.classify(err);
      if (!verdict.retry) {
        throw err;
      }
      const backoff = policy.firstDelayMs * 2 ** (attemptNo - 1) * (0.8 + Math.random() * 0.4);
      const wanted = Math.max(backoff, verdict.retryAfterMs ?? 0);
      const left = deadline - performance.now() - SHORTEST_ATTEMPT_MS;
      if (left <= 0 || (verdict.retryAfterMs ?? 0) > left) {
        throw new RetryBudgetExhausted({ attempts: attemptNo, reason: verdict.reason, elapsedMs: performance.now() - started, lastError: err });
      }
      const delayMs = Math.min(wanted, left);
      options.onRetry?.({ attempt: attemptNo, reason: verdict.reason, delayMs: Math.round(delayMs) });
      await sleep(delayMs);
    }
  }
}

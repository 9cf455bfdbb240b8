import { OperationOutcomeError } from '@medplum/core';
import type { Logger } from 'pino';
import { statusOf } from '../outcomes';

export interface IntakeQueueOptions {
  readonly logger: Logger;
  /** Jobs in the run queue at most; beyond it jobs wait in the overflow, in order, until there is room. */
  readonly capacity?: number | undefined;
  /** Pause before each quick retry of a failed job; its length is the number of quick retries. */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** After the quick retries, a job that still fails for a passing reason is retried this often until it succeeds. */
  readonly slowRetryMs?: number | undefined;
}

export interface IntakeQueue {
  /**
   * Queues `job` under `key` unless a job with that key is already waiting (it will read the
   * latest stored version anyway). Never throws and never waits: called from the store's
   * commit listener, after the write is durable.
   */
  enqueue(key: string, job: () => Promise<unknown>): void;
  /**
   * Resolves once nothing is waiting, running or in its quick retries. Jobs parked for a
   * slow retry (the store has been failing for a while) do not hold it: they are counted
   * in `backlog`.
   */
  idle(): Promise<void>;
  /** Stops taking jobs, drops those waiting (logged; the catch-up at the next start finds them) and waits for the running one. */
  close(): Promise<void>;
  /** Jobs in the run queue and its overflow. */
  readonly waiting: number;
  /** Every job not yet done: waiting, running, or waiting for a retry (quick or slow). The waiting-responses gauge. */
  readonly backlog: number;
}

const DEFAULT_CAPACITY = 10_000;
const DEFAULT_RETRY_DELAYS_MS = [250, 1_000, 4_000];
const DEFAULT_SLOW_RETRY_MS = 60_000;

interface Job {
  readonly key: string;
  readonly run: () => Promise<unknown>;
  attempt: number;
}

/**
 * An in-process work queue that runs one job at a time. Intake runs outside the embedded
 * store's lock (each store call takes it for itself), and one at a time is all the store
 * can serve anyway: it serialises every request.
 *
 * No response is dropped for good while the process runs (issue 19: a flood used to fill
 * the queue, and the responses refused then stayed untriaged until a restart):
 * - past `capacity` a job waits in the overflow (a key and a closure each, de-duplicated
 *   by key) and moves into the run queue, in order, as room frees; the per-caller response
 *   limits (src/http/responseLimits.ts) bound how fast it can grow;
 * - a job that fails for a reason that may pass (the store unavailable, a conflict, a
 *   throttle) is retried quickly a few times, then parked and retried every
 *   `slowRetryMs` until it succeeds, with one error log when parked;
 * - only a failure that cannot pass (a 4xx such as the response deleted) ends a job
 *   untriaged, logged at error level.
 * Logs carry the key, the status and the attempts, never resource content. `backlog`
 * counts every job not done yet (the `hip_triage_intake_waiting_responses` gauge).
 */
export function createIntakeQueue(options: IntakeQueueOptions): IntakeQueue {
  const { logger } = options;
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const slowRetryMs = options.slowRetryMs ?? DEFAULT_SLOW_RETRY_MS;
  const waiting: Job[] = [];
  const overflow = new Map<string, Job>();
  const retries = new Set<NodeJS.Timeout>();
  const parked = new Set<NodeJS.Timeout>();
  let running: Promise<void> | undefined;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const settleIdle = (): void => {
    if (running === undefined && waiting.length === 0 && overflow.size === 0 && retries.size === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) {
        resolve();
      }
    }
  };

  const admit = (job: Job): void => {
    if (waiting.length < capacity && overflow.size === 0) {
      waiting.push(job);
    } else if (!overflow.has(job.key)) {
      if (overflow.size === 0) {
        logger.warn({ capacity }, 'intake queue full: responses wait in the overflow and are triaged in order as room frees');
      }
      overflow.set(job.key, job);
    }
  };

  const refill = (): void => {
    for (const [key, job] of overflow) {
      if (waiting.length >= capacity) {
        return;
      }
      overflow.delete(key);
      if (!waiting.some((j) => j.key === key)) {
        waiting.push(job);
      }
    }
  };

  const pump = (): void => {
    if (running !== undefined || closed) {
      return;
    }
    refill();
    const job = waiting.shift();
    if (!job) {
      settleIdle();
      return;
    }
    running = runJob(job).finally(() => {
      running = undefined;
      pump();
      settleIdle();
    });
  };

  const runJob = async (job: Job): Promise<void> => {
    job.attempt++;
    try {
      await job.run();
    } catch (err) {
      const status = err instanceof OperationOutcomeError ? statusOf(err.outcome) : 500;
      const retryable = status >= 500 || status === 409 || status === 412 || status === 429;
      if (retryable && !closed) {
        const quick = retryDelays[job.attempt - 1];
        if (quick !== undefined) {
          logger.warn({ job: job.key, attempt: job.attempt, status }, 'intake failed; retrying');
        } else if (job.attempt === retryDelays.length + 1) {
          logger.error(
            { job: job.key, attempts: job.attempt, status },
            `INTAKE DELAYED: the response is not triaged yet; retrying every ${Math.round(slowRetryMs / 1000)} s until it is`
          );
        }
        const timers = quick !== undefined ? retries : parked;
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!closed) {
            admit(job);
            pump();
          }
          settleIdle();
        }, quick ?? slowRetryMs);
        timers.add(timer);
        return;
      }
      logger.error(
        { job: job.key, attempts: job.attempt, status, error: err instanceof Error ? err.name : 'unknown' },
        'INTAKE FAILED: the response stays stored but untriaged; a Subscription ping or the catch-up at the next start retries it'
      );
    }
  };

  return {
    enqueue(key: string, run: () => Promise<unknown>): void {
      if (closed || waiting.some((j) => j.key === key) || overflow.has(key)) {
        return;
      }
      admit({ key, run, attempt: 0 });
      pump();
    },
    idle(): Promise<void> {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
    async close(): Promise<void> {
      closed = true;
      const dropped = waiting.length + overflow.size + retries.size + parked.size;
      for (const timer of [...retries, ...parked]) {
        clearTimeout(timer);
      }
      retries.clear();
      parked.clear();
      if (dropped > 0) {
        logger.warn({ dropped }, 'intake queue closed with jobs waiting; the catch-up at the next start picks them up');
        waiting.length = 0;
        overflow.clear();
      }
      await running;
      settleIdle();
    },
    get waiting(): number {
      return waiting.length + overflow.size;
    },
    get backlog(): number {
      return waiting.length + overflow.size + retries.size + parked.size + (running === undefined ? 0 : 1);
    },
  };
}

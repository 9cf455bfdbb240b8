import { OperationOutcomeError } from '@medplum/core';
import type { Logger } from 'pino';
import { statusOf } from '../http/sendOutcome';

export interface IntakeQueueOptions {
  readonly logger: Logger;
  /** Jobs waiting at most; beyond it a job is refused with an error log (see `enqueue`). */
  readonly capacity?: number | undefined;
  /** Pause before each retry of a failed job; its length is the number of retries. */
  readonly retryDelaysMs?: readonly number[] | undefined;
}

export interface IntakeQueue {
  /**
   * Queues `job` under `key` unless a job with that key is already waiting (it will read the
   * latest stored version anyway). Never throws and never waits: called from the store's
   * commit listener, after the write is durable.
   */
  enqueue(key: string, job: () => Promise<unknown>): void;
  /** Resolves once nothing is waiting, running or waiting to be retried. */
  idle(): Promise<void>;
  /** Stops taking jobs, drops those waiting (logged) and waits for the running one. */
  close(): Promise<void>;
  readonly waiting: number;
}

const DEFAULT_CAPACITY = 10_000;
const DEFAULT_RETRY_DELAYS_MS = [250, 1_000, 4_000];

interface Job {
  readonly key: string;
  readonly run: () => Promise<unknown>;
  attempt: number;
}

/**
 * A bounded in-process work queue that runs one job at a time. Intake runs outside the
 * embedded store's lock (each store call takes it for itself), and one at a time is all the
 * store can serve anyway: it serialises every request.
 *
 * A failed job is retried after a pause when the failure may pass (a store that was briefly
 * unavailable, a conflict with a concurrent change); one that keeps failing, or fails for
 * good, is logged at error level with its key, the status and the attempts, never with
 * resource content. The response stays stored: a Subscription ping or the catch-up at the
 * next start triages it.
 */
export function createIntakeQueue(options: IntakeQueueOptions): IntakeQueue {
  const { logger } = options;
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const waiting: Job[] = [];
  const retries = new Set<NodeJS.Timeout>();
  let running: Promise<void> | undefined;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const settleIdle = (): void => {
    if (running === undefined && waiting.length === 0 && retries.size === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) {
        resolve();
      }
    }
  };

  const pump = (): void => {
    if (running !== undefined || closed) {
      return;
    }
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
      const delay = retryDelays[job.attempt - 1];
      if (retryable && delay !== undefined && !closed) {
        logger.warn({ job: job.key, attempt: job.attempt, status }, 'intake failed; retrying');
        const timer = setTimeout(() => {
          retries.delete(timer);
          if (!closed) {
            waiting.push(job);
            pump();
          }
          settleIdle();
        }, delay);
        retries.add(timer);
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
      if (closed || waiting.some((j) => j.key === key)) {
        return;
      }
      if (waiting.length >= capacity) {
        logger.error({ job: key, capacity }, 'INTAKE QUEUE FULL: job refused; the catch-up at the next start retries it');
        return;
      }
      waiting.push({ key, run, attempt: 0 });
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
      for (const timer of retries) {
        clearTimeout(timer);
      }
      retries.clear();
      if (waiting.length > 0) {
        logger.warn({ dropped: waiting.length }, 'intake queue closed with jobs waiting; the catch-up at the next start picks them up');
        waiting.length = 0;
      }
      await running;
      settleIdle();
    },
    get waiting(): number {
      return waiting.length;
    },
  };
}

import { OperationOutcomeError } from '@medplum/core';
import type { Router } from 'express';
import { statusOf } from '../outcomes';
import type { EmbeddedStore } from '../fhir/embedded/embeddedStore';
import { createTriageRunner, type TriageServiceDeps } from '../service/createTriageHandler';
import { createIntakeQueue, type IntakeQueue } from './intakeQueue';
import { createResponseIntake, type IntakeOutcome, type ResponseIntake } from './responseIntake';
import { ResponseSweep } from './responseSweep';
import { subscriptionReceiver } from './subscriptionReceiver';
import type { WebhookAuthSettings } from './webhookAuth';

export interface IntakeOptions {
  /** The same dependencies `$triage` runs with: intake triages through the same application service. */
  readonly triage: TriageServiceDeps;
  /** Embedded mode: the store whose committed writes trigger intake. Undefined in remote mode. */
  readonly embedded: EmbeddedStore | undefined;
  readonly webhook: WebhookAuthSettings;
}

export interface Intake {
  /** The Subscription receiver, for createApp's `features`. */
  readonly router: Router;
  readonly responses: ResponseIntake;
  /** Resolves once every queued intake has run (tests; a drain before shutdown). */
  idle(): Promise<void>;
  /** Responses not triaged yet: queued, running or waiting for a retry (the waiting-responses gauge). */
  readonly backlog: number;
  close(): Promise<void>;
}

/**
 * Wires intake: the decision core over the FhirStore port, the Subscription receiver, and
 * in embedded mode the trigger on the store's committed writes plus a catch-up at start.
 *
 * The trigger runs after the write is durable and outside the store's lock: the listener
 * only queues the id; the queue's job reads the response and triages through the port,
 * each call taking the lock for itself (triaging inside the lock would deadlock).
 */
export function composeIntake(options: IntakeOptions): Intake {
  const { triage, embedded } = options;
  const logger = triage.logger;
  const responses = createResponseIntake({
    content: triage.content,
    store: triage.store,
    routing: triage.routing,
    runTriage: createTriageRunner(triage),
    clock: triage.clock,
    timeZone: triage.timeZone,
    logger,
  });
  const queue: IntakeQueue = createIntakeQueue({ logger });
  // A sweep can be long (the start-up catch-up after an outage): shutdown must not wait for all of it.
  const stopping = new AbortController();
  const sweep = new ResponseSweep({ store: triage.store, questionnaireUrl: triage.content.questionnaire.questionnaire.url ?? '', clock: triage.clock, logger });
  const logged = (id: string, outcome: IntakeOutcome): void => {
    if (outcome.action !== 'ignored' || outcome.reason !== 'other-questionnaire') {
      logger.info({ responseId: id, ...outcome }, 'intake');
    }
  };

  let unsubscribe: (() => void) | undefined;
  if (embedded) {
    unsubscribe = embedded.onCommitted((changes) => {
      for (const change of changes) {
        // Only responses: staff updating a Task, and the triage's own results, trigger nothing.
        if (change.op === 'put' && change.resourceType === 'QuestionnaireResponse') {
          const id = change.id;
          queue.enqueue(`QuestionnaireResponse/${id}`, async () => logged(id, await responses.admitStored(id)));
        }
      }
    });
    // A response committed just before a crash or a stop never reached the queue: look once.
    queue.enqueue('catch-up', async () => {
      const report = await sweep.sweep({
        deadline: Number.POSITIVE_INFINITY,
        signal: stopping.signal,
        // One response that fails must not leave every later one unlooked-at: it goes to the
        // queue as a job of its own, which retries it (quickly, then slowly) until it is triaged.
        visit: async (response) => {
          try {
            logged(response.id, await responses.admit(response));
          } catch (err) {
            const status = err instanceof OperationOutcomeError ? statusOf(err.outcome) : 500;
            logger.warn({ responseId: response.id, status }, 'intake failed during the start-up catch-up; queued for a retry');
            const id = response.id;
            queue.enqueue(`QuestionnaireResponse/${id}`, async () => logged(id, await responses.admitStored(id)));
          }
        },
      });
      if (report.visited > 0) {
        logger.info({ responses: report.visited }, 'intake catch-up at start-up done');
      }
    });
  }
  if (options.webhook.secret === undefined && options.webhook.allowInsecure) {
    logger.warn('Subscription receiver takes unauthenticated notifications (no WEBHOOK_SECRET, ALLOW_INSECURE=true)');
  }

  return {
    router: subscriptionReceiver({ intake: responses, sweep, queue, auth: options.webhook, logger, signal: stopping.signal }),
    responses,
    idle: () => queue.idle(),
    get backlog(): number {
      return queue.backlog;
    },
    async close(): Promise<void> {
      unsubscribe?.();
      stopping.abort();
      await queue.close();
    },
  };
}

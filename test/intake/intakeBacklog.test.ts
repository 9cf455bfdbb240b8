import request from 'supertest';
import { createIntakeQueue } from '../../src/intake/intakeQueue';
import { createLogger } from '../../src/logger';
import { createServiceMetrics } from '../../src/metrics';
import { refusedByServerError, serviceUnavailableError } from '../../src/outcomes';
import { LogCapture, startTestService } from '../support/testService';

/** The value of `hip_triage_intake_waiting_responses` in a scrape. */
function waitingResponses(scrape: string): number {
  const line = scrape.split('\n').find((l) => l.startsWith('hip_triage_intake_waiting_responses '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(condition()).toBe(true);
}

describe('a response whose intake the store refuses is retried until triaged, and counted meanwhile', () => {
  it('the waiting-responses gauge shows it while it waits, and drops when it is done', async () => {
    const metrics = createServiceMetrics();
    const queue = createIntakeQueue({ logger: createLogger('silent', new LogCapture()), retryDelaysMs: [1], slowRetryMs: 5 });
    metrics.watchIntakeBacklog(() => queue.backlog);
    expect(waitingResponses(await metrics.scrape())).toBe(0);

    // The store refuses: unavailable, then a conflict with a concurrent change, then takes it.
    const answers = [
      serviceUnavailableError('store unavailable'),
      refusedByServerError(409, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict' }] }),
      serviceUnavailableError('store unavailable'),
    ];
    let triaged = false;
    let storeDown = true;
    queue.enqueue('QuestionnaireResponse/refused-1', async () => {
      const refusal = answers.shift();
      if (refusal || storeDown) {
        throw refusal ?? serviceUnavailableError('store unavailable');
      }
      triaged = true;
    });
    await queue.idle(); // the quick retries are spent: parked now, not dropped
    expect(triaged).toBe(false);
    expect(waitingResponses(await metrics.scrape())).toBe(1);

    storeDown = false;
    await until(() => triaged);
    expect(waitingResponses(await metrics.scrape())).toBe(0);
    await queue.close();
  });
});

describe('the gauge in the running service', () => {
  it('is exposed on /metrics and is 0 once intake has caught up with a burst of responses', async () => {
    const service = await startTestService({ LOG_LEVEL: 'warn' });
    try {
      const entry = Array.from({ length: 20 }, (_, n) => ({
        resource: {
          resourceType: 'QuestionnaireResponse',
          status: 'completed',
          questionnaire: 'https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage|1.0.0',
          subject: { reference: `Patient/burst-${n}` },
        },
        request: { method: 'POST', url: 'QuestionnaireResponse' },
      }));
      await request(service.app)
        .post('/fhir')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }))
        .expect(200);
      await service.intake.idle();
      const scrape = (await request(service.app).get('/metrics').expect(200)).text;
      expect(scrape).toContain('# TYPE hip_triage_intake_waiting_responses gauge');
      expect(waitingResponses(scrape)).toBe(0);
      // Every response of the burst was met: each has its review Task.
      const reviews = await service.store.searchResources('Task', { _count: '100' });
      expect(reviews.filter((t) => t.resourceType === 'Task' && t.focus?.reference?.startsWith('QuestionnaireResponse/')).length).toBeGreaterThanOrEqual(20);
    } finally {
      await service.close();
    }
  });
});

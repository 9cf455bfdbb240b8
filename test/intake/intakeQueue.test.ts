import { createIntakeQueue } from '../../src/intake/intakeQueue';
import { createLogger } from '../../src/logger';
import { badRequestError, serviceUnavailableError } from '../../src/outcomes';
import { LogCapture } from '../support/testService';

function queueWithLogs() {
  const logs = new LogCapture();
  const queue = createIntakeQueue({ logger: createLogger('info', logs), retryDelaysMs: [5, 5] });
  const lines = () => logs.lines.map((line) => JSON.parse(line) as { level: number; msg: string; job?: string; attempts?: number; status?: number });
  return { queue, lines };
}

describe('the intake work queue', () => {
  it('runs jobs one at a time, in order, and idle() waits for all of them', async () => {
    const { queue } = queueWithLogs();
    const order: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    for (const name of ['a', 'b', 'c']) {
      queue.enqueue(name, async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(name);
        running--;
      });
    }
    await queue.idle();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(mostAtOnce).toBe(1);
    await queue.close();
  });

  it('queues a key once while it waits (the job reads the latest version anyway)', async () => {
    const { queue } = queueWithLogs();
    let runs = 0;
    let release: () => void = () => undefined;
    queue.enqueue('first', () => new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 3; i++) {
      queue.enqueue('QuestionnaireResponse/1', async () => {
        runs++;
      });
    }
    expect(queue.waiting).toBe(1);
    release();
    await queue.idle();
    expect(runs).toBe(1);
    await queue.close();
  });

  it('retries a job that failed for a passing reason, then gives up loudly with the key and status only', async () => {
    const { queue, lines } = queueWithLogs();
    let attempts = 0;
    queue.enqueue('QuestionnaireResponse/flaky', async () => {
      attempts++;
      if (attempts < 3) {
        throw serviceUnavailableError('store briefly unavailable');
      }
    });
    queue.enqueue('QuestionnaireResponse/down', async () => {
      throw serviceUnavailableError('store unavailable');
    });
    queue.enqueue('QuestionnaireResponse/refused', async () => {
      throw badRequestError([]);
    });
    await queue.idle();
    expect(attempts).toBe(3);
    const failures = lines().filter((l) => l.level >= 50);
    expect(failures.map((l) => [l.job, l.attempts, l.status])).toEqual([
      ['QuestionnaireResponse/refused', 1, 400],
      ['QuestionnaireResponse/down', 3, 503],
    ]);
    expect(failures[0]?.msg).toMatch(/^INTAKE FAILED: the response stays stored but untriaged/);
    await queue.close();
  });

  it('after close() takes nothing more', async () => {
    const { queue } = queueWithLogs();
    await queue.close();
    let ran = false;
    queue.enqueue('late', async () => {
      ran = true;
    });
    await queue.idle();
    expect(ran).toBe(false);
  });
});

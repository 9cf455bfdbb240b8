import { createIntakeQueue } from '../../src/intake/intakeQueue';
import { createLogger } from '../../src/logger';
import { badRequestError, serviceUnavailableError } from '../../src/outcomes';
import { LogCapture } from '../support/testService';

function queueWithLogs(capacity?: number) {
  const logs = new LogCapture();
  const queue = createIntakeQueue({ logger: createLogger('info', logs), retryDelaysMs: [5, 5], slowRetryMs: 10, capacity });
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

  it('retries a job that failed for a passing reason; one that keeps failing is parked and retried until it succeeds, never dropped', async () => {
    const { queue, lines } = queueWithLogs();
    let attempts = 0;
    queue.enqueue('QuestionnaireResponse/flaky', async () => {
      attempts++;
      if (attempts < 3) {
        throw serviceUnavailableError('store briefly unavailable');
      }
    });
    let storeBack = false;
    let downAttempts = 0;
    let downTriaged = false;
    queue.enqueue('QuestionnaireResponse/down', async () => {
      downAttempts++;
      if (!storeBack) {
        throw serviceUnavailableError('store unavailable');
      }
      downTriaged = true;
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
    expect(failures[1]?.msg).toMatch(/^INTAKE DELAYED: the response is not triaged yet; retrying/);
    // Parked, not dropped: still counted, and retried while the store is down (logged once).
    expect(queue.backlog).toBe(1);
    await until(() => downAttempts >= 5);
    expect(lines().filter((l) => l.level >= 50)).toHaveLength(2);
    storeBack = true;
    await until(() => queue.backlog === 0);
    expect(downTriaged).toBe(true);
    await queue.close();
  });

  it('past its capacity keeps every job in order in the overflow, counted in the backlog, and runs them all', async () => {
    const { queue, lines } = queueWithLogs(2);
    const ran: string[] = [];
    let release: () => void = () => undefined;
    queue.enqueue('first', () => new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 6; i++) {
      queue.enqueue(`QuestionnaireResponse/${i}`, async () => {
        ran.push(String(i));
      });
    }
    queue.enqueue('QuestionnaireResponse/3', async () => {
      ran.push('3 again');
    });
    expect(queue.waiting).toBe(6);
    expect(queue.backlog).toBe(7);
    release();
    await queue.idle();
    expect(ran).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(queue.backlog).toBe(0);
    expect(lines().filter((l) => l.level >= 50)).toEqual([]);
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

/** Polls a condition every few milliseconds, for at most two seconds. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(condition()).toBe(true);
}

import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../config';
import { findContentRoot } from '../contentRoot';
import { loadLineScoring } from './bulkScoring';
import { type BulkSummary, type LineBatch, scoreBatch } from './bulkTriage';
import { describeError } from './shippedContent';

/** What the main thread starts a worker with: the run's environment and its one clock reading. */
export interface BulkWorkerData {
  readonly env: NodeJS.ProcessEnv;
  readonly now: string;
}

/** From the main thread: a batch to score. To it: the scored batch, or why this worker cannot score at all. */
export type BulkWorkerReply =
  { readonly kind: 'scored'; readonly text: string; readonly summary: BulkSummary } | { readonly kind: 'failed'; readonly message: string };

/**
 * A scoring thread of `hip-triage triage` (bulkPool.ts starts it): loads the content once,
 * then answers each batch of raw lines with its result lines, in the order batches came.
 * A bad line is a result line (scoreBatch never throws for one); only a content that cannot
 * be loaded ends the worker, with a `failed` reply.
 */
function serve(): void {
  const port = parentPort;
  if (!port) {
    throw new Error('bulkWorker.ts runs as a worker thread (see bulkPool.ts).');
  }
  const data = workerData as BulkWorkerData;
  let scoring;
  try {
    const config = loadConfig({ ...data.env, HOST: '127.0.0.1' }, findContentRoot(__dirname));
    scoring = loadLineScoring(config, new Date(data.now)).scoring;
  } catch (err) {
    const reply: BulkWorkerReply = { kind: 'failed', message: describeError(err) };
    port.postMessage(reply);
    port.close();
    return;
  }
  const ready = scoring;
  port.on('message', (batch: LineBatch) => {
    const reply: BulkWorkerReply = { kind: 'scored', ...scoreBatch(batch, ready) };
    port.postMessage(reply);
  });
}

serve();

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { findContentRoot } from '../contentRoot';
import type { LineBatch, ScoredBatch } from './bulkTriage';
import type { BulkWorkerData, BulkWorkerReply } from './bulkWorker';

export interface BulkPoolOptions {
  /** How many worker threads score (at least 1). */
  readonly workers: number;
  /** The environment the run's configuration comes from (each worker loads the same content from it). */
  readonly env: NodeJS.ProcessEnv;
  /** The run's one clock reading, so every worker judges staleness and age alike. */
  readonly now: Date;
  /** Raw lines per message to a worker: large enough to amortise the messaging, small enough to keep memory flat. */
  readonly batchLines?: number | undefined;
  /** A batch is sent once its lines hold this many characters, however few they are (long lines keep memory flat too). */
  readonly batchChars?: number | undefined;
}

const DEFAULT_BATCH_LINES = 512;
const DEFAULT_BATCH_CHARS = 2_000_000;
/** Batches in flight per worker: one being scored, one queued behind it, so no worker waits on the main thread. */
const BATCHES_PER_WORKER = 2;
/**
 * Each worker's young generation, kept small: scoring allocates fast and V8 otherwise grows
 * every thread's semi-spaces to tens of MB, which is what made the peak RSS grow with
 * the worker count (2 workers over 20,000 lines: 550 MB by default, about 310 MB with 8).
 */
const YOUNG_GENERATION_MB = 8;

/**
 * Triages NDJSON lines on worker threads, yielding each batch's result lines in input order.
 * Constant memory: a batch is at most `batchLines` lines or `batchChars` characters (a
 * longer line alone), and at most `BATCHES_PER_WORKER × workers` batches are in flight (read,
 * scoring, or scored and waiting for an earlier one), and reading waits while they are.
 * A bad line is a result line like any other; a worker that cannot load the content, or
 * dies, fails the run (the generator throws) and the others are stopped.
 */
export async function* triageInWorkers(lines: AsyncIterable<string>, options: BulkPoolOptions): AsyncGenerator<ScoredBatch> {
  const batchLines = options.batchLines ?? DEFAULT_BATCH_LINES;
  const batchChars = options.batchChars ?? DEFAULT_BATCH_CHARS;
  const pool = new WorkerPool(options);
  try {
    const inFlight: Promise<ScoredBatch>[] = [];
    let batch: string[] = [];
    let chars = 0;
    let firstLine = 1;
    for await (const raw of lines) {
      batch.push(raw);
      chars += raw.length;
      if (batch.length < batchLines && chars < batchChars) {
        continue;
      }
      inFlight.push(pool.score({ firstLine, lines: batch }));
      firstLine += batch.length;
      batch = [];
      chars = 0;
      if (inFlight.length >= options.workers * BATCHES_PER_WORKER) {
        yield await (inFlight.shift() as Promise<ScoredBatch>);
      }
    }
    if (batch.length > 0) {
      inFlight.push(pool.score({ firstLine, lines: batch }));
    }
    while (inFlight.length > 0) {
      yield await (inFlight.shift() as Promise<ScoredBatch>);
    }
  } finally {
    await pool.close();
  }
}

interface Waiting {
  readonly resolve: (batch: ScoredBatch) => void;
  readonly reject: (err: Error) => void;
}

/** Worker threads, each answering its batches in the order it got them (a FIFO of waiting callers per worker). */
class WorkerPool {
  private readonly slots: { readonly worker: Worker; readonly waiting: Waiting[] }[] = [];
  private failure: Error | undefined;

  constructor(options: BulkPoolOptions) {
    const entry = workerEntry();
    const workerData: BulkWorkerData = { env: options.env, now: options.now.toISOString() };
    for (let i = 0; i < Math.max(1, options.workers); i++) {
      const slot = {
        worker: new Worker(entry.filename, { workerData, execArgv: entry.execArgv, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } }),
        waiting: [] as Waiting[],
      };
      slot.worker.on('message', (reply: BulkWorkerReply) => {
        if (reply.kind === 'failed') {
          this.fail(new Error(reply.message));
          return;
        }
        slot.waiting.shift()?.resolve({ text: reply.text, summary: reply.summary });
      });
      slot.worker.on('error', (err) => this.fail(err));
      slot.worker.on('exit', (code) => {
        if (slot.waiting.length > 0) {
          this.fail(new Error(`a scoring worker stopped (exit code ${code}) with ${slot.waiting.length} batch(es) unscored`));
        }
      });
      this.slots.push(slot);
    }
  }

  /** Hands the batch to the worker with the fewest batches waiting. */
  score(batch: LineBatch): Promise<ScoredBatch> {
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    const slot = this.slots.reduce((least, s) => (s.waiting.length < least.waiting.length ? s : least));
    const scored = new Promise<ScoredBatch>((resolve, reject) => slot.waiting.push({ resolve, reject }));
    // A failure rejects batches nobody awaits yet; the caller sees it when it reaches them.
    scored.catch(() => undefined);
    slot.worker.postMessage(batch);
    return scored;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const slot of this.slots) {
      for (const waiting of slot.waiting.splice(0)) {
        waiting.reject(this.failure);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}

/**
 * The worker's entry beside this module: the compiled bulkWorker.js in dist/ (how the CLI
 * runs). Run from the TypeScript sources (jest, ts tooling) there is no .js beside it, so
 * the worker loads bulkWorker.ts through the repository's own require hook, as the tests'
 * child processes do.
 */
function workerEntry(): { filename: string; execArgv: string[] } {
  const compiled = join(__dirname, 'bulkWorker.js');
  if (existsSync(compiled)) {
    return { filename: compiled, execArgv: [] };
  }
  const hook = join(findContentRoot(__dirname), 'test', 'support', 'registerTs.js');
  return { filename: join(__dirname, 'bulkWorker.ts'), execArgv: ['-r', hook] };
}

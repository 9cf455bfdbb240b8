import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config';
import { loadRouting, openStore, StartupError } from '../composeService';
import { findContentRoot } from '../contentRoot';
import type { FhirStore } from '../fhir/fhirStore';
import { createTriageRunner } from '../service/createTriageHandler';
import { triageInWorkers } from './bulkPool';
import { loadLineScoring } from './bulkScoring';
import { type BulkResult, type BulkSummary, bulkTriage, EMPTY_SUMMARY, mergeSummaries, type ScoredBatch, tally } from './bulkTriage';
import type { CliCommand, CliIo } from './cliCommand';
import { createProgressLine } from './progressLine';
import { describeError } from './shippedContent';

interface TriageCommandOptions {
  persist?: boolean;
  out?: string;
  concurrency: string;
  workers: string;
}

/**
 * `hip-triage triage <file.json|file.ndjson|->`: scores one response or a Bulk Data NDJSON
 * stream and writes one NDJSON result line per input (`{id, disposition, rules}` or
 * `{id, outcome}`). With `--persist` each result is written back through the same port as
 * `$triage` (FHIR_BASE_URL, or the embedded store under DATA_DIR when no server holds it).
 * Exit 0 when the run completed (invalid lines are results), 1 when it could not run,
 * 2 for bad arguments or an unreadable input.
 */
export const triageCommand: CliCommand = (program, io, run) => {
  program
    .command('triage')
    .description('triage one response (JSON) or a stream of them (NDJSON, one per line; - for stdin) and print one NDJSON result per input')
    .argument('<input>', 'file.json, file.ndjson, or - for standard input')
    .option('--persist', 'write the results back (FHIR_BASE_URL, or the embedded store under DATA_DIR)')
    .option('--out <file>', 'write the NDJSON results to a file instead of standard output')
    .option('--concurrency <n>', 'write-backs in flight at once with --persist', '8')
    .option(
      '--workers <n>',
      'worker threads scoring an NDJSON stream (0: score on the main thread; --persist always does)',
      String(defaultWorkers(availableParallelism()))
    )
    .action(async (input: string, options: TriageCommandOptions) => {
      run.exitCode = await runTriageCommand(input, options, io);
    });
};

/**
 * One core is left to the main thread, which reads, splits and writes; below three cores the
 * main thread scores itself. Measured on 2 cores (100,000 responses, load 2–4): the main
 * thread alone 6.9 s and 189 MB; one worker 7.0 s and 342 MB; two workers 8.5 s and 420 MB
 * (each worker holds its own FHIR definitions and content, about 150 MB), so a worker there
 * costs memory and buys nothing.
 */
export function defaultWorkers(cores: number): number {
  return cores >= 3 ? cores - 1 : 0;
}

async function runTriageCommand(input: string, options: TriageCommandOptions, io: CliIo): Promise<number> {
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    io.stderr(`triage: --concurrency must be a whole number from 1 to 64 (got '${options.concurrency}')\n`);
    return 2;
  }
  const workers = Number(options.workers);
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    io.stderr(`triage: --workers must be a whole number from 0 to 64 (got '${options.workers}')\n`);
    return 2;
  }
  let source: { stream: Readable; totalBytes: number | undefined; singleJson: boolean };
  try {
    source = openInput(input, io);
  } catch (err) {
    io.stderr(`triage: ${input} cannot be read: ${describeError(err)}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig({ ...io.env, HOST: '127.0.0.1' }, findContentRoot(__dirname));
  } catch (err) {
    io.stderr(`triage: ${err instanceof ConfigError ? err.message : describeError(err)}\n`);
    return 2;
  }
  const logger = pino({ level: 'warn' }, pino.destination(2));
  let store: FhirStore | undefined;
  try {
    const now = new Date();
    const pooled = workers > 0 && !options.persist;
    // Pooled, the main thread only reads and writes: each worker loads the content itself.
    const loaded = pooled ? undefined : loadLineScoring(config, now);
    let persist: Parameters<typeof bulkTriage>[1]['persist'];
    if (options.persist && loaded) {
      store = (await openStore(config, logger, loaded.resources)).store;
      const runTriage = createTriageRunner({
        content: loaded.scoring.content,
        checkStructure: loaded.scoring.checkStructure,
        store,
        routing: loadRouting(config),
        clock: () => new Date(),
        timeZone: config.timeZone,
        logger,
      });
      persist = (response: QuestionnaireResponse, stale) => runTriage({ response, persist: true, responseAlreadyStored: false, stale });
    }
    const out = options.out ? createWriteStream(options.out) : undefined;
    const started = Date.now();
    const progress =
      process.stderr.isTTY && (out !== undefined || !process.stdout.isTTY)
        ? createProgressLine({ write: io.stderr, totalBytes: source.totalBytes, startedAt: started, now: Date.now })
        : undefined;
    let bytesRead = 0;
    const lines = countingLines(source, (n) => {
      bytesRead += n;
    });
    const batches = loaded ? inProcess(bulkTriage(lines, { ...loaded.scoring, persist, concurrency })) : triageInWorkers(lines, { workers, env: io.env, now });
    let summary: BulkSummary = EMPTY_SUMMARY;
    for await (const batch of batches) {
      summary = mergeSummaries(summary, batch.summary);
      await writeLine(out, io, batch.text);
      progress?.update(summary.total, bytesRead);
    }
    progress?.finish();
    if (out) {
      out.end();
      await once(out, 'finish');
    }
    io.stderr(`${describeSummary(summary, Date.now() - started)}\n`);
    return 0;
  } catch (err) {
    io.stderr(`triage failed: ${err instanceof StartupError ? err.message : describeError(err)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

/** The in-process results as one-line batches, the shape the worker threads answer in. */
async function* inProcess(results: AsyncIterable<BulkResult>): AsyncGenerator<ScoredBatch> {
  for await (const result of results) {
    yield { text: `${JSON.stringify(result)}\n`, summary: tally(EMPTY_SUMMARY, result) };
  }
}

function openInput(input: string, io: CliIo): { stream: Readable; totalBytes: number | undefined; singleJson: boolean } {
  if (input === '-') {
    void io;
    return { stream: process.stdin, totalBytes: undefined, singleJson: false };
  }
  const size = statSync(input).size;
  return { stream: createReadStream(input), totalBytes: size, singleJson: input.endsWith('.json') };
}

/**
 * The input as lines. A `.json` file holds one (possibly pretty-printed) response, so it
 * is read whole and yielded as one line; NDJSON is streamed line by line.
 */
async function* countingLines(source: { stream: Readable; singleJson: boolean }, onBytes: (n: number) => void): AsyncGenerator<string> {
  if (source.singleJson) {
    let text = '';
    for await (const chunk of source.stream) {
      text += String(chunk);
    }
    onBytes(text.length);
    yield text.replace(/\r?\n/g, ' ');
    return;
  }
  const reader = createInterface({ input: source.stream, crlfDelay: Infinity });
  for await (const line of reader) {
    onBytes(line.length + 1);
    yield line;
  }
}

async function writeLine(out: Writable | undefined, io: CliIo, text: string): Promise<void> {
  const stream = out ?? io.stdoutStream;
  if (!stream) {
    io.stdout(text);
    return;
  }
  if (!stream.write(text)) {
    await once(stream, 'drain');
  }
}

function describeSummary(summary: BulkSummary, elapsedMs: number): string {
  const order = ['emergency', 'urgent', 'gp', 'physio', 'self-care'];
  const counts = order.map((code) => `${code} ${summary.byDisposition[code] ?? 0}`).join(', ');
  const rate = Math.round(summary.total / Math.max(elapsedMs / 1000, 0.001));
  return `triaged ${summary.total} responses in ${(elapsedMs / 1000).toFixed(1)} s (${rate}/s): ${counts}; invalid ${summary.invalid}; stale ${summary.stale}`;
}

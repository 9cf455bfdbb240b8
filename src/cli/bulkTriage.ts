import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { StructureCheck } from '../fhir/structure';
import { extractResponse } from '../service/extractResponse';
import { invalidIssues, type TriageRun } from '../service/createTriageHandler';
import { assessResponse } from '../triage/scoreResponse';
import type { TriageContent } from '../triage/triageContent';

/** Responses authored longer ago than this are stale when re-triaged in bulk. */
export const STALE_AFTER_DAYS = 28;

/**
 * One NDJSON output line per input line. An invalid response's line carries, beside its
 * outcome, the red-flag disposition and rules its answers show (`redFlag`), so a reader
 * of the result lines sees the emergency without parsing the OperationOutcome.
 */
export type BulkResult =
  | { readonly line: number; readonly id: string | null; readonly disposition: string; readonly rules: readonly string[]; readonly stale?: true }
  | {
      readonly line: number;
      readonly id: string | null;
      readonly outcome: OperationOutcome;
      readonly redFlag?: { readonly disposition: string; readonly rules: readonly string[] };
      readonly stale?: true;
    };

export interface BulkTriageOptions {
  readonly content: TriageContent;
  readonly checkStructure: StructureCheck;
  readonly now: Date;
  readonly timeZone: string;
  /** Set with `--persist`: writes back through the port (the same runner as `$triage`). */
  readonly persist?: ((response: QuestionnaireResponse, stale: { authored: Date } | undefined) => Promise<TriageRun>) | undefined;
  /** How many write-backs may be in flight at once. */
  readonly concurrency: number;
}

export interface BulkSummary {
  readonly total: number;
  readonly invalid: number;
  readonly stale: number;
  readonly byDisposition: Readonly<Record<string, number>>;
}

/**
 * Triages a stream of NDJSON lines (one QuestionnaireResponse each), yielding one result
 * per line, in input order, in constant memory: at most `concurrency` lines are in
 * flight. A bad line gives an OperationOutcome line and never stops the run.
 */
export async function* bulkTriage(lines: AsyncIterable<string>, options: BulkTriageOptions): AsyncGenerator<BulkResult> {
  const inFlight: Promise<BulkResult>[] = [];
  let lineNumber = 0;
  for await (const raw of lines) {
    lineNumber++;
    if (raw.trim() === '') {
      continue;
    }
    inFlight.push(triageLine(raw, lineNumber, options));
    if (inFlight.length >= Math.max(1, options.concurrency)) {
      yield await (inFlight.shift() as Promise<BulkResult>);
    }
  }
  while (inFlight.length > 0) {
    yield await (inFlight.shift() as Promise<BulkResult>);
  }
}

async function triageLine(raw: string, line: number, options: BulkTriageOptions): Promise<BulkResult> {
  const persist = options.persist;
  if (!persist) {
    return scoreLine(raw, line, options);
  }
  return judgeLine({ raw, line, now: options.now }, async (response, responseId, stale) => {
    try {
      const run = await persist(response, stale);
      return { line, id: responseId, disposition: run.result.disposition.code, rules: run.result.firedRules.map((r) => r.id) };
    } catch (err) {
      if (err instanceof OperationOutcomeError) {
        return { line, id: responseId, ...invalidLine(err.outcome) };
      }
      throw err;
    }
  });
}

/** What scoring one line needs, without writing anything back: all a worker thread holds. */
export type LineScoring = Pick<BulkTriageOptions, 'content' | 'checkStructure' | 'now' | 'timeZone'>;

/** One line scored without write-back (synchronous: the in-process path and the worker threads share it). */
export function scoreLine(raw: string, line: number, options: LineScoring): BulkResult {
  return judgeLine({ raw, line, now: options.now }, (response, responseId) => {
    // Red flags first, whatever the structure check finds: the same judgement as `$triage`.
    const outcome = assessResponse({
      content: options.content,
      body: response,
      checkStructure: options.checkStructure,
      now: options.now,
      timeZone: options.timeZone,
    });
    if (!outcome.valid) {
      return { line, id: responseId, ...invalidLine({ resourceType: 'OperationOutcome', issue: invalidIssues(options.content, outcome) }) };
    }
    return { line, id: responseId, disposition: outcome.result.disposition.code, rules: outcome.result.firedRules.map((r) => r.id) };
  });
}

/**
 * Parses and unwraps one line and hands the response to `judge`, adding the stale flag to
 * what it returns; a line that is not JSON, not a response, or makes `judge` throw (or
 * reject) becomes an outcome line. Synchronous when `judge` is.
 */
function judgeLine<R extends BulkResult | Promise<BulkResult>>(
  { raw, line, now }: { raw: string; line: number; now: Date },
  judge: (response: QuestionnaireResponse, responseId: string | null, stale: { authored: Date } | undefined) => R
): R | BulkResult {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { line, id: null, outcome: outcomeOf('structure', `Line ${line} is not JSON.`) };
  }
  const id = typeof (body as { id?: unknown })?.id === 'string' ? (body as { id: string }).id : null;
  const failed = (err: unknown): BulkResult => {
    if (err instanceof OperationOutcomeError) {
      return { line, id, outcome: err.outcome };
    }
    return { line, id, outcome: outcomeOf('exception', err instanceof Error ? err.message : 'The line could not be triaged.') };
  };
  try {
    const { response } = extractResponse(body);
    const responseId = typeof (response as { id?: unknown }).id === 'string' ? (response as { id: string }).id : id;
    const qr = response as QuestionnaireResponse;
    const stale = staleSince(qr, now);
    const flagged = (result: BulkResult): BulkResult => (stale ? { ...result, stale: true } : result);
    const judged = judge(qr, responseId, stale);
    return (judged instanceof Promise ? judged.then(flagged, failed) : flagged(judged)) as R;
  } catch (err) {
    return failed(err);
  }
}

/** The outcome, with the red flag its leading `information` issue carries (invalidIssues puts it first). */
function invalidLine(outcome: OperationOutcome): { outcome: OperationOutcome; redFlag?: { disposition: string; rules: string[] } } {
  const first = outcome.issue?.[0];
  const match = first?.severity === 'information' ? /^disposition=([a-z-]+); rules=([A-Z0-9,]*)$/.exec(first.diagnostics ?? '') : null;
  if (!match?.[1]) {
    return { outcome };
  }
  return { outcome, redFlag: { disposition: match[1], rules: (match[2] ?? '').split(',').filter((r) => r !== '') } };
}

/** When the response was authored, if that is more than STALE_AFTER_DAYS before `now`. */
function staleSince(response: QuestionnaireResponse, now: Date): { authored: Date } | undefined {
  const authored = response.authored ? new Date(response.authored) : undefined;
  if (!authored || Number.isNaN(authored.getTime())) {
    return undefined;
  }
  return now.getTime() - authored.getTime() > STALE_AFTER_DAYS * 86_400_000 ? { authored } : undefined;
}

function outcomeOf(code: 'structure' | 'exception', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

/** Adds one result to the running summary. */
export function tally(summary: BulkSummary, result: BulkResult): BulkSummary {
  const byDisposition = { ...summary.byDisposition };
  if ('disposition' in result) {
    byDisposition[result.disposition] = (byDisposition[result.disposition] ?? 0) + 1;
  }
  return {
    total: summary.total + 1,
    invalid: summary.invalid + ('outcome' in result ? 1 : 0),
    stale: summary.stale + (result.stale ? 1 : 0),
    byDisposition,
  };
}

/** Two running summaries as one (a worker thread's batch added to the run's). */
export function mergeSummaries(a: BulkSummary, b: BulkSummary): BulkSummary {
  const byDisposition = { ...a.byDisposition };
  for (const [code, count] of Object.entries(b.byDisposition)) {
    byDisposition[code] = (byDisposition[code] ?? 0) + count;
  }
  return { total: a.total + b.total, invalid: a.invalid + b.invalid, stale: a.stale + b.stale, byDisposition };
}

/** Consecutive input lines, the first numbered `firstLine`: what the main thread hands a worker. */
export interface LineBatch {
  readonly firstLine: number;
  readonly lines: readonly string[];
}

/** A batch's result lines as NDJSON text (one per non-blank input line, in order), and their summary. */
export interface ScoredBatch {
  readonly text: string;
  readonly summary: BulkSummary;
}

/** Scores a batch as bulkTriage scores each line without `--persist` (blank lines skipped, still counted). */
export function scoreBatch(batch: LineBatch, scoring: LineScoring): ScoredBatch {
  let text = '';
  let summary = EMPTY_SUMMARY;
  batch.lines.forEach((raw, i) => {
    if (raw.trim() === '') {
      return;
    }
    const result = scoreLine(raw, batch.firstLine + i, scoring);
    summary = tally(summary, result);
    text += `${JSON.stringify(result)}\n`;
  });
  return { text, summary };
}

export const EMPTY_SUMMARY: BulkSummary = { total: 0, invalid: 0, stale: 0, byDisposition: {} };

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { triageInWorkers } from '../../src/cli/bulkPool';
import { loadLineScoring } from '../../src/cli/bulkScoring';
import { EMPTY_SUMMARY, mergeSummaries, scoreBatch, type ScoredBatch } from '../../src/cli/bulkTriage';
import { ROOT } from '../support/responses';
import { LINE_KINDS, mixedLines, parseResults } from './bulkLines';
import { hipTriage } from './runCommand';

/**
 * `hip-triage triage` on worker threads against the main-thread path (`--workers 0`): the
 * same result lines, byte for byte and in input order, whatever the lines hold.
 */
const dir = mkdtempSync(join(tmpdir(), 'hip-cli-bulk-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The summary line without its timing (`in 1.2 s (1000/s)`), which differs run to run. */
function summaryOf(stderr: string): string {
  return stderr.replace(/ in [0-9.]+ s \(\d+\/s\)/, '');
}

function writeLines(name: string, lines: readonly string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function collect(batches: AsyncIterable<ScoredBatch>): Promise<ScoredBatch> {
  let text = '';
  let summary = EMPTY_SUMMARY;
  for await (const batch of batches) {
    text += batch.text;
    summary = mergeSummaries(summary, batch.summary);
  }
  return { text, summary };
}

async function* fromArray(lines: readonly string[]): AsyncGenerator<string> {
  yield* lines;
}

describe('hip-triage triage --workers', () => {
  // More than two batches of 512, so both workers answer and their answers interleave.
  const lines = mixedLines(1_300);
  const file = writeLines('mixed.ndjson', lines);

  it('with 2 workers writes, line for line, what the main thread writes (--workers 0), and the same summary', async () => {
    const [inProcess, pooled] = [await hipTriage(['triage', file, '--workers', '0']), await hipTriage(['triage', file, '--workers', '2'])];
    expect([inProcess.exitCode, pooled.exitCode]).toEqual([0, 0]);
    const expected = inProcess.stdout.split('\n');
    const actual = pooled.stdout.split('\n');
    expect(actual).toHaveLength(expected.length);
    actual.forEach((line, i) => expect({ i, line }).toEqual({ i, line: expected[i] }));
    expect(summaryOf(pooled.stderr)).toBe(summaryOf(inProcess.stderr));
  }, 120_000);

  it('answers in input order: one result per non-blank line, numbered as the input, every kind of line present', async () => {
    const results = parseResults((await hipTriage(['triage', file, '--workers', '2'])).stdout);
    const nonBlank = lines.flatMap((l, i) => (l === '' ? [] : [i + 1]));
    expect(results.map((r) => r.line)).toEqual(nonBlank);
    // Each kind's lines are recognisable in the output at their own line numbers.
    const byLine = new Map(results.map((r) => [r.line as number, r]));
    lines.forEach((raw, i) => {
      if (raw.startsWith('{not json')) {
        expect(byLine.get(i + 1)).toMatchObject({ id: null, outcome: { resourceType: 'OperationOutcome' } });
      } else if (raw !== '') {
        const body = JSON.parse(raw) as { id?: string; parameter?: { resource?: { id?: string } }[] };
        expect({ line: i + 1, id: byLine.get(i + 1)?.id }).toEqual({ line: i + 1, id: body.id ?? body.parameter?.[0]?.resource?.id ?? null });
      }
    });
    expect(results.some((r) => r.redFlag !== undefined)).toBe(true);
    expect(results.some((r) => r.stale === true)).toBe(true);
  }, 120_000);

  it('a bad line in the middle is its own outcome line; the lines around it are scored (1 worker, too)', async () => {
    const good = (i: number) => (LINE_KINDS.golden as (i: number) => string)(i);
    const middle = writeLines('bad-middle.ndjson', [good(0), good(1), '{"resourceType": "QuestionnaireResponse", ', good(2), good(3)]);
    for (const workers of ['1', '2']) {
      const run = await hipTriage(['triage', middle, '--workers', workers]);
      expect(run.exitCode).toBe(0);
      const results = parseResults(run.stdout);
      expect(results.map((r) => [r.line, 'disposition' in r ? 'scored' : 'outcome'])).toEqual([
        [1, 'scored'],
        [2, 'scored'],
        [3, 'outcome'],
        [4, 'scored'],
        [5, 'scored'],
      ]);
      expect(run.stderr).toMatch(/triaged 5 responses .*invalid 1;/);
    }
  }, 120_000);

  it('tiny batches over three workers give what one batch on this thread gives (order kept however batches finish)', async () => {
    const config = loadConfig({ HOST: '127.0.0.1' }, ROOT);
    const now = new Date();
    const reference = scoreBatch({ firstLine: 1, lines }, loadLineScoring(config, now).scoring);
    const pooled = await collect(triageInWorkers(fromArray(lines), { workers: 3, env: {}, now, batchLines: 7 }));
    expect(pooled.text.split('\n')).toEqual(reference.text.split('\n'));
    expect(pooled.summary).toEqual(reference.summary);
    // Batches closed by size rather than count: one line each.
    const byChars = await collect(triageInWorkers(fromArray(lines.slice(0, 50)), { workers: 2, env: {}, now, batchChars: 1 }));
    expect(byChars.text).toBe(scoreBatch({ firstLine: 1, lines: lines.slice(0, 50) }, loadLineScoring(config, now).scoring).text);
  }, 120_000);

  it('a ruleset the workers cannot load fails the run (exit 1) with the message the main thread gives', async () => {
    const ruleset = join(dir, 'not-a-ruleset.json');
    writeFileSync(ruleset, JSON.stringify({ resourceType: 'PlanDefinition', status: 'active' }));
    const [inProcess, pooled] = [
      await hipTriage(['triage', file, '--workers', '0'], { RULESET_FILE: ruleset }),
      await hipTriage(['triage', file, '--workers', '2'], { RULESET_FILE: ruleset }),
    ];
    expect([inProcess.exitCode, pooled.exitCode]).toEqual([1, 1]);
    expect(pooled.stderr).toMatch(/^triage failed: RULESET_FILE .*not-a-ruleset\.json/);
    expect(pooled.stderr).toBe(inProcess.stderr);
    expect(pooled.stdout).toBe('');
  }, 120_000);

  it.each(['-1', '65', '1.5', 'many'])('--workers %s is refused (exit 2)', async (workers) => {
    const run = await hipTriage(['triage', file, '--workers', workers]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--workers must be a whole number from 0 to 64');
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RiskAssessment, Task } from '@medplum/fhirtypes';
import pino from 'pino';
import { openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { answersWith, buildResponse, ROOT } from '../support/responses';
import { runSize } from '../support/testTier';
import { caseIds, readCase } from '../clinical/goldenCases';
import { hipTriage } from './runCommand';

const dir = mkdtempSync(join(tmpdir(), 'hip-cli-triage-'));
const FIXTURE_DIR = join(ROOT, 'test/fixtures/rules');
/** Each golden case and the disposition its expectation file gives it. */
const fixtures = caseIds().map((id) => {
  const { response, expected } = readCase(id);
  return { rule: id, expected: expected.disposition, response };
});

const INVALID_LINES = ['{not json', JSON.stringify({ resourceType: 'Patient' }), JSON.stringify(buildResponse(answersWith({ 'pain-score': undefined })))];

function parseLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('hip-triage triage', () => {
  // 10,000 lines in the full tier (npm run test:all), 1,000 in the fast loop.
  const LINES = runSize(10_000, 1_000);
  const INVALID = Math.ceil(LINES / 97);

  it(`scores ${LINES} NDJSON lines (invalid ones included) into ${LINES} result lines with the right dispositions`, async () => {
    const expected: (string | null)[] = [];
    const lines: string[] = [];
    for (let i = 0; i < LINES; i++) {
      if (i % 97 === 0) {
        lines.push(INVALID_LINES[i % INVALID_LINES.length] as string);
        expected.push(null);
      } else {
        const fixture = fixtures[i % fixtures.length] as (typeof fixtures)[number];
        lines.push(JSON.stringify({ ...fixture.response, id: `r${i}` }));
        expected.push(fixture.expected);
      }
    }
    const file = join(dir, 'waiting-list.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await hipTriage(['triage', file]);
    expect(run.exitCode).toBe(0);
    const results = parseLines(run.stdout);
    expect(results).toHaveLength(LINES);
    results.forEach((result, i) => {
      expect(result.line).toBe(i + 1);
      if (expected[i] === null) {
        expect((result.outcome as { resourceType: string }).resourceType).toBe('OperationOutcome');
      } else {
        expect({ i, disposition: result.disposition }).toEqual({ i, disposition: expected[i] });
        expect(result.id).toBe(`r${i}`);
      }
    });
    expect(run.stderr).toMatch(new RegExp(`triaged ${LINES} responses`));
    expect(run.stderr).toMatch(new RegExp(`invalid ${INVALID}\\b`));
  }, 180_000);

  it('keeps the red-flag advice in the outcome of an invalid line', async () => {
    const file = join(dir, 'red-flag.ndjson');
    writeFileSync(file, `${JSON.stringify(buildResponse(answersWith({ 'pain-score': undefined, 'saddle-numbness': true })))}\n`);
    const [result] = parseLines((await hipTriage(['triage', file])).stdout);
    const issues = (result?.outcome as { issue: { severity: string; details?: { coding?: { code: string }[] } }[] }).issue;
    expect(issues[0]?.severity).toBe('information');
    expect(issues[0]?.details?.coding?.[0]?.code).toBe('emergency');
  });

  it('reads one pretty-printed .json response', async () => {
    const run = await hipTriage(['triage', join(FIXTURE_DIR, 'E1.qr.json')]);
    expect(parseLines(run.stdout)).toEqual([expect.objectContaining({ id: 'rule-e1', disposition: 'emergency', rules: ['E1'] })]);
  });

  it('flags a response authored more than 28 days ago as stale', async () => {
    const file = join(dir, 'stale.ndjson');
    const old = { ...(fixtures[0] as (typeof fixtures)[number]).response, authored: '2020-01-01T10:00:00Z' };
    const fresh = { ...(fixtures[0] as (typeof fixtures)[number]).response, authored: new Date().toISOString() };
    writeFileSync(file, `${JSON.stringify(old)}\n${JSON.stringify(fresh)}\n`);
    const run = await hipTriage(['triage', file]);
    const [first, second] = parseLines(run.stdout);
    expect(first?.stale).toBe(true);
    expect(second?.stale).toBeUndefined();
    expect(run.stderr).toMatch(/stale 1/);
  });

  it('--persist twice into the embedded store writes once; a stale response gets a review Task instead of routing', async () => {
    const dataDir = join(dir, 'data');
    const file = join(dir, 'persist.ndjson');
    const stale = {
      ...buildResponse(answersWith({ 'fall-or-injury': true }), { subject: { reference: 'Patient/stale-one' } }),
      authored: '2020-01-01T10:00:00Z',
    };
    const body = fixtures.slice(0, 12).map((f) => JSON.stringify(f.response));
    writeFileSync(file, `${[...body, JSON.stringify(stale)].join('\n')}\n`);
    const first = await hipTriage(['triage', '--persist', file], { DATA_DIR: dataDir });
    expect(first.exitCode).toBe(0);
    const second = await hipTriage(['triage', '--persist', file], { DATA_DIR: dataDir });
    expect(second.exitCode).toBe(0);
    expect(parseLines(second.stdout).map((r) => r.disposition)).toEqual(parseLines(first.stdout).map((r) => r.disposition));

    const store = await openEmbeddedStore({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const risks = await store.searchResources<RiskAssessment>('RiskAssessment', { _count: '1000' });
      expect(risks).toHaveLength(13);
      const staleTasks = await store.searchResources<Task>('Task', { subject: 'Patient/stale-one', _count: '100' });
      expect(staleTasks.map((t) => t.code?.coding?.[0]?.code)).toEqual(['review-stale-triage']);
    } finally {
      await store.close();
    }
  });

  it('refuses a DATA_DIR a running server holds, saying so (exit 1)', async () => {
    const dataDir = join(dir, 'held');
    const store = await openEmbeddedStore({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const run = await hipTriage(['triage', '--persist', join(FIXTURE_DIR, 'S1.qr.json')], { DATA_DIR: dataDir });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/held|lock|in use/i);
    } finally {
      await store.close();
    }
  });

  it('an unreadable input is exit 2', async () => {
    expect((await hipTriage(['triage', join(dir, 'missing.ndjson')])).exitCode).toBe(2);
  });
});

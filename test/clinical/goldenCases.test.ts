import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { hipTriage } from '../cli/runCommand';
import { startTestService } from '../support/testService';
import { answerOutcome, caseIds, CASES_NOW, coreOutcome, readCase } from './goldenCases';

/**
 * The golden clinical cases, one table read by three paths: the pure core, `$triage` over
 * HTTP, and `hip-triage triage`. Each case's expectation is a file beside its response
 * (test/fixtures/rules/<id>.expected.json), reviewed as clinical content.
 */
const cases = caseIds().map(readCase);

let service: Service;
const dir = mkdtempSync(join(tmpdir(), 'hip-golden-'));
beforeAll(async () => {
  service = await startTestService({ RESPONSE_LIMIT_PER_MINUTE: '0' }, () => CASES_NOW);
});
afterAll(async () => {
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('golden clinical cases', () => {
  it('covers every E and U rule, the GP, physio and self-care rules, and safeguarding', () => {
    const fired = new Set(cases.flatMap((c) => c.expected.rules));
    for (const rule of [
      'E1',
      'E2',
      'E3',
      'E4',
      'E5',
      'E6',
      'E7',
      'E8',
      'U1',
      'U2',
      'U3',
      'U4',
      'U5',
      'U6',
      'U7',
      'U8',
      'G1',
      'G2',
      'G3',
      'G4',
      'G5',
      'G6',
      'G7',
      'G8',
      'G9',
      'G10',
      'G11',
      'P1',
      'P2',
      'S1',
    ]) {
      expect([rule, fired.has(rule)]).toEqual([rule, true]);
    }
    expect(cases.map((c) => c.id)).toContain('SG1');
  });

  describe.each(cases.map((c) => [c.id, c] as const))('%s', (_id, golden) => {
    it('the pure core', () => {
      expect(coreOutcome(golden.response)).toEqual(golden.expected);
    });

    it('$triage over HTTP', async () => {
      const res = await request(service.app)
        .post('/fhir/QuestionnaireResponse/$triage?persist=false')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(golden.response));
      expect(res.status).toBe(200);
      expect(answerOutcome(res.body as Bundle)).toEqual(golden.expected);
    });
  });

  it('hip-triage triage, every case in one NDJSON file', async () => {
    const file = join(dir, 'cases.ndjson');
    writeFileSync(file, `${cases.map((c) => JSON.stringify(c.response)).join('\n')}\n`);
    const run = await hipTriage(['triage', file]);
    expect(run.exitCode).toBe(0);
    const lines = run.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { disposition?: string; rules?: string[] });
    expect(lines.map((l) => ({ disposition: l.disposition, rules: l.rules }))).toEqual(
      cases.map((c) => ({ disposition: c.expected.disposition, rules: c.expected.rules }))
    );
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RED_FLAG_SCENARIOS } from '../../src/triage/redFlagSuite';
import { answersWith } from '../support/responses';
import { RESHAPINGS, reshape, scenarioResponseAnswers } from '../support/reshapings';
import { hipTriage } from './runCommand';

/**
 * Contract 1.1.0: the command line's result line of a reshaped response carries the red
 * flag its answers show (`redFlag: {disposition, rules}`), beside the outcome whose first
 * issue is the coded disposition, with and without --persist.
 */
const dir = mkdtempSync(join(tmpdir(), 'hip-cli-salvage-'));

interface ResultLine {
  readonly line: number;
  readonly disposition?: string;
  readonly redFlag?: { disposition: string; rules: string[] };
  readonly outcome?: { issue: { severity: string; details?: { coding?: { code: string }[] } }[] };
}

function parseLines(stdout: string): ResultLine[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ResultLine);
}

const e1 = RED_FLAG_SCENARIOS.find((s) => s.rule === 'E1');
const u7 = RED_FLAG_SCENARIOS.find((s) => s.rule === 'U7');
const shapes = Object.keys(RESHAPINGS);

describe('hip-triage triage, reshaped red-flag responses', () => {
  it.each([
    ['E1', e1, 'emergency'],
    ['U7', u7, 'urgent'],
  ] as const)('%s: every reshaping gives a result line with the red flag first', async (rule, scenario, disposition) => {
    const file = join(dir, `${rule}.ndjson`);
    const answers = scenarioResponseAnswers(scenario as NonNullable<typeof scenario>);
    writeFileSync(file, `${shapes.map((shape) => JSON.stringify(reshape(shape, answers))).join('\n')}\n`);
    const run = await hipTriage(['triage', file]);
    expect(run.exitCode).toBe(0);
    const lines = parseLines(run.stdout);
    expect(lines).toHaveLength(shapes.length);
    lines.forEach((line, i) => {
      expect({ shape: shapes[i], redFlag: line.redFlag }).toEqual({ shape: shapes[i], redFlag: { disposition, rules: expect.arrayContaining([rule]) } });
      expect(line.outcome?.issue[0]?.severity).toBe('information');
      expect(line.outcome?.issue[0]?.details?.coding?.[0]?.code).toBe(disposition);
    });
  });

  it('with --persist (embedded store), the line of a reshaped response still carries the red flag', async () => {
    const file = join(dir, 'persist.ndjson');
    writeFileSync(file, `${JSON.stringify(reshape('flat', scenarioResponseAnswers(e1 as NonNullable<typeof e1>)))}\n`);
    const run = await hipTriage(['triage', '--persist', file], { DATA_DIR: join(dir, 'data') });
    expect(run.exitCode).toBe(0);
    expect(parseLines(run.stdout)[0]?.redFlag).toEqual({ disposition: 'emergency', rules: ['E1'] });
  });

  it('a reshaped response without a red flag: an outcome line without redFlag (control)', async () => {
    const file = join(dir, 'none.ndjson');
    writeFileSync(file, `${JSON.stringify(reshape('flat', answersWith({})))}\n`);
    const [line] = parseLines((await hipTriage(['triage', file])).stdout);
    expect(line?.outcome).toBeDefined();
    expect(line?.redFlag).toBeUndefined();
  });

  it('hip-triage validate of a reshaped red-flag response: exit 1, the emergency first', async () => {
    const file = join(dir, 'validate.json');
    writeFileSync(file, JSON.stringify(reshape('bad authored ("yesterday")', scenarioResponseAnswers(e1 as NonNullable<typeof e1>))));
    const run = await hipTriage(['validate', file]);
    expect(run.exitCode).toBe(1);
    const outcome = JSON.parse(run.stdout) as NonNullable<ResultLine['outcome']>;
    expect([outcome.issue[0]?.severity, outcome.issue[0]?.details?.coding?.[0]?.code]).toEqual(['information', 'emergency']);
  });
});

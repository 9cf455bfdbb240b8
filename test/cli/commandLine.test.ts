import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOutcome, PlanDefinition } from '@medplum/fhirtypes';
import { nodeVersionProblem } from '../../src/cli/nodeVersion';
import { ROOT } from '../support/responses';
import { hipTriage } from './runCommand';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const dir = mkdtempSync(join(tmpdir(), 'hip-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** `hip-triage` from source as a real process (no build), optionally with a preload. */
function runMain(args: readonly string[], preload: readonly string[] = []) {
  const requires = [join(ROOT, 'test/support/registerTs.js'), ...preload].flatMap((p) => ['-r', p]);
  return spawnSync(NODE, [...requires, join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
}

describe('hip-triage: the Node version check', () => {
  it.each([
    ['24.21.0', true],
    ['22.18.0', true],
    ['23.0.0', true],
    ['22.17.1', false],
    ['20.19.0', false],
  ])('Node %s is accepted: %s', (version, accepted) => {
    expect(nodeVersionProblem(version) === undefined).toBe(accepted);
  });

  it('on an old Node, says how to run it and exits 1 before anything loads @medplum', () => {
    const run = runMain(['--help'], [join(__dirname, 'oldNode.js')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('hip-triage needs Node.js 22.18 or newer; this is Node.js 20.19.0.');
    expect(run.stderr).toContain('npx hip-triage <command>');
    expect(run.stderr).toContain('@medplum loaded: false');
    expect(run.stdout).toBe('');
  });

  it('on Node 24, lists every command', () => {
    const run = runMain(['--help']);
    expect(run.status).toBe(0);
    for (const command of ['push-content', 'verify-ruleset', 'validate']) {
      expect(run.stdout).toContain(command);
    }
  });
});

describe('hip-triage verify-ruleset', () => {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'fhir-resources/PlanDefinition-hip-pain-triage-rules.json'), 'utf8')) as PlanDefinition;

  it('passes the shipped ruleset (exit 0)', async () => {
    const run = await hipTriage(['verify-ruleset', writeJson('shipped.json', shipped)]);
    expect([run.exitCode, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(
      /ruleset 1\.1\.0 passes\. All red-flag scenarios reach their disposition, and the advice, safety net and monotonicity checks pass\./
    );
  });

  it('fails a ruleset without E1, naming it (exit 1)', async () => {
    const run = await hipTriage(['verify-ruleset', writeJson('no-e1.json', { ...shipped, action: shipped.action?.filter((a) => a.id !== 'E1') })]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/E1 \(cannot bear weight\) must reach at least emergency/);
  });

  it('fails a ruleset with E7 at age < 11, naming the rule and the age it fails at (exit 1)', async () => {
    const action = shipped.action?.map((a) =>
      a.id === 'E7'
        ? { ...a, condition: [{ kind: 'applicability' as const, expression: { language: 'text/fhirpath', expression: 'age < 11 and `fever-or-unwell`' } }] }
        : a
    );
    const run = await hipTriage(['verify-ruleset', writeJson('e7-under-11.json', { ...shipped, action })]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/E7 \(a child with fever\) must reach at least emergency; this ruleset gives urgent at age 15/);
  });

  it('refuses a file that is not a ruleset (exit 2)', async () => {
    const run = await hipTriage(['verify-ruleset', writeJson('broken.json', '{ not json')]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/broken\.json cannot be used as a ruleset/);
  });
});

describe('hip-triage validate', () => {
  const fixture = (name: string): string => join(ROOT, 'test/fixtures/rules', name);

  it('prints the disposition and advice of a valid response (exit 0)', async () => {
    const run = await hipTriage(['validate', fixture('E1.qr.json')]);
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout) as OperationOutcome;
    expect(outcome.issue?.[0]).toMatchObject({ severity: 'information', details: { coding: [{ code: 'emergency' }, { code: 'E1' }] } });
  });

  it('accepts the response inside a Parameters, as $triage does', async () => {
    const response = JSON.parse(readFileSync(fixture('S1.qr.json'), 'utf8')) as unknown;
    const run = await hipTriage([
      'validate',
      writeJson('parameters.json', { resourceType: 'Parameters', parameter: [{ name: 'response', resource: response }] }),
    ]);
    expect(run.exitCode).toBe(0);
    expect((JSON.parse(run.stdout) as OperationOutcome).issue?.[0]?.details?.coding?.[0]?.code).toBe('self-care');
  });

  it('lists every problem of an invalid response (exit 1)', async () => {
    const response = JSON.parse(readFileSync(fixture('S1.qr.json'), 'utf8')) as Record<string, unknown>;
    const run = await hipTriage(['validate', writeJson('invalid.json', { ...response, status: 'finished' })]);
    expect(run.exitCode).toBe(1);
    const outcome = JSON.parse(run.stdout) as OperationOutcome;
    expect(outcome.issue?.some((i) => i.severity === 'error' && (i.expression ?? []).some((e) => e.includes('status')))).toBe(true);
  });

  it('refuses a file that is not JSON (exit 2)', async () => {
    const run = await hipTriage(['validate', writeJson('not-json.txt', 'hello')]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/not-json\.txt cannot be read as JSON/);
  });
});

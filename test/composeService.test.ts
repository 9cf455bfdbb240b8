import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanDefinition } from '@medplum/fhirtypes';
import request from 'supertest';
import { StartupError } from '../src/composeService';
import { ROOT } from './support/responses';
import { startTestService } from './support/testService';

const dir = mkdtempSync(join(tmpdir(), 'hip-startup-'));
const shippedRuleset = JSON.parse(readFileSync(join(ROOT, 'fhir-resources/PlanDefinition-hip-pain-triage-rules.json'), 'utf8')) as PlanDefinition;
const shippedRouting = JSON.parse(readFileSync(join(ROOT, 'config/routing.json'), 'utf8')) as Record<string, unknown>;

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('start-up', () => {
  it('serves the Questionnaire and is ready on the embedded default', async () => {
    const service = await startTestService();
    await request(service.app).get('/healthz').expect(200);
    const ready = await request(service.app).get('/readyz');
    expect(ready.status).toBe(200);
    const q = await request(service.app).get('/fhir/Questionnaire/hip-pain-triage');
    expect(q.status).toBe(200);
    expect(q.body.url).toBe('https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage');
    const metadata = await request(service.app).get('/fhir/metadata');
    expect(metadata.body.resourceType).toBe('CapabilityStatement');
    expect(JSON.stringify(metadata.body)).toContain('triage');
    await service.close();
    const notReady = await request(service.app).get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.headers['retry-after']).toBeDefined();
  });

  it('accepts a replacement ruleset that passes the red-flag suite', async () => {
    const service = await startTestService({ RULESET_FILE: writeJson('same.json', shippedRuleset) });
    await request(service.app).get('/readyz').expect(200);
    await service.close();
  });

  it('refuses a replacement ruleset that drops E1, naming E1', async () => {
    const withoutE1 = { ...shippedRuleset, action: shippedRuleset.action?.filter((a) => a.id !== 'E1') };
    const attempt = startTestService({ RULESET_FILE: writeJson('no-e1.json', withoutE1) });
    await expect(attempt).rejects.toBeInstanceOf(StartupError);
    await expect(attempt).rejects.toThrow(/E1 \(cannot bear weight\) must reach at least emergency/);
  });

  it('refuses a ruleset whose condition names an item the Questionnaire lacks', async () => {
    const typo = JSON.parse(JSON.stringify(shippedRuleset).replace('`cannot-weight-bear`', '`cannot-weightbear`')) as PlanDefinition;
    await expect(startTestService({ RULESET_FILE: writeJson('typo.json', typo) })).rejects.toThrow(/cannot-weightbear/);
  });

  it('refuses a malformed routing table, naming the problem', async () => {
    const broken = JSON.parse(JSON.stringify(shippedRouting)) as { dispositions: { gp: { route: { priority: string } } } };
    broken.dispositions.gp.route.priority = 'whenever';
    await expect(startTestService({ ROUTING_FILE: writeJson('broken-routing.json', broken) })).rejects.toThrow(/priority/);
  });

  it('refuses a routing table less urgent than the contract, naming the disposition', async () => {
    const lax = JSON.parse(JSON.stringify(shippedRouting)) as { dispositions: { urgent: { route: { priority: string } } } };
    lax.dispositions.urgent.route.priority = 'routine';
    await expect(startTestService({ ROUTING_FILE: writeJson('lax-routing.json', lax) })).rejects.toThrow(/urgent/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateResource } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import request from 'supertest';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { fillSubscriptionTemplate, readSubscriptionTemplates, TEMPLATE_FOLDER } from '../../src/intake/subscriptionRegistration';
import { hipTriage } from '../cli/runCommand';
import { type BareFhirServer, startBareFhirServer } from '../support/bareFhirServer';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';
import { notificationFixture } from './intakeFixtures';

const SECRET = 'subscription-secret-from-the-environment';
const PUBLIC_BASE_URL = 'https://triage.clinic.example.org';
const templates = readSubscriptionTemplates(ROOT);

beforeAll(() => indexFhirDefinitions());

describe('the shipped Subscription templates', () => {
  it('there is one for the triage Questionnaire, and the repository holds placeholders, not a secret', () => {
    expect(templates.map((t) => t.criteria)).toEqual(['QuestionnaireResponse?questionnaire=https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage']);
    const raw = readFileSync(join(ROOT, TEMPLATE_FOLDER, 'Subscription-questionnaire-response.json'), 'utf8');
    expect(raw).toContain('"Authorization: Bearer {{WEBHOOK_SECRET}}"');
    expect(raw).toContain('"{{PUBLIC_BASE_URL}}/subscriptions/questionnaire-response"');
  });

  it.each(templates.map((t) => [t.id, t] as const))('%s, once filled, is a valid R4 rest-hook Subscription to the receiver', (_id, template) => {
    const filled = fillSubscriptionTemplate(template, { publicBaseUrl: `${PUBLIC_BASE_URL}/`, webhookSecret: SECRET });
    expect(validateResource(filled).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    expect(filled).toMatchObject({
      status: 'requested',
      channel: {
        type: 'rest-hook',
        endpoint: `${PUBLIC_BASE_URL}/subscriptions/questionnaire-response`,
        payload: 'application/fhir+json',
        header: [`Authorization: Bearer ${SECRET}`],
      },
    });
    expect(JSON.stringify(filled)).not.toContain('{{');
  });

  it('an unknown placeholder is refused, never registered', () => {
    const template = { ...templates[0], reason: 'for {{SITE_NAME}}' } as Subscription;
    expect(() => fillSubscriptionTemplate(template, { publicBaseUrl: PUBLIC_BASE_URL, webhookSecret: SECRET })).toThrow('{{SITE_NAME}}');
  });
});

describe('push-content registers the Subscriptions, keyed on criteria and endpoint', () => {
  let server: BareFhirServer;
  beforeEach(async () => {
    server = await startBareFhirServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const registered = () => server.store.searchResources<Subscription>('Subscription', { _count: '100' });
  const push = (env: NodeJS.ProcessEnv) => hipTriage(['push-content', '--server', server.fhirBaseUrl], env);

  it('creates it once, leaves it alone the second time, updates it for a new secret or when the server switched it off', async () => {
    const env = { PUBLIC_BASE_URL, WEBHOOK_SECRET: SECRET };
    const first = await push(env);
    expect([first.exitCode, first.stderr]).toEqual([0, '']);
    expect(first.stdout).toMatch(
      /^created {3}Subscription criteria QuestionnaireResponse\?questionnaire=.* -> https:\/\/triage\.clinic\.example\.org\/subscriptions\/questionnaire-response -> Subscription\//m
    );
    const [subscription] = await registered();
    expect(subscription?.channel.header).toEqual([`Authorization: Bearer ${SECRET}`]);

    const second = await push(env);
    expect(second.stdout).toMatch(/^unchanged Subscription /m);
    expect(second.stdout).toMatch(/: 0 created, 0 updated, \d+ unchanged\n$/);

    const rotated = await push({ ...env, WEBHOOK_SECRET: `${SECRET}-rotated` });
    expect(rotated.stdout).toMatch(/^updated {3}Subscription /m);
    expect((await registered()).map((s) => [s.id, s.channel.header])).toEqual([[subscription?.id, [`Authorization: Bearer ${SECRET}-rotated`]]]);

    const [current] = await registered();
    await server.store.executeTransaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { ...(current as Subscription), status: 'off' }, request: { method: 'PUT', url: `Subscription/${current?.id ?? ''}` } }],
    });
    await push({ ...env, WEBHOOK_SECRET: `${SECRET}-rotated` });
    expect((await registered()).map((s) => [s.id, s.status])).toEqual([[subscription?.id, 'requested']]);

    // The secret reaches the server, never the output.
    for (const run of [first, second, rotated]) {
      expect(run.stdout + run.stderr).not.toContain(SECRET);
    }
  });

  it('without PUBLIC_BASE_URL and WEBHOOK_SECRET, says so and registers none', async () => {
    const run = await push({});
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^skipped {3}Subscription QuestionnaireResponse\?questionnaire=.*: set PUBLIC_BASE_URL and WEBHOOK_SECRET to register it$/m);
    expect(await registered()).toEqual([]);
  });

  it('the header the server will send is one the receiver accepts', async () => {
    await push({ PUBLIC_BASE_URL, WEBHOOK_SECRET: SECRET });
    const [subscription] = await registered();
    const [name, value] = (subscription?.channel.header?.[0] ?? '').split(/:\s*/, 2);
    const service = await startTestService({ WEBHOOK_SECRET: SECRET });
    try {
      const res = await request(service.app)
        .post('/subscriptions/questionnaire-response')
        .set(name ?? '', value ?? '')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(notificationFixture('r5-heartbeat')));
      expect(res.status).toBe(200);
    } finally {
      await service.close();
    }
  });
});

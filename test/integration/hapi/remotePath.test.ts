import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, CarePlan, OperationOutcome, Provenance, QuestionnaireResponse, Resource, RiskAssessment, Task } from '@medplum/fhirtypes';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { cdsRoutes } from '../../../src/cds/cdsRoutes';
import { OutboundFetchPolicy } from '../../../src/http/outboundFetchPolicy';
import type { Service } from '../../../src/composeService';
import { loadWorkQueue } from '../../../src/queue/workQueue';
import { hipTriage } from '../../cli/runCommand';
import { ROOT } from '../../support/responses';
import { startTestService } from '../../support/testService';
import { createPatient, eventually, hapi, hapiBaseUrl, searchAll } from './hapiServer';

/**
 * The remote path end to end against a real HAPI FHIR JPA server (8.8.0, test/servers/hapi):
 * push-content, `$triage` and `{id}/$triage`, clinic intake through HAPI's own rest-hook
 * Subscription, work queues through HAPI's paging, CDS Hooks, the CLI, and an outage.
 * Every result is read back from HAPI with plain HTTP, not through the service's own code.
 * HAPI lives for the whole CI run, so every test uses subjects of its own (RUN prefix).
 */
const BASE = hapiBaseUrl();
const RUN = `it${Date.now().toString(36)}`;
const SECRET = 'integration-webhook-secret-0123456789';
const RESULT_TYPES = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'GuidanceResponse', 'ServiceRequest', 'Task', 'Provenance'] as const;
type Counts = Record<(typeof RESULT_TYPES)[number], number>;
const GP_COUNTS: Counts = { QuestionnaireResponse: 1, RiskAssessment: 1, CarePlan: 1, GuidanceResponse: 1, ServiceRequest: 1, Task: 1, Provenance: 1 };

function fixture(rule: string, subject: string): QuestionnaireResponse {
  const response = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${rule}.qr.json`), 'utf8')) as QuestionnaireResponse;
  return { ...response, subject: { reference: subject } };
}

/** Every result written for one subject, read from HAPI; Provenance by its RiskAssessment target. */
async function resultsOnHapi(subject: string): Promise<Record<(typeof RESULT_TYPES)[number], Resource[]>> {
  const bySubject = (type: string) => searchAll(`${type}?subject=${subject}&_count=100`);
  const [responses, risks, carePlans, guidance, requests, tasks] = await Promise.all(
    ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'GuidanceResponse', 'ServiceRequest', 'Task'].map(bySubject)
  );
  const provenance = (await Promise.all((risks ?? []).map((r) => searchAll<Provenance>(`Provenance?target=RiskAssessment/${r.id ?? ''}`)))).flat();
  return {
    QuestionnaireResponse: responses ?? [],
    RiskAssessment: risks ?? [],
    CarePlan: carePlans ?? [],
    GuidanceResponse: guidance ?? [],
    ServiceRequest: requests ?? [],
    Task: tasks ?? [],
    Provenance: provenance,
  };
}

async function countsOnHapi(subject: string): Promise<Counts> {
  const results = await resultsOnHapi(subject);
  return Object.fromEntries(RESULT_TYPES.map((t) => [t, results[t].length])) as Counts;
}

/** Every literal reference inside the resources resolves on HAPI (a read answers 200). */
async function expectReferencesResolve(resources: readonly Resource[]): Promise<number> {
  const references = new Set<string>();
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(collect);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'reference' && typeof v === 'string' && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+$/.test(v)) {
          references.add(v);
        } else {
          collect(v);
        }
      }
    }
  };
  resources.forEach(collect);
  for (const reference of references) {
    expect([reference, (await hapi('GET', reference)).status]).toEqual([reference, 200]);
  }
  return references.size;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('the remote path against a real HAPI FHIR server', () => {
  let service: Service;
  let listener: Server;
  let pushed: { exitCode: number; stdout: string; stderr: string };
  let dueSubject: string;
  let dueTaskId: string;
  let pushEnv: NodeJS.ProcessEnv;
  const roundTrips: string[] = [];
  /** What the service sends to HAPI while `counting` is on (its store keeps the fetch it was built with). */
  const sent: string[] = [];
  let counting = false;
  let fetchSpy: jest.SpyInstance | undefined;

  beforeAll(async () => {
    expect((await hapi('GET', 'metadata')).status).toBe(200);
    const port = await freePort();
    const publicBaseUrl = `http://127.0.0.1:${port}`;
    // push-content first, as an operator would: content, the `due` SearchParameter and the Subscription.
    // A Task HAPI holds before the `due` SearchParameter arrives: only a reindex makes `due` find it.
    dueSubject = await createPatient(`${RUN}-due`);
    const task = await hapi<Task>('POST', 'Task', {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      for: { reference: dueSubject },
      restriction: { period: { end: '2031-05-17T12:00:00Z' } },
    });
    expect(task.status).toBe(201);
    dueTaskId = task.body.id ?? '';
    pushEnv = { PUBLIC_BASE_URL: publicBaseUrl, WEBHOOK_SECRET: SECRET };
    const started = performance.now();
    pushed = await hipTriage(['push-content', '--server', BASE], pushEnv);
    if (pushed.exitCode !== 0) {
      throw new Error(`push-content failed:\n${pushed.stderr}`);
    }
    roundTrips.push(`push-content into HAPI: ${Math.round(performance.now() - started)} ms, ${pushed.stdout.trim().split('\n').at(-1) ?? ''}`);
    const realFetch = globalThis.fetch;
    fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (counting && url.startsWith(BASE)) {
        sent.push(`${init?.method ?? 'GET'} ${url.slice(BASE.length).split('?')[0] || '/'}`);
      }
      return realFetch(input, init);
    });
    service = await startTestService({ FHIR_BASE_URL: BASE, PUBLIC_BASE_URL: publicBaseUrl, WEBHOOK_SECRET: SECRET, PORT: String(port) }, () => new Date());
    listener = service.app.listen(port, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
  });

  afterAll(async () => {
    fetchSpy?.mockRestore();
    await new Promise((resolve) => listener?.close(resolve));
    await service?.close();
    if (roundTrips.length > 0) {
      console.log(roundTrips.join('\n'));
    }
  });

  it('push-content is idempotent on HAPI: a second run changes nothing, routing services keep their ids, the Subscription is active', async () => {
    const again = await hipTriage(['push-content', '--server', BASE], pushEnv);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/: 0 created, 0 updated, \d+ unchanged\n$/);
    const questionnaires = await searchAll('Questionnaire?url=https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage');
    expect(questionnaires).toHaveLength(1);
    expect((await hapi('GET', 'HealthcareService/hip-triage-gp-practice')).status).toBe(200);
    const [subscription] = await searchAll<Resource & { status?: string }>(
      `Subscription?url=${encodeURIComponent(`http://127.0.0.1:${(listener.address() as AddressInfo).port}/subscriptions/questionnaire-response`)}`
    );
    expect(subscription?.status).toBe('active');
  });

  it('$triage writes every result to HAPI in one transaction after one look-up; all read back, every reference resolves', async () => {
    const subject = await createPatient(`${RUN}-gp`);
    let res: request.Response;
    const started = performance.now();
    sent.length = 0;
    counting = true;
    try {
      res = await request(service.app)
        .post('/fhir/QuestionnaireResponse/$triage')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(fixture('G1', subject)));
    } finally {
      counting = false;
    }
    expect(res.status).toBe(200);
    roundTrips.push(`round trips for one $triage against HAPI: ${sent.length} (${sent.join(', ')}), ${Math.round(performance.now() - started)} ms`);
    expect(sent.filter((s) => s.startsWith('POST'))).toEqual(['POST /', 'POST /']); // look-up batch, then the one transaction
    expect(await countsOnHapi(subject)).toEqual(GP_COUNTS);
    const results = Object.values(await resultsOnHapi(subject)).flat();
    expect(await expectReferencesResolve(results)).toBeGreaterThanOrEqual(8);
    const carePlan = results.find((r): r is CarePlan => r.resourceType === 'CarePlan');
    expect(carePlan?.subject?.reference).toBe(subject);
  });

  it('a redelivered response writes nothing new on HAPI: every result type counted back, no new version', async () => {
    const subject = await createPatient(`${RUN}-redelivery`);
    const response = fixture('U1', subject);
    const first = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(response));
    expect(first.status).toBe(200);
    const before = await resultsOnHapi(subject);
    const again = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(response));
    expect(again.status).toBe(200);
    const after = await resultsOnHapi(subject);
    const versions = (r: Record<string, Resource[]>) =>
      Object.values(r)
        .flat()
        .map((x) => `${x.resourceType}/${x.id ?? ''}@${x.meta?.versionId ?? ''}`)
        .sort();
    expect(versions(after)).toEqual(versions(before));
    expect(Object.fromEntries(RESULT_TYPES.map((t) => [t, after[t].length]))).toEqual(Object.fromEntries(RESULT_TYPES.map((t) => [t, before[t].length])));
    expect(after.Task.length).toBeGreaterThanOrEqual(2); // urgent: the referral Task and its safety net
  });

  it('{id}/$triage triages a response stored on HAPI and writes the results against it', async () => {
    const subject = await createPatient(`${RUN}-stored`);
    // Stored completed, so HAPI's Subscription triages it too: both routes share the idempotency key, so one set of results.
    const stored = await hapi<QuestionnaireResponse>('POST', 'QuestionnaireResponse', fixture('G1', subject));
    expect(stored.status).toBe(201);
    const res = await request(service.app)
      .post(`/fhir/QuestionnaireResponse/${stored.body.id ?? ''}/$triage`)
      .set('Content-Type', 'application/fhir+json')
      .send('{}');
    expect([res.status, res.status === 200 ? '' : JSON.stringify(res.body).slice(0, 400)]).toEqual([200, '']);
    const [risk] = await searchAll<RiskAssessment>(`RiskAssessment?subject=${subject}`);
    expect(JSON.stringify(risk)).toContain(`QuestionnaireResponse/${stored.body.id ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // the Subscription's delivery of the same response
    expect(await countsOnHapi(subject)).toEqual(GP_COUNTS); // the stored response, not a copy; one set of results
  });

  it('clinic intake: a response a kiosk stores on HAPI is triaged through HAPI’s own Subscription, and a redelivery writes nothing new', async () => {
    const subject = await createPatient(`${RUN}-kiosk`);
    // The kiosk: a plain FHIR client writing to HAPI. The test never calls the service.
    const kiosk = await hapi<QuestionnaireResponse>('POST', 'QuestionnaireResponse', fixture('G1', subject));
    expect(kiosk.status).toBe(201);
    const risks = await eventually('the results of the kiosk response', async () => {
      const found = await searchAll<RiskAssessment>(`RiskAssessment?subject=${subject}`);
      return found.length > 0 ? found : undefined;
    });
    expect(risks).toHaveLength(1);
    await eventually('the whole write-back', async () => ((await countsOnHapi(subject)).Provenance === 1 ? true : undefined));
    expect(await countsOnHapi(subject)).toEqual(GP_COUNTS);

    // HAPI notifies again when the response gets a new version (a tag added): same answers, same key, nothing new.
    const current = (await hapi<QuestionnaireResponse>('GET', `QuestionnaireResponse/${kiosk.body.id ?? ''}`)).body;
    const retagged = await hapi<QuestionnaireResponse>('PUT', `QuestionnaireResponse/${kiosk.body.id ?? ''}`, {
      ...current,
      meta: { ...current.meta, tag: [...(current.meta?.tag ?? []), { system: 'https://kiosk.example.org/tag', code: 'reviewed' }] },
    });
    expect(retagged.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 8_000)); // HAPI delivers within a few seconds
    expect(await countsOnHapi(subject)).toEqual(GP_COUNTS);
  });

  it('clinic intake: an invalid response stored by the kiosk gets its review Task on HAPI', async () => {
    const subject = await createPatient(`${RUN}-invalid`);
    const invalid = fixture('G1', subject);
    const kiosk = await hapi<QuestionnaireResponse>('POST', 'QuestionnaireResponse', { ...invalid, item: (invalid.item ?? []).slice(0, 1) });
    expect(kiosk.status).toBe(201);
    const tasks = await eventually('the review Task', async () => {
      const found = await searchAll<Task>(`Task?subject=${subject}`);
      return found.length > 0 ? found : undefined;
    });
    expect(tasks.map((t) => t.focus?.reference)).toEqual([`QuestionnaireResponse/${kiosk.body.id ?? ''}`]);
    expect(tasks[0]?.code?.coding?.[0]?.code).toMatch(/review/);
  });

  it('the work queue reads every open Task from HAPI across its pages (HAPI returns at most 50 a page)', async () => {
    const owner = `Organization/${RUN}-queue-owner`;
    expect((await hapi('PUT', owner, { resourceType: 'Organization', id: owner.split('/')[1], name: 'Integration queue' })).status).toBeLessThan(300);
    const subject = await createPatient(`${RUN}-queue`);
    const count = 60;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: count }, (_, i) => ({
        resource: {
          resourceType: 'Task',
          status: 'requested',
          intent: 'order',
          priority: 'routine',
          for: { reference: subject },
          owner: { reference: owner },
          description: `queue item ${i}`,
        } as Task,
        request: { method: 'POST', url: 'Task' },
      })),
    };
    expect((await hapi('POST', '', bundle)).status).toBe(200);
    const queue = await loadWorkQueue(service.store);
    const mine = queue.services.find((q) => q.reference === owner);
    expect(mine?.items).toHaveLength(count);
    expect(queue.truncated).toBe(false);
  });

  it('CDS Hooks patient-view: a card from a prefetch filled by HAPI, and from the fallback search against HAPI', async () => {
    const subject = await createPatient(`${RUN}-cds`);
    const emergency = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(fixture('E5', subject)));
    expect(emergency.status).toBe(200);
    // Unsigned CDS calls may name HAPI on loopback: the outbound policy is told so, as a test EHR would be configured.
    const cds = express()
      .use(express.json())
      .use(
        cdsRoutes({
          logger: pino({ level: 'silent' }),
          launchUrl: 'http://127.0.0.1:8080/smart/launch',
          fhirServers: { byIssuer: {}, unsigned: [BASE] },
          outbound: new OutboundFetchPolicy({ allowedNetworks: ['127.0.0.0/8'] }),
          content: service.content,
          timeZone: 'Europe/London',
        })
      );
    const patientId = subject.split('/')[1] ?? '';
    const hook = (extra: Record<string, unknown>) => ({
      hook: 'patient-view',
      hookInstance: `instance-${patientId}`,
      context: { userId: 'Practitioner/1', patientId },
      ...extra,
    });
    const lastTriage = (
      await hapi<Bundle>(
        'GET',
        `RiskAssessment?subject=${subject}&method=https://fhir.hip-triage.example.org/CodeSystem/triage-method|hip-pain-triage&_sort=-date&_count=1`
      )
    ).body;
    expect(lastTriage.entry?.[0]?.resource?.resourceType).toBe('RiskAssessment');
    const prefetched = await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(hook({ prefetch: { lastTriage } }))
      .expect(200);
    expect(prefetched.body.cards[0].indicator).toBe('critical');
    const searched = await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(
        hook({ fhirServer: BASE, fhirAuthorization: { access_token: 'ehr-token', token_type: 'Bearer', scope: 'patient/RiskAssessment.read', subject: 'cds' } })
      )
      .expect(200);
    expect(searched.body.cards[0].indicator).toBe('critical');
  });

  it('hip-triage triage --persist writes an NDJSON file into HAPI, and a second run writes nothing new', async () => {
    const subjects = await Promise.all(['G1', 'U1', 'S1'].map((rule) => createPatient(`${RUN}-cli-${rule.toLowerCase()}`)));
    const dir = mkdtempSync(join(tmpdir(), 'hapi-cli-'));
    const file = join(dir, 'responses.ndjson');
    writeFileSync(file, `${['G1', 'U1', 'S1'].map((rule, i) => JSON.stringify(fixture(rule, subjects[i] ?? ''))).join('\n')}\n`);
    const first = await hipTriage(['triage', '--persist', file], { FHIR_BASE_URL: BASE });
    expect([first.exitCode, first.stderr.slice(0, 500)]).toEqual([0, expect.any(String)]);
    const before = await Promise.all(subjects.map(countsOnHapi));
    expect(before.map((c) => c.RiskAssessment)).toEqual([1, 1, 1]);
    const second = await hipTriage(['triage', '--persist', file], { FHIR_BASE_URL: BASE });
    expect(second.exitCode).toBe(0);
    expect(await Promise.all(subjects.map(countsOnHapi))).toEqual(before);
  });

  it('HAPI frozen mid-run: 503 with Retry-After and the advice, nothing half-written, and recovery by itself once HAPI is back', async () => {
    const pid = Number(process.env.HAPI_PID);
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new Error('HAPI_PID is not set: run this suite through test/integration/run-hapi, which starts HAPI and passes its process id.');
    }
    const subject = await createPatient(`${RUN}-outage`);
    const response = fixture('G1', subject);
    process.kill(pid, 'SIGSTOP');
    let down: request.Response;
    try {
      down = await request(service.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(response));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBeDefined();
    const outcome = down.body as OperationOutcome;
    expect(outcome.issue?.[0]).toMatchObject({ severity: 'error', code: 'transient' });
    expect(outcome.issue?.find((i) => i.severity === 'information')?.details?.text).toMatch(/GP/);
    // HAPI may still finish a request it took before it froze; a transaction is all or nothing either way.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const meanwhile = await countsOnHapi(subject);
    expect([0, 1]).toContain(meanwhile.RiskAssessment);
    expect(meanwhile).toEqual(meanwhile.RiskAssessment === 0 ? Object.fromEntries(RESULT_TYPES.map((t) => [t, 0])) : GP_COUNTS);

    const after = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(response));
    expect(after.status).toBe(200);
    expect(await countsOnHapi(subject)).toEqual(GP_COUNTS);
  });

  // Last, so that HAPI's reindex (a batch job advanced by a maintenance pass once a minute: about
  // four minutes here) runs while the tests above do.
  it('`due` is indexed for Tasks HAPI held before push-content brought the SearchParameter ($reindex)', async () => {
    // On a fresh HAPI push-content created the SearchParameter and asked for the reindex; on one that had it, nothing to do.
    expect(pushed.stdout).toMatch(/^reindex {3}Task |^unchanged SearchParameter /m);
    const found = await eventually(
      'Task?due to find the Task stored before the SearchParameter',
      async () => {
        const matches = await searchAll<Task>(`Task?due=eq2031-05-17T12:00:00Z&subject=${dueSubject}`);
        return matches.length > 0 ? matches : undefined;
      },
      330_000
    );
    expect(found.map((t) => t.id)).toEqual([dueTaskId]);
  }, 360_000);
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, RiskAssessment } from '@medplum/fhirtypes';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { cdsRoutes } from '../../src/cds/cdsRoutes';
import { OutboundFetchPolicy } from '../../src/http/outboundFetchPolicy';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import type { Service } from '../../src/composeService';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';

const LAUNCH = 'http://127.0.0.1:8080/smart/launch';
const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
/** CDS Hooks with no auth at all: unsigned calls may name the bases of CDS_FHIR_SERVERS (here: the test EHR on loopback). */
let cds: express.Express;

/** The EHR's FHIR server: this service's embedded store, over real HTTP. */
let ehr: Service;
let server: Server;
let fhirServer: string;

beforeAll(async () => {
  ehr = await startTestService();
  server = ehr.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  fhirServer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  cds = express()
    .use(express.json())
    .use(
      cdsRoutes({
        logger: pino({ level: 'silent' }),
        launchUrl: LAUNCH,
        fhirServers: { byIssuer: {}, unsigned: [fhirServer, 'http://127.0.0.1:9/fhir'] },
        outbound: new OutboundFetchPolicy({ allowedNetworks: ['127.0.0.0/8'] }),
        content,
        timeZone: 'Europe/London',
      })
    );
  const emergency = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules/E5.qr.json'), 'utf8'));
  await request(ehr.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(emergency)).expect(200);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await ehr.close();
});

function hook(patientId: string, extra: Record<string, unknown> = {}) {
  return { hook: 'patient-view', hookInstance: `instance-${patientId}`, context: { userId: 'Practitioner/1', patientId }, ...extra };
}

async function prefetchFor(patientId: string): Promise<Bundle> {
  const res = await request(ehr.app).get(
    `/fhir/RiskAssessment?subject=Patient/${patientId}&method=https://fhir.hip-triage.example.org/CodeSystem/triage-method|hip-pain-triage&_sort=-date&_count=1`
  );
  return res.body as Bundle;
}

describe('CDS Hooks 2.0', () => {
  it('discovery lists the patient-view service with prefetch templates for the patient and the latest triage', async () => {
    const res = await request(cds).get('/cds-services').expect(200);
    expect(res.body.services).toHaveLength(1);
    const [service] = res.body.services;
    expect(service).toEqual(
      expect.objectContaining({ hook: 'patient-view', id: 'hip-pain-triage', title: expect.any(String), description: expect.any(String) })
    );
    expect(service.prefetch.patient).toBe('Patient/{{context.patientId}}');
    expect(service.prefetch.lastTriage).toContain('RiskAssessment?subject=Patient/{{context.patientId}}');
  });

  it('a patient with an emergency triage (prefetched) gets a critical card with a smart link', async () => {
    const prefetch = { lastTriage: await prefetchFor('rule-e5') };
    expect((prefetch.lastTriage.entry?.[0]?.resource as RiskAssessment | undefined)?.resourceType).toBe('RiskAssessment');
    const res = await request(cds).post('/cds-services/hip-pain-triage').send(hook('rule-e5', { prefetch })).expect(200);
    const [card] = res.body.cards;
    expect(card.indicator).toBe('critical');
    expect(card.summary).toMatch(/EMERGENCY/);
    expect(card.summary.length).toBeLessThanOrEqual(140);
    expect(card.detail).toContain('E5');
    expect(card.links).toEqual([expect.objectContaining({ type: 'smart', url: LAUNCH })]);
    expect(card.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a patient with no triage gets the info card that starts one', async () => {
    const res = await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(hook('nobody', { prefetch: { lastTriage: await prefetchFor('nobody') } }))
      .expect(200);
    const [card] = res.body.cards;
    expect(card.indicator).toBe('info');
    expect(card.summary).toMatch(/start one/);
    expect(card.links[0].type).toBe('smart');
  });

  it('without prefetch, searches the FHIR server with the EHR token', async () => {
    const res = await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(
        hook('rule-e5', {
          fhirServer,
          fhirAuthorization: { access_token: 'ehr-token', token_type: 'Bearer', scope: 'patient/RiskAssessment.read', subject: 'cds' },
        })
      )
      .expect(200);
    expect(res.body.cards[0].indicator).toBe('critical');
  });

  it('with neither prefetch nor a usable FHIR server: 412', async () => {
    await request(cds).post('/cds-services/hip-pain-triage').send(hook('rule-e5')).expect(412);
    await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(hook('rule-e5', { fhirServer: 'http://127.0.0.1:9/fhir', fhirAuthorization: { access_token: 't', token_type: 'Bearer' } }))
      .expect(412);
  });

  it('refuses a request that is not a patient-view hook', async () => {
    await request(cds).post('/cds-services/hip-pain-triage').send({ hook: 'order-select', hookInstance: 'x', context: {} }).expect(400);
  });

  it('accepts feedback', async () => {
    await request(cds)
      .post('/cds-services/hip-pain-triage/feedback')
      .send({ feedback: [{ card: 'abc', outcome: 'accepted', outcomeTimestamp: '2026-11-20T10:00:00Z' }] })
      .expect(200);
    await request(cds).post('/cds-services/hip-pain-triage/feedback').send({}).expect(400);
  });
});

describe('CDS Hooks in the running service', () => {
  it('is mounted: discovery answers at /cds-services', async () => {
    const res = await request(ehr.app).get('/cds-services').expect(200);
    expect(res.body.services[0].id).toBe('hip-pain-triage');
  });
});

describe('a retracted triage', () => {
  it('is not shown as current: the start card instead', async () => {
    const prefetch = await prefetchFor('rule-e5');
    const retracted = JSON.parse(JSON.stringify(prefetch)) as Bundle;
    const risk = retracted.entry?.[0]?.resource as RiskAssessment;
    risk.status = 'entered-in-error';
    const res = await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(hook('rule-e5', { prefetch: { lastTriage: retracted } }))
      .expect(200);
    expect(res.body.cards[0].indicator).toBe('info');
    expect(res.body.cards[0].summary).toMatch(/start one/);
  });
});

describe('a stored response that was never scored (contract 1.1.0: red flags survive every path)', () => {
  async function storeFlat(patientId: string, answers: Record<string, unknown>): Promise<void> {
    // Items at the root instead of in their groups: valid FHIR, so the server stores it; invalid for the Questionnaire, so it is never scored.
    const system = (code: string) => ({ system: 'https://fhir.hip-triage.example.org/CodeSystem/hip-risk-factor', code });
    const items = Object.entries({ age: 40, 'cannot-weight-bear': false, 'saddle-numbness': false, ...answers }).map(([linkId, v]) => ({
      linkId,
      answer: [typeof v === 'boolean' ? { valueBoolean: v } : typeof v === 'number' ? { valueInteger: v } : { valueCoding: system(String(v)) }],
    }));
    const response = {
      resourceType: 'QuestionnaireResponse',
      questionnaire: 'https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage|1.0.0',
      status: 'completed',
      subject: { reference: `Patient/${patientId}` },
      authored: '2026-11-20T10:00:00Z',
      item: items,
    };
    await request(ehr.app).post('/fhir/QuestionnaireResponse').set('Content-Type', 'application/fhir+json').send(JSON.stringify(response)).expect(201);
    await ehr.intake.idle();
  }

  async function responsesFor(patientId: string): Promise<Bundle> {
    return (await request(ehr.app).get(`/fhir/QuestionnaireResponse?subject=Patient/${patientId}&_sort=-authored&_count=10`).expect(200)).body as Bundle;
  }

  it('with a red flag (saddle numbness, items misplaced): a critical card, from the prefetch', async () => {
    await storeFlat('cds-unscored-e5', { 'saddle-numbness': true });
    const prefetch = { lastTriage: await prefetchFor('cds-unscored-e5'), lastResponses: await responsesFor('cds-unscored-e5') };
    expect(prefetch.lastTriage.entry ?? []).toHaveLength(0);
    const res = await request(cds).post('/cds-services/hip-pain-triage').send(hook('cds-unscored-e5', { prefetch })).expect(200);
    const [card] = res.body.cards;
    expect(card.indicator).toBe('critical');
    expect(card.summary).toMatch(/EMERGENCY.*not yet scored/);
    expect(card.detail).toContain('E5');
  });

  it('with a red flag: a critical card from the fallback search too (no prefetch)', async () => {
    const res = await request(cds)
      .post('/cds-services/hip-pain-triage')
      .send(hook('cds-unscored-e5', { fhirServer, fhirAuthorization: { access_token: 'ehr-token', token_type: 'Bearer', subject: 'cds' } }))
      .expect(200);
    expect(res.body.cards[0].indicator).toBe('critical');
  });

  it('without a red flag: the start card, as before (control)', async () => {
    await storeFlat('cds-unscored-none', {});
    const prefetch = { lastTriage: await prefetchFor('cds-unscored-none'), lastResponses: await responsesFor('cds-unscored-none') };
    const res = await request(cds).post('/cds-services/hip-pain-triage').send(hook('cds-unscored-none', { prefetch })).expect(200);
    expect(res.body.cards[0].indicator).toBe('info');
  });

  it('a response that a triage stands on is not judged again: the triage card (E5 fixture, scored)', async () => {
    const prefetch = { lastTriage: await prefetchFor('rule-e5'), lastResponses: await responsesFor('rule-e5') };
    const res = await request(cds).post('/cds-services/hip-pain-triage').send(hook('rule-e5', { prefetch })).expect(200);
    expect(res.body.cards[0].summary).not.toMatch(/not yet scored/);
    expect(res.body.cards[0].indicator).toBe('critical');
  });
});

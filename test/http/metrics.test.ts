import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';
import { isLoopbackAddress, metricsAccess } from '../../src/http/metricsRoute';
import { answersWith, buildResponse } from '../support/responses';
import { startTestService } from '../support/testService';
import { tempDataDir } from '../fhir/embedded/fixtures';

/** The value of one sample line (`name{labels} value`), or 0 when the series does not exist yet. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The app as seen from another machine: the socket's remote address is not loopback. */
function fromAddress(app: Express, address: string) {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    Object.defineProperty(req.socket, 'remoteAddress', { value: address, configurable: true });
    app(req, res);
  });
}

const triage = (app: Express, answers = answersWith({}), query = '') =>
  request(app)
    .post(`/fhir/QuestionnaireResponse/$triage${query}`)
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(buildResponse(answers)));

describe('who may read /metrics', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['::ffff:10.0.0.5', false],
    ['2001:db8::1', false],
    ['not-an-address', false],
    [undefined, false],
  ] as const)('%s is loopback: %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });

  it('without a token: loopback only', () => {
    expect(metricsAccess('127.0.0.1', undefined, undefined)).toBe('allowed');
    expect(metricsAccess('192.0.2.7', undefined, undefined)).toBe('forbidden');
    expect(metricsAccess('192.0.2.7', 'Bearer anything-at-all', undefined)).toBe('forbidden');
  });

  it('with a token: the token, from anywhere, loopback included', () => {
    const token = 'metrics-token-0123456789';
    expect(metricsAccess('192.0.2.7', `Bearer ${token}`, token)).toBe('allowed');
    expect(metricsAccess('192.0.2.7', `bearer ${token}`, token)).toBe('allowed');
    expect(metricsAccess('127.0.0.1', undefined, token)).toBe('unauthorized');
    expect(metricsAccess('127.0.0.1', `Bearer ${token}x`, token)).toBe('unauthorized');
    expect(metricsAccess('127.0.0.1', token, token)).toBe('unauthorized');
  });

  it('over HTTP: 200 from loopback, 403 from another address, with no metric in the refusal', async () => {
    const service = await startTestService();
    try {
      const local = await request(service.app).get('/metrics').expect(200);
      expect(local.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const remote = await request(fromAddress(service.app, '203.0.113.9')).get('/metrics');
      expect(remote.status).toBe(403);
      expect(remote.text).not.toContain('hip_triage_');
      expect(remote.body.resourceType).toBe('OperationOutcome');
    } finally {
      await service.close();
    }
  });

  it('over HTTP with METRICS_TOKEN: 401 without it (even from loopback), 200 with it from elsewhere', async () => {
    const token = 'a-long-enough-metrics-token';
    const service = await startTestService({ METRICS_TOKEN: token });
    try {
      const missing = await request(service.app).get('/metrics');
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
      const remote = await request(fromAddress(service.app, '203.0.113.9')).get('/metrics').set('Authorization', `Bearer ${token}`);
      expect(remote.status).toBe(200);
      expect(remote.text).toContain('hip_triage_http_requests_total');
    } finally {
      await service.close();
    }
  });
});

describe('what /metrics reports', () => {
  it('a triage increments its disposition, counted per route pattern and without ids', async () => {
    const service = await startTestService();
    try {
      const emergency = 'hip_triage_triages_total{disposition="emergency",persisted="true"}';
      const before = (await request(service.app).get('/metrics')).text;
      await triage(service.app, answersWith({ 'saddle-numbness': true })).expect(200);
      await triage(service.app, answersWith({}), '?persist=false').expect(200);
      await request(service.app).post('/fhir/QuestionnaireResponse/some-stored-id/$triage').set('Content-Type', 'application/fhir+json').send('{}');
      const after = (await request(service.app).get('/metrics')).text;

      expect(sample(after, emergency)).toBe(sample(before, emergency) + 1);
      expect(sample(after, 'hip_triage_triages_total{disposition="self-care",persisted="false"}')).toBe(1);
      expect(sample(after, 'hip_triage_http_requests_total{method="POST",route="/fhir/QuestionnaireResponse/$triage",status="200"}')).toBe(2);
      expect(sample(after, 'hip_triage_http_request_duration_seconds_count{method="POST",route="/fhir/QuestionnaireResponse/$triage"}')).toBe(2);
      expect(sample(after, 'hip_triage_http_requests_total{method="POST",route="/fhir/QuestionnaireResponse/:id/$triage",status="404"}')).toBe(1);
      expect(after).not.toContain('some-stored-id');
      // Process metrics are there too.
      expect(after).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(after).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    } finally {
      await service.close();
    }
  });

  it('FHIR REST requests are labelled by pattern: the resource type kept, ids and query left out', async () => {
    const service = await startTestService();
    try {
      const put = await request(service.app)
        .put('/fhir/Patient/metrics-label-check')
        .set('Content-Type', 'application/fhir+json')
        .send('{"resourceType":"Patient","id":"metrics-label-check"}');
      await request(service.app)
        .get(`/fhir/Patient/metrics-label-check/_history/${String(put.body.meta?.versionId)}`)
        .expect(200);
      await request(service.app).get('/fhir/RiskAssessment?subject=Patient/metrics-label-check');
      await request(service.app).get('/no/such/place/metrics-label-check');
      const text = (await request(service.app).get('/metrics')).text;
      expect(text).not.toContain('metrics-label-check');
      expect(text).toMatch(/^hip_triage_http_requests_total\{method="PUT",route="\/fhir\/Patient\/:id",status="20[01]"\} 1$/m);
      expect(sample(text, 'hip_triage_http_requests_total{method="GET",route="/fhir/Patient/:id/_history/:vid",status="200"}')).toBe(1);
      expect(sample(text, 'hip_triage_http_requests_total{method="GET",route="/fhir/RiskAssessment",status="200"}')).toBe(1);
      expect(sample(text, 'hip_triage_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    } finally {
      await service.close();
    }
  });

  it('the embedded store: resources and database size, read at each scrape', async () => {
    const { dir, cleanup } = tempDataDir();
    const service = await startTestService({ DATA_DIR: dir });
    try {
      const before = (await request(service.app).get('/metrics')).text;
      await triage(service.app, answersWith({ 'pain-score': 8 })).expect(200);
      const after = (await request(service.app).get('/metrics')).text;
      expect(sample(after, 'hip_triage_store_resources')).toBeGreaterThan(sample(before, 'hip_triage_store_resources'));
      expect(sample(after, 'hip_triage_store_database_bytes')).toBeGreaterThan(sample(before, 'hip_triage_store_database_bytes'));
    } finally {
      await service.close();
      cleanup();
    }
  });

  it('two services in one process keep separate counts', async () => {
    const first = await startTestService();
    const second = await startTestService();
    try {
      await triage(first.app).expect(200);
      const series = 'hip_triage_triages_total{disposition="self-care",persisted="true"}';
      expect(sample((await request(first.app).get('/metrics')).text, series)).toBe(1);
      expect(sample((await request(second.app).get('/metrics')).text, series)).toBe(0);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

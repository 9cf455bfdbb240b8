import type { CapabilityStatement, OperationDefinition } from '@medplum/fhirtypes';
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { buildOpenApiDocument } from '../../src/http/openApiDocument';
import { answersWith, buildResponse } from '../support/responses';
import { startTestService } from '../support/testService';
import { validateOpenApi } from '../support/validateOpenApi';

const TRIAGE_DEFINITION = 'https://fhir.hip-triage.example.org/OperationDefinition/QuestionnaireResponse-triage';

let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

describe('the $triage OperationDefinition', () => {
  it('/fhir/metadata lists $triage on the server and on QuestionnaireResponse, pointing at the definition', async () => {
    const res = await request(service.app).get('/fhir/metadata').expect(200);
    const statement = res.body as CapabilityStatement;
    const rest = statement.rest?.[0];
    expect(rest?.operation).toContainEqual({ name: 'triage', definition: TRIAGE_DEFINITION });
    const qr = rest?.resource?.find((r) => r.type === 'QuestionnaireResponse');
    expect(qr?.operation).toContainEqual({ name: 'triage', definition: TRIAGE_DEFINITION });
  });

  it('the canonical the CapabilityStatement names is served, and declares what the route accepts', async () => {
    const search = await request(service.app)
      .get(`/fhir/OperationDefinition?url=${encodeURIComponent(TRIAGE_DEFINITION)}`)
      .expect(200);
    expect(search.body.entry).toHaveLength(1);
    const definition = search.body.entry[0].resource as OperationDefinition;
    expect(definition).toMatchObject({
      url: TRIAGE_DEFINITION,
      version: '1.0.0',
      code: 'triage',
      resource: ['QuestionnaireResponse'],
      system: false,
      type: true,
      instance: true,
      affectsState: true,
    });
    const parameters = (definition.parameter ?? []).map((p) => [p.name, p.use, p.min, p.max, p.type]);
    expect(parameters).toEqual([
      ['response', 'in', 0, '1', 'QuestionnaireResponse'],
      ['persist', 'in', 0, '1', 'boolean'],
      ['return', 'out', 1, '1', 'Bundle'],
    ]);
  });

  it('the declared `persist` in-parameter is honoured in a Parameters body', async () => {
    const response = buildResponse(answersWith({}), { subject: { reference: 'Patient/persist-param-check' } });
    const withPersist = (persist: boolean) => ({
      resourceType: 'Parameters',
      parameter: [
        { name: 'response', resource: response },
        { name: 'persist', valueBoolean: persist },
      ],
    });
    const stored = async (): Promise<number> =>
      (await request(service.app).get('/fhir/RiskAssessment?subject=Patient/persist-param-check')).body.entry?.length ?? 0;
    const triage = (body: unknown) =>
      request(service.app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(body)).expect(200);
    await triage(withPersist(false));
    expect(await stored()).toBe(0);
    await triage(withPersist(true));
    expect(await stored()).toBe(1);

    const scoreOnly = withPersist(false);

    const badPersist = {
      ...scoreOnly,
      parameter: [
        { name: 'response', resource: response },
        { name: 'persist', valueString: 'no' },
      ],
    };
    const refused = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(badPersist));
    expect(refused.status).toBe(400);
    expect(refused.body.issue[0].expression).toEqual(['Parameters.parameter[1]']);
  });
});

describe('/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document by the official schema', async () => {
    const res = await request(service.app)
      .get('/openapi.json')
      .expect(200)
      .expect('Content-Type', /application\/json/);
    const verdict = await validateOpenApi(res.body);
    expect(verdict.errors).toEqual([]);
    expect(verdict).toMatchObject({ valid: true, version: '3.1' });
  });

  it('the validator really judges: the same document without `info` fails', async () => {
    const { info: _info, ...withoutInfo } = buildOpenApiDocument({
      publicBaseUrl: 'http://127.0.0.1:8080',
      softwareVersion: '1.0.0',
      auth: false,
      metricsToken: false,
    });
    expect((await validateOpenApi(withoutInfo)).valid).toBe(false);
  });

  it('is valid too for a deployment with SMART auth and a metrics token, and says so', async () => {
    const document = buildOpenApiDocument({ publicBaseUrl: 'https://triage.example.org', softwareVersion: '1.0.0', auth: true, metricsToken: true });
    expect((await validateOpenApi(document)).valid).toBe(true);
    const paths = document.paths as Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    expect(paths['/fhir/QuestionnaireResponse/$triage']?.post?.security).toEqual([{ smartBearer: [] }]);
    expect(Object.keys(paths['/fhir/QuestionnaireResponse/$triage']?.post?.responses ?? {})).toEqual(expect.arrayContaining(['401', '403']));
    expect(paths['/metrics']?.get?.security).toEqual([{ metricsToken: [] }]);
  });

  it('describes every route of the service contract outside FHIR REST, with the methods it names', async () => {
    const document = (await request(service.app).get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>>; servers: { url: string }[] };
    const described = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => k !== 'parameters')
        .map((method) => `${method.toUpperCase()} ${path}`)
    );
    expect(described.sort()).toEqual(
      [
        'POST /fhir/QuestionnaireResponse/$triage',
        'POST /fhir/QuestionnaireResponse/{id}/$triage',
        'POST /fhir/RiskAssessment/{id}/$review',
        'POST /subscriptions/questionnaire-response',
        'PUT /subscriptions/questionnaire-response',
        'POST /subscriptions/questionnaire-response/QuestionnaireResponse/{id}',
        'PUT /subscriptions/questionnaire-response/QuestionnaireResponse/{id}',
        'GET /cds-services',
        'POST /cds-services/hip-pain-triage',
        'POST /cds-services/hip-pain-triage/feedback',
        'GET /smart/launch',
        'GET /smart/callback',
        'GET /smart/app',
        'POST /smart/submit',
        'POST /smart/retry',
        'GET /smart/result',
        'GET /smart/assets/{path}',
        'GET /smart/jwks.json',
        'GET /queue',
        'GET /queue/dashboard',
        'GET /queue/dashboard.csv',
        'GET /dashboard',
        'POST /queue/review/{id}',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
      ].sort()
    );
    expect(document.servers).toEqual([{ url: 'http://127.0.0.1:8080' }]);
  });

  it('what the service answers matches the schemas it documents', async () => {
    const document = (await request(service.app).get('/openapi.json')).body as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ ...document, $id: 'openapi.json' });
    const check = (schema: string, body: unknown): unknown => {
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${schema}`);
      expect(validate).toBeDefined();
      return validate?.(body) ? [] : validate?.errors;
    };

    const ready = await request(service.app).get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', mode: 'embedded', store: 'ok' });
    expect(check('Readiness', ready.body)).toEqual([]);
    const scored = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage?persist=false')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(buildResponse(answersWith({ 'saddle-numbness': true }))))
      .expect(200);
    expect(check('Bundle', scored.body)).toEqual([]);
    const invalid = await request(service.app)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send('{"resourceType":"QuestionnaireResponse","status":"in-progress"}');
    expect(invalid.status).toBe(422);
    expect(check('OperationOutcome', invalid.body)).toEqual([]);
    const discovery = await request(service.app).get('/cds-services').expect(200);
    expect(check('CdsDiscovery', discovery.body)).toEqual([]);
    // And the schemas are not vacuous: a Bundle is not an OperationOutcome.
    expect(check('OperationOutcome', scored.body)).not.toEqual([]);
  });

  it('every documented route this app serves itself is routed (none falls through to "No route")', async () => {
    for (const [method, path] of [
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', '/openapi.json'],
      ['post', '/fhir/QuestionnaireResponse/$triage'],
      ['post', '/fhir/QuestionnaireResponse/no-such-response/$triage'],
    ] as const) {
      const res = await request(service.app)
        [method](path)
        .set('Content-Type', 'application/fhir+json')
        .send(method === 'post' ? '{}' : undefined);
      expect([path, JSON.stringify(res.body)]).not.toEqual([path, expect.stringContaining('No route')]);
    }
  });
});

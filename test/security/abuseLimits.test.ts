import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { Router } from 'express';
import request from 'supertest';
import { buildCapabilityStatement } from '../../src/http/capabilityStatement';
import { createApp } from '../../src/http/createApp';
import { MAX_JSON_ARRAY_LENGTH, MAX_JSON_DEPTH, shapeProblem } from '../../src/http/bodyShapeLimits';
import { applyServerTimeouts } from '../../src/http/requestTimeout';
import { API_CONTENT_SECURITY_POLICY } from '../../src/http/securityHeaders';
import { NO_REQUEST_SECURITY } from '../../src/http/securityLayer';
import { createLogger } from '../../src/logger';
import { QUEUE_CSP } from '../../src/queue/queueRoutes';
import { answersWith, buildResponse } from '../support/responses';
import { LogCapture, startTestService } from '../support/testService';
import { startSecuredService } from './securedService';
import { startTokenIssuer } from './tokenIssuer';

const TRIAGE = '/fhir/QuestionnaireResponse/$triage?persist=false';
const FHIR_JSON = 'application/fhir+json';

function issueOf(body: unknown): { code?: string; text?: string } {
  const issue = (body as OperationOutcome).issue?.[0];
  return { code: issue?.code, text: issue?.details?.text };
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) {
    value = { item: [value] };
  }
  return value;
}

describe('request bodies of a hostile shape are refused before any work', () => {
  let service: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    service = await startTestService({ RATE_LIMIT_PER_MINUTE: '0' });
  });
  afterAll(() => service.close());

  const post = (body: string) => request(service.app).post(TRIAGE).set('Content-Type', FHIR_JSON).send(body);

  it('more than 1 MB → 413', async () => {
    const res = await post(JSON.stringify({ resourceType: 'QuestionnaireResponse', text: 'x'.repeat(1_100_000) }));
    expect(res.status).toBe(413);
    expect(issueOf(res.body).code).toBe('too-costly');
  });

  it(`nested deeper than ${MAX_JSON_DEPTH} levels → 400 (and a depth of 200,000 does not crash anything)`, async () => {
    const deep = await post(JSON.stringify({ resourceType: 'QuestionnaireResponse', item: [nested(40)] }));
    expect(deep.status).toBe(400);
    expect(issueOf(deep.body)).toEqual({ code: 'structure', text: `The body is nested more than ${MAX_JSON_DEPTH} levels deep.` });
    const abyss = await post(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(abyss.status).toBe(400);
    // An ordinary response still nests well within the limit.
    await post(JSON.stringify(buildResponse(answersWith({})))).expect(200);
  });

  it(`an array of more than ${MAX_JSON_ARRAY_LENGTH} entries → 413`, async () => {
    const res = await post(JSON.stringify({ resourceType: 'QuestionnaireResponse', item: Array.from({ length: MAX_JSON_ARRAY_LENGTH + 1 }, () => 0) }));
    expect(res.status).toBe(413);
    expect(issueOf(res.body).code).toBe('too-costly');
  });

  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON'])(
    'a "%s" key anywhere → 400, and Object.prototype stays clean',
    async (key) => {
      const body = `{"resourceType":"QuestionnaireResponse","item":[{"linkId":"a","${key}":{"polluted":true}}]}`;
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(issueOf(res.body).code).toBe('structure');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  );

  it('shapeProblem walks without recursion', () => {
    expect(shapeProblem(nested(MAX_JSON_DEPTH / 2 - 1))).toBeUndefined();
    expect(shapeProblem(JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`))?.status).toBe(400);
    expect(shapeProblem(JSON.parse('{"a":{"__proto__":1}}'))?.status).toBe(400);
    expect(shapeProblem(null)).toBeUndefined();
    // Only keys: the same words as values are ordinary FHIR strings.
    expect(shapeProblem({ resourceType: 'Basic', text: { div: 'toString valueOf __proto__' }, code: { text: 'constructor' } })).toBeUndefined();
  });
});

describe('rate limit (RATE_LIMIT_PER_MINUTE)', () => {
  it('429 with Retry-After and an OperationOutcome past the limit; probes are never limited', async () => {
    const service = await startTestService({ RATE_LIMIT_PER_MINUTE: '5' });
    try {
      for (let i = 0; i < 5; i++) {
        await request(service.app).get('/fhir/metadata').expect(200);
      }
      const limited = await request(service.app).get('/fhir/metadata');
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(issueOf(limited.body).code).toBe('throttled');
      for (let i = 0; i < 10; i++) {
        await request(service.app).get('/healthz').expect(200);
        await request(service.app).get('/readyz').expect(200);
      }
    } finally {
      await service.close();
    }
  });

  it('keys a verified caller by token subject, and counts refused tokens against the address', async () => {
    const issuer = await startTokenIssuer('https://auth.example.test', 'api');
    const service = await startSecuredService({ AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: 'api', AUTH_JWKS_URI: issuer.jwksUri, RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const alice = await issuer.sign({ sub: 'alice', scope: 'openid' });
      const bob = await issuer.sign({ sub: 'bob', scope: 'openid' });
      const get = (token: string) => request(service.app).get('/fhir/Questionnaire/hip-pain-triage').set('Authorization', `Bearer ${token}`);
      for (let i = 0; i < 3; i++) {
        await get(alice).expect(200);
      }
      await get(alice).expect(429);
      // Same address, another subject: a budget of its own.
      await get(bob).expect(200);
      // Refused tokens spend the address's budget: after three, a 429 rather than a 401.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await get('garbage')).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await service.close();
      await issuer.close();
    }
  });

  it('0 turns it off', async () => {
    const service = await startTestService({ RATE_LIMIT_PER_MINUTE: '0' });
    try {
      const res = await request(service.app).get('/fhir/metadata').expect(200);
      expect(res.headers.ratelimit).toBeUndefined();
    } finally {
      await service.close();
    }
  });
});

describe('CORS (CORS_ORIGINS)', () => {
  it('answers allowed origins only, preflights included, never with credentials', async () => {
    const service = await startTestService({ CORS_ORIGINS: 'https://app.clinic.test, https://other.clinic.test' });
    try {
      const preflight = await request(service.app)
        .options('/fhir/QuestionnaireResponse/$triage')
        .set('Origin', 'https://app.clinic.test')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type');
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://app.clinic.test');
      expect(preflight.headers['access-control-allow-headers']).toContain('Authorization');
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
      const simple = await request(service.app).get('/fhir/metadata').set('Origin', 'https://other.clinic.test');
      expect(simple.headers['access-control-allow-origin']).toBe('https://other.clinic.test');
      expect(simple.headers['access-control-expose-headers']).toContain('X-Request-Id');
      const stranger = await request(service.app).options('/fhir/metadata').set('Origin', 'https://evil.test').set('Access-Control-Request-Method', 'GET');
      expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
      const strangerGet = await request(service.app).get('/fhir/metadata').set('Origin', 'https://evil.test');
      expect(strangerGet.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await service.close();
    }
  });

  it('no CORS_ORIGINS: no CORS headers at all', async () => {
    const service = await startTestService();
    try {
      const res = await request(service.app).get('/fhir/metadata').set('Origin', 'https://app.clinic.test');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await service.close();
    }
  });
});

describe('security headers', () => {
  it('helmet’s headers everywhere; the API policy only where a page set none of its own', async () => {
    const service = await startTestService();
    try {
      const api = await request(service.app).get('/fhir/metadata');
      expect(api.headers['x-content-type-options']).toBe('nosniff');
      expect(api.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(api.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(api.headers['referrer-policy']).toBe('no-referrer');
      expect(api.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
      expect(api.headers['x-powered-by']).toBeUndefined();
      const notFound = await request(service.app).get('/nowhere');
      expect(notFound.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
      // The staff queue (loopback, no auth configured) keeps its own policy, once.
      const queue = await request(service.app).get('/queue');
      expect(queue.status).toBe(200);
      expect(queue.headers['content-security-policy']).toBe(QUEUE_CSP);
    } finally {
      await service.close();
    }
  });
});

describe('no stack traces or internal paths in any answer', () => {
  const INTERNAL = '/work/main/src/secret/internals.ts';
  function appThatFails(handlerTimeoutMs = 20_000) {
    const logs = new LogCapture();
    const failing = Router();
    failing.get('/boom', () => {
      throw new Error(`ENOENT: no such file or directory, open '${INTERNAL}'`);
    });
    failing.get('/boom-async', async () => {
      await Promise.resolve();
      throw Object.assign(new TypeError(`Cannot read properties of undefined (reading 'x') at ${INTERNAL}:12:5`), { status: 500 });
    });
    failing.get('/hang', () => undefined);
    const app = createApp({
      logger: createLogger('error', logs),
      store: { checkReady: async () => undefined } as never,
      rest: undefined,
      contentResources: [],
      capabilityStatement: buildCapabilityStatement({
        mode: 'remote',
        publicBaseUrl: 'http://127.0.0.1',
        softwareVersion: 'test',
        resourceTypes: [],
        contentTypes: [],
      }),
      triage: async () => {
        throw new RangeError(`Maximum call stack size exceeded in ${INTERNAL}`);
      },
      features: [failing],
      security: { ...NO_REQUEST_SECURITY, handlerTimeoutMs },
    });
    return { app, logs };
  }

  it.each([
    ['GET', '/boom'],
    ['GET', '/boom-async'],
    ['POST', '/fhir/QuestionnaireResponse/$triage'],
  ])('%s %s: a forced error → 500 OperationOutcome without the message, a stack or a path', async (method, path) => {
    const { app, logs } = appThatFails();
    const res = method === 'GET' ? await request(app).get(path) : await request(app).post(path).set('Content-Type', FHIR_JSON).send('{}');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', details: { text: 'Internal server error' } }],
    });
    expect(res.text).not.toMatch(/\/work\/|node_modules|\.ts|\bat \w/);
    // The operator still learns what happened.
    expect(logs.text()).toContain('unhandled error');
  });

  it('a handler that never answers → 503 with Retry-After and an OperationOutcome', async () => {
    const { app } = appThatFails(200);
    const res = await request(app).get('/hang').timeout(10_000);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(issueOf(res.body).code).toBe('timeout');
  });
});

describe('server timeouts', () => {
  it('a client that never finishes its headers is cut off with a 408', async () => {
    const service = await startTestService();
    // A short connection check so the test does not wait Node's default 30 s.
    const server: Server = createServer({ connectionsCheckingInterval: 100 }, service.app);
    applyServerTimeouts(server, { requestTimeoutMs: 600, headersTimeoutMs: 300, keepAliveTimeoutMs: 1_000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
        // Generous hang guard only: the server must close the socket long before this.
        setTimeout(() => reject(new Error('the server kept the stalled connection open')), 15_000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.close();
    }
  });
});

import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { beginLaunch, completeLaunch, type SmartClientSettings } from '../../src/smart/smartAuthorization';
import { loadSmartClientCredentials } from '../../src/smart/smartClientCredentials';
import { SMART_CLIENT_JWKS_PATH, smartClientJwksRoute } from '../../src/smart/smartClientJwksRoute';
import type { SmartEndpoints } from '../../src/smart/smartDiscovery';
import { startTestAuthorizationServer, type TestAuthorizationServer } from '../support/testAuthorizationServer';

interface TokenRequest extends IncomingMessage {
  body?: Record<string, string>;
}

const CLIENT_ID = 'hip-pain-triage';
const dir = mkdtempSync(join(tmpdir(), 'hip-smart-client-'));
let server: TestAuthorizationServer;
let endpoints: SmartEndpoints;
const seen: { authorization: string | undefined; body: Record<string, string> }[] = [];

beforeAll(async () => {
  server = await startTestAuthorizationServer();
  endpoints = {
    issuer: server.issuerUrl,
    authorizationEndpoint: `${server.issuerUrl}/authorize`,
    tokenEndpoint: `${server.issuerUrl}/token`,
    jwksUri: server.jwksUri,
    capabilities: [],
  };
  server.server.service.on('beforeResponse', (response: { body: Record<string, unknown> }, req: TokenRequest) => {
    seen.push({ authorization: req.headers.authorization, body: { ...(req.body ?? {}) } });
    Object.assign(response.body, { patient: 'pat-1' });
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One EHR launch through the real authorization server, as the app's routes run it. */
async function launchWith(settings: SmartClientSettings): Promise<{ authorization: string | undefined; body: Record<string, string> }> {
  seen.length = 0;
  const { url, pending } = beginLaunch({ settings, iss: 'https://ehr.example.org/fhir', launch: 'launch-1', endpoints, nowMs: Date.now() });
  const callback = await server.authorize(url);
  const context = await completeLaunch({ settings, pending, callbackUrl: callback.href, nowMs: Date.now() });
  expect(context.patientId).toBe('pat-1');
  expect(seen).toHaveLength(1);
  return seen[0] as { authorization: string | undefined; body: Record<string, string> };
}

const base = { clientId: CLIENT_ID, scopes: 'launch openid fhirUser patient/Patient.r', redirectUri: 'http://127.0.0.1:8080/smart/callback' };

describe('the SMART app as a confidential client', () => {
  it('with no credentials is a public client: PKCE and its client_id, no secret, no assertion', async () => {
    const { authorization, body } = await launchWith(base);
    expect(authorization).toBeUndefined();
    expect(body.client_id).toBe(CLIENT_ID);
    expect(body.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(body.client_assertion).toBeUndefined();
  });

  it('with SMART_CLIENT_SECRET authenticates with HTTP Basic (confidential-symmetric), PKCE still sent', async () => {
    const credentials = await loadSmartClientCredentials({ method: 'client-secret', secret: 'a-long-shared-secret-1' });
    const { authorization, body } = await launchWith({ ...base, clientAuth: credentials?.clientAuth });
    const [user, password] = Buffer.from((authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString('utf8')
      .split(':')
      .map(decodeURIComponent);
    expect([user, password]).toEqual([CLIENT_ID, 'a-long-shared-secret-1']);
    expect(body.code_verifier).toBeDefined();
    expect(credentials?.publicJwks).toBeUndefined();
  });

  it('with SMART_CLIENT_KEY signs a private_key_jwt that verifies against the JWKS it publishes (confidential-asymmetric)', async () => {
    const { privateKey } = await generateKeyPair('RS384', { extractable: true });
    const keyFile = join(dir, 'smart-client.jwk.json');
    writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'RS384', kid: 'smart-key-1' }));
    const credentials = await loadSmartClientCredentials({ method: 'private-key-jwt', keyFile });
    const { authorization, body } = await launchWith({ ...base, clientAuth: credentials?.clientAuth });
    expect(authorization).toBeUndefined();
    expect(body.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');

    const app = express().use(smartClientJwksRoute(credentials?.publicJwks ?? { keys: [] }));
    const published = await request(app).get(SMART_CLIENT_JWKS_PATH);
    expect(published.status).toBe(200);
    const jwks = published.body as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: 'smart-key-1', alg: 'RS384', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    const { payload, protectedHeader } = await jwtVerify(body.client_assertion ?? '', createLocalJWKSet(jwks as never), {
      issuer: CLIENT_ID,
      subject: CLIENT_ID,
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS384', kid: 'smart-key-1' });
    expect(typeof payload.jti).toBe('string');
    expect(typeof payload.exp).toBe('number');
  });

  it('refuses both settings at once, and a short secret, at start-up', () => {
    expect(() => loadConfig({ SMART_CLIENT_SECRET: 'a-long-shared-secret-1', SMART_CLIENT_KEY: '/k.json' }, '/srv/app')).toThrow(
      /SMART_CLIENT_SECRET and SMART_CLIENT_KEY/
    );
    expect(() => loadConfig({ SMART_CLIENT_SECRET: 'short' }, '/srv/app')).toThrow(/SMART_CLIENT_SECRET must be at least 16 characters/);
    expect(loadConfig({ SMART_CLIENT_KEY: '/k.json' }, '/srv/app').smart.clientAuth).toEqual({ method: 'private-key-jwt', keyFile: '/k.json' });
  });

  it('names the setting and the file when the key cannot be used', async () => {
    await expect(loadSmartClientCredentials({ method: 'private-key-jwt', keyFile: join(dir, 'missing.json') })).rejects.toThrow(
      /SMART_CLIENT_KEY .*missing\.json cannot be read/
    );
  });
});

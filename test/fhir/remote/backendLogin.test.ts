import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperationOutcomeError } from '@medplum/core';
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { readFhirClientSettings } from '../../../src/config';
import { backendCredentials, type BackendCredentials, TRIAGE_BACKEND_SCOPES } from '../../../src/fhir/remote/backendLogin';
import { loadClientKey } from '../../../src/fhir/remote/clientAssertion';
import { openRemoteStore } from '../../../src/fhir/remote/remoteStore';
import { statusOf } from '../../../src/http/sendOutcome';
import { type ScriptedServer, type SeenRequest, sendJson, startScriptedServer } from '../../support/scriptedServer';
import { recordingLogger } from '../embedded/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'backend-login-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'not-a-real-secret-4f1c';

/**
 * A FHIR server with its own token endpoint: issues opaque tokens `token-1`, `token-2`…, and
 * answers FHIR requests 401 when `revoked` holds the token presented.
 */
async function serverWithLogin(options: { readonly discovery: boolean }) {
  let issued = 0;
  const revoked = new Set<string>();
  const server: ScriptedServer = await startScriptedServer((req, res) => {
    if (req.url === '/fhir/.well-known/smart-configuration') {
      if (options.discovery) {
        sendJson(res, 200, { token_endpoint: `${server.url}/auth/token` });
      } else {
        sendJson(res, 404, { resourceType: 'OperationOutcome', issue: [] });
      }
      return;
    }
    if (req.url === '/auth/token') {
      issued++;
      sendJson(res, 200, { access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 300 });
      return;
    }
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!token.startsWith('token-') || revoked.has(token)) {
      sendJson(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
      return;
    }
    sendJson(res, 200, { resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01' });
  });
  return { server, revoked, tokenRequests: (): SeenRequest[] => server.requests.filter((r) => r.url === '/auth/token') };
}

describe('backend login: client secret', () => {
  it('logs in once with client_secret_basic, reuses the token, and logs in again once after a 401', async () => {
    const { server, revoked, tokenRequests } = await serverWithLogin({ discovery: false });
    const logger = recordingLogger();
    const credentials: BackendCredentials = {
      method: 'client-secret',
      clientId: 'triage service',
      clientSecret: SECRET,
      tokenUrl: `${server.url}/auth/token`,
      scope: undefined,
    };
    const store = openRemoteStore({ baseUrl: `${server.url}/fhir`, credentials, logger });
    try {
      await store.readResource('Patient', 'p1');
      await store.readResource('Patient', 'p1');
      expect(tokenRequests()).toHaveLength(1);
      const [login] = tokenRequests();
      expect(login?.headers.authorization).toBe(`Basic ${Buffer.from(`triage%20service:${SECRET}`).toString('base64')}`);
      expect(new URLSearchParams(login?.body).get('grant_type')).toBe('client_credentials');
      expect(new URLSearchParams(login?.body).has('scope')).toBe(false);
      const fhirRequests = server.requests.filter((r) => r.url.startsWith('/fhir/Patient'));
      expect(fhirRequests.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1']);

      revoked.add('token-1');
      await expect(store.readResource('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
      expect(tokenRequests()).toHaveLength(2);
      expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer token-2');
      expect(JSON.stringify(logger.lines)).not.toMatch(/token-\d|not-a-real-secret/);
    } finally {
      await server.close();
    }
  });

  it('turns a refused login into a 4xx outcome naming the token endpoint, without retrying it', async () => {
    const server = await startScriptedServer((_req, res) => sendJson(res, 401, { error: 'invalid_client' }));
    try {
      const credentials: BackendCredentials = {
        method: 'client-secret',
        clientId: 'x',
        clientSecret: SECRET,
        tokenUrl: `${server.url}/token`,
        scope: undefined,
      };
      const store = openRemoteStore({ baseUrl: `${server.url}/fhir`, credentials, logger: recordingLogger() });
      const err = await store.readResource('Patient', 'p1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperationOutcomeError);
      const outcome = (err as OperationOutcomeError).outcome;
      expect(statusOf(outcome)).toBe(401);
      expect(outcome.issue?.[0]?.details?.text).toMatch(/token endpoint refused the backend login \(HTTP 401: invalid_client\)/);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('backend login: SMART Backend Services (private_key_jwt)', () => {
  it('discovers the token endpoint and signs a short-lived RS384 assertion for it, fresh for every login', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS384', { extractable: true });
    const keyFile = join(dir, 'client.jwk.json');
    writeFileSync(keyFile, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'triage-key-1', alg: 'RS384' }] }));
    const { server, revoked, tokenRequests } = await serverWithLogin({ discovery: true });
    try {
      const credentials = await backendCredentials(
        { clientId: 'triage-client', clientSecret: undefined, keyFile, tokenUrl: undefined, scopes: undefined },
        TRIAGE_BACKEND_SCOPES
      );
      const store = openRemoteStore({ baseUrl: `${server.url}/fhir`, credentials, logger: recordingLogger() });
      await store.readResource('Patient', 'p1');
      revoked.add('token-1');
      await store.readResource('Patient', 'p1');

      const tokenUrl = `${server.url}/auth/token`;
      const jtis: string[] = [];
      for (const login of tokenRequests()) {
        const form = new URLSearchParams(login.body);
        expect(form.get('grant_type')).toBe('client_credentials');
        expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        expect(form.get('scope')).toBe(TRIAGE_BACKEND_SCOPES);
        const assertion = form.get('client_assertion') ?? '';
        expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS384', kid: 'triage-key-1', typ: 'JWT' });
        const { payload } = await jwtVerify(assertion, publicKey, { audience: tokenUrl, issuer: 'triage-client', subject: 'triage-client' });
        expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(300);
        jtis.push(payload.jti ?? '');
      }
      expect(jtis).toHaveLength(2);
      expect(new Set(jtis).size).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('reads a P-384 PEM as ES384 with its JWK thumbprint as kid, and refuses a key SMART does not allow', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const pem = join(dir, 'ec.pem');
    writeFileSync(pem, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const key = await loadClientKey(pem);
    expect(key.alg).toBe('ES384');
    expect(key.kid).toBe(await calculateJwkThumbprint(await exportJWK(createPublicKey(ec.privateKey))));

    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const wrongCurve = join(dir, 'p256.pem');
    writeFileSync(wrongCurve, p256.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(loadClientKey(wrongCurve)).rejects.toThrow(/p256\.pem is not a usable private key: .*P-384/);

    const publicOnly = join(dir, 'public.jwk.json');
    writeFileSync(publicOnly, JSON.stringify(await exportJWK(createPublicKey(ec.privateKey))));
    await expect(loadClientKey(publicOnly)).rejects.toThrow(/holds no private key/);
  });
});

describe('FHIR_CLIENT_* settings', () => {
  it.each([
    [{ FHIR_CLIENT_SECRET: 's' }, /needs FHIR_CLIENT_ID/],
    [{ FHIR_CLIENT_ID: 'c' }, /FHIR_CLIENT_ID needs FHIR_CLIENT_SECRET/],
    [{ FHIR_CLIENT_ID: 'c', FHIR_CLIENT_SECRET: 's', FHIR_CLIENT_KEY: '/k.pem' }, /two login methods/],
    [{ FHIR_CLIENT_ID: 'c', FHIR_CLIENT_SECRET: 's', FHIR_TOKEN_URL: 'token' }, /FHIR_TOKEN_URL must be an http/],
  ])('refuses %j', (env, message) => {
    const problems: string[] = [];
    readFhirClientSettings(env, problems);
    expect(problems.join('\n')).toMatch(message);
  });

  it('accepts a client secret, a key, or nothing', () => {
    for (const env of [{}, { FHIR_CLIENT_ID: 'c', FHIR_CLIENT_SECRET: 's' }, { FHIR_CLIENT_ID: 'c', FHIR_CLIENT_KEY: '/k.pem', FHIR_SCOPES: 'system/*.rs' }]) {
      const problems: string[] = [];
      readFhirClientSettings(env, problems);
      expect([env, problems]).toEqual([env, []]);
    }
  });
});

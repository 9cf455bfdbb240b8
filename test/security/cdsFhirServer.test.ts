import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { startSecuredService } from './securedService';
import { startTokenIssuer, type TokenIssuer } from './tokenIssuer';

/**
 * Issue 19, SSRF through CDS Hooks `fhirServer`: the prefetch fallback searches only a
 * base the signing EHR's CDS_TRUSTED_ISSUERS entry names, never a private or loopback
 * address unless OUTBOUND_ALLOWED_NETWORKS says so, and never follows a redirect. Each
 * refusal is proved by a listener at the refused place that records no request at all.
 */
const BASE = 'http://127.0.0.1:8080';
const SERVICE_URL = `${BASE}/cds-services/hip-pain-triage`;
const EHR = 'https://ehr.hospital.test';
const OTHER_EHR = 'https://other-ehr.test';
const API_ISSUER = 'https://auth.hip-triage.test';

/** An emergency triage, as the EHR's FHIR server would answer the lastTriage search. */
const LAST_TRIAGE: Bundle = {
  resourceType: 'Bundle',
  type: 'searchset',
  entry: [
    {
      resource: {
        resourceType: 'RiskAssessment',
        status: 'final',
        subject: { reference: 'Patient/p-1' },
        prediction: [
          { outcome: { coding: [{ system: 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition', code: 'emergency', display: 'Emergency' }] } },
        ],
        basis: [],
      } as RiskAssessment,
    },
  ],
};

interface Listener {
  readonly url: string;
  readonly seen: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server on `host` that records every request it gets. */
async function listen(host: string, answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listener> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const fhirAnswer = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
  res.end(JSON.stringify(LAST_TRIAGE));
};

function hook(fhirServer: string) {
  return {
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { patientId: 'p-1' },
    fhirServer,
    fhirAuthorization: { access_token: 'ehr-access-token', token_type: 'Bearer', scope: 'patient/RiskAssessment.read', subject: 'hip-triage' },
  };
}

describe('CDS Hooks fhirServer: the outbound fetch policy (auth on)', () => {
  let ehr: TokenIssuer;
  let otherEhr: TokenIssuer;
  let service: Service;
  /** The EHR's FHIR server (allowed, on 127.0.0.1, which OUTBOUND_ALLOWED_NETWORKS lets through). */
  let ehrFhir: Listener;
  /** Another EHR's FHIR server, allowed for that EHR only. */
  let otherFhir: Listener;
  /** Listed for the EHR, but on 127.0.0.2: loopback outside OUTBOUND_ALLOWED_NETWORKS. */
  let loopbackFhir: Listener;
  /** Listed for the EHR; answers every search with a redirect to `trap`. */
  let redirector: Listener;
  /** Where a redirect, or an unlisted URL, would lead: listed nowhere. */
  let trap: Listener;

  beforeAll(async () => {
    ehrFhir = await listen('127.0.0.1', fhirAnswer);
    otherFhir = await listen('127.0.0.1', fhirAnswer);
    loopbackFhir = await listen('127.0.0.2', fhirAnswer);
    trap = await listen('127.0.0.1', fhirAnswer);
    redirector = await listen('127.0.0.1', (req, res) => {
      res.writeHead(302, { Location: `${trap.url}${req.url ?? ''}` });
      res.end();
    });
    ehr = await startTokenIssuer(EHR, SERVICE_URL);
    otherEhr = await startTokenIssuer(OTHER_EHR, SERVICE_URL);
    service = await startSecuredService({
      PUBLIC_BASE_URL: BASE,
      CDS_TRUSTED_ISSUERS: JSON.stringify({
        [EHR]: { jwks: ehr.jwksUri, fhirServers: [`${ehrFhir.url}/fhir`, `${loopbackFhir.url}/fhir`, `${redirector.url}/fhir`] },
        [OTHER_EHR]: { jwks: otherEhr.jwksUri, fhirServers: [`${otherFhir.url}/fhir`] },
      }),
      OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32',
      RATE_LIMIT_PER_MINUTE: '0',
    });
  });
  afterAll(async () => {
    await service.close();
    await Promise.all([ehr, otherEhr, ehrFhir, otherFhir, loopbackFhir, redirector, trap].map((s) => s.close()));
  });

  const call = async (issuer: TokenIssuer, fhirServer: string, status: number) =>
    request(service.app)
      .post('/cds-services/hip-pain-triage')
      .set('Authorization', `Bearer ${await issuer.sign({ jti: randomUUID() })}`)
      .send(hook(fhirServer))
      .expect(status);

  it("searches the signing EHR's own FHIR server, with the EHR's token", async () => {
    const before = ehrFhir.seen.length;
    const res = await call(ehr, `${ehrFhir.url}/fhir`, 200);
    expect(res.body.cards[0].indicator).toBe('critical');
    // The latest triage and the latest responses (an unscored red flag shows too), both under the signer's base.
    expect(ehrFhir.seen.slice(before)).toEqual([
      expect.stringMatching(/^GET \/fhir\/RiskAssessment\?subject=Patient\/p-1&/),
      expect.stringMatching(/^GET \/fhir\/QuestionnaireResponse\?subject=Patient\/p-1&/),
    ]);
  });

  const refusals: [name: string, issuer: () => TokenIssuer, fhirServer: () => string, listener: () => Listener][] = [
    ['an unlisted host (a port no issuer names)', () => ehr, () => `${trap.url}/fhir`, () => trap],
    ['a path that only shares a string prefix with a listed base (/fhir-admin)', () => ehr, () => `${ehrFhir.url}/fhir-admin`, () => ehrFhir],
    ['a path that climbs out of a listed base (/fhir/../admin)', () => ehr, () => `${ehrFhir.url}/fhir/../admin`, () => ehrFhir],
    ['credentials smuggled in front of a listed host', () => ehr, () => `http://user:pw@${ehrFhir.url.slice('http://'.length)}/fhir`, () => ehrFhir],
    ["another trusted EHR's base, in a call the EHR signed", () => ehr, () => `${otherFhir.url}/fhir`, () => otherFhir],
    ["the EHR's base, in a call another trusted EHR signed", () => otherEhr, () => `${ehrFhir.url}/fhir`, () => ehrFhir],
    ['a listed base on a loopback address outside OUTBOUND_ALLOWED_NETWORKS (127.0.0.2)', () => ehr, () => `${loopbackFhir.url}/fhir`, () => loopbackFhir],
  ];
  it.each(refusals)('refuses %s with 412, and no request leaves', async (_name, issuer, fhirServer, listener) => {
    const before = listener().seen.length;
    const res = await call(issuer(), fhirServer(), 412);
    expect(res.body.error).toMatch(/fhirServer/);
    expect(listener().seen.length).toBe(before);
  });

  it('does not follow a redirect: the place it points to gets no request', async () => {
    const before = { redirector: redirector.seen.length, trap: trap.seen.length };
    const res = await call(ehr, `${redirector.url}/fhir`, 412);
    expect(res.body.error).toMatch(/redirect/);
    expect(redirector.seen.length).toBe(before.redirector + 1);
    expect(trap.seen.length).toBe(before.trap);
  });
});

describe('CDS Hooks fhirServer without OUTBOUND_ALLOWED_NETWORKS, and with AUTH_* tokens', () => {
  let ehr: TokenIssuer;
  let api: TokenIssuer;
  let ehrFhir: Listener;
  beforeAll(async () => {
    ehrFhir = await listen('127.0.0.1', fhirAnswer);
    ehr = await startTokenIssuer(EHR, SERVICE_URL);
    api = await startTokenIssuer(API_ISSUER, 'hip-triage-api');
  });
  afterAll(async () => {
    await Promise.all([ehr, api, ehrFhir].map((s) => s.close()));
  });

  it('refuses a listed base on loopback by default: no request leaves', async () => {
    const service = await startSecuredService({
      PUBLIC_BASE_URL: BASE,
      CDS_TRUSTED_ISSUERS: JSON.stringify({ [EHR]: { jwks: ehr.jwksUri, fhirServers: [`${ehrFhir.url}/fhir`] } }),
      RATE_LIMIT_PER_MINUTE: '0',
    });
    try {
      const token = await ehr.sign({ jti: randomUUID() });
      const res = await request(service.app)
        .post('/cds-services/hip-pain-triage')
        .set('Authorization', `Bearer ${token}`)
        .send(hook(`${ehrFhir.url}/fhir`))
        .expect(412);
      expect(res.body.error).toMatch(/private, loopback or link-local/);
      expect(ehrFhir.seen).toEqual([]);
    } finally {
      await service.close();
    }
  });

  it('with AUTH_* and no CDS issuers, a bearer token (a patient app) cannot steer the fallback search anywhere', async () => {
    const service = await startSecuredService({
      PUBLIC_BASE_URL: BASE,
      AUTH_ISSUER: API_ISSUER,
      AUTH_AUDIENCE: 'hip-triage-api',
      AUTH_JWKS_URI: api.jwksUri,
      OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8',
      RATE_LIMIT_PER_MINUTE: '0',
    });
    try {
      const token = await api.sign({ scope: 'patient/Patient.r', patient: 'p-1' });
      const before = ehrFhir.seen.length;
      await request(service.app)
        .post('/cds-services/hip-pain-triage')
        .set('Authorization', `Bearer ${token}`)
        .send(hook(`${ehrFhir.url}/fhir`))
        .expect(412);
      expect(ehrFhir.seen.length).toBe(before);
    } finally {
      await service.close();
    }
  });
});

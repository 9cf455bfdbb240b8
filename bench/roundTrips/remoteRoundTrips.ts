import { createServer, request as httpRequest, type Server } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { DIST, type RunningServer, serviceEnv, startServer } from '../support/childProcesses';
import { loadRuleFixtures, responseVariant } from '../support/fixtures';

/** One request the service sent to the external server: method and path, never the query (it names patients). */
export interface SentRequest {
  readonly method: string;
  readonly path: string;
}

export interface RouteRoundTrips {
  readonly status: number;
  readonly requests: number;
  readonly sent: readonly SentRequest[];
  readonly goal: string;
  readonly met: boolean;
  /** What the route said it did (the receiver's OperationOutcome texts), so a count can be read. */
  readonly said?: string | undefined;
}

export interface RoundTripsSection {
  readonly newResponse: RouteRoundTrips;
  readonly sameResponseAgain: RouteRoundTrips;
  readonly storedResponse: RouteRoundTrips;
  readonly webhookPing: RouteRoundTrips | { readonly built: false; readonly note: string };
}

const SUBSCRIPTION_PATH = '/subscriptions/questionnaire-response';
const WEBHOOK_RESPONSE_ID = 'bench-webhook-response';
const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789abcdef';

/**
 * Round trips to an external FHIR server per triage, per route. The "external server" is the
 * embedded store's REST API alone (bareFhirServer.ts); between it and the service under test
 * (remote mode, FHIR_BASE_URL) sits a counting proxy in this process. Test data (the Patient,
 * a stored response) is put on the external server directly, around the proxy, so only the
 * service's own requests are counted.
 */
export async function measureRoundTrips(log: (line: string) => void): Promise<RoundTripsSection> {
  let external: RunningServer | undefined;
  let service: RunningServer | undefined;
  let proxy: Server | undefined;
  try {
    external = await startServer({
      name: 'external FHIR server (bare embedded store)',
      script: join(DIST, 'bench/roundTrips/bareFhirServer.js'),
      env: process.env,
    });
    const sent: SentRequest[] = [];
    const target = new URL(external.url);
    proxy = createServer((req, res) => {
      sent.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0] ?? '' });
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const address = proxy.address();
    const proxyPort = typeof address === 'object' && address ? address.port : 0;
    service = await startServer({
      name: 'service (remote mode)',
      script: join(DIST, 'src/server.js'),
      env: serviceEnv({ FHIR_BASE_URL: `http://127.0.0.1:${proxyPort}/fhir`, WEBHOOK_SECRET }),
    });

    // Self-care (S1): an adult, so a birth date a whole number of years back agrees with the answered age.
    const fixtures = loadRuleFixtures().filter((f) => f.id === 'rule-s1');
    const response = responseVariant(fixtures, 900_001);
    const patientId = /Patient\/(.+)$/.exec(response.subject?.reference ?? '')?.[1] ?? 'bench-patient';
    // A Patient with a birth date matching the answered age: the age check reads it, as in production.
    const age = answeredAge(response);
    const birthYear = Number((response.authored ?? '').slice(0, 4)) - age;
    await put(external.url, 'Patient', patientId, { resourceType: 'Patient', id: patientId, birthDate: `${birthYear}-01-01` });
    const stored: QuestionnaireResponse = { ...responseVariant(fixtures, 900_002), id: 'bench-stored-response' };
    await put(external.url, 'QuestionnaireResponse', 'bench-stored-response', stored);
    // A second stored response, never triaged: the webhook ping must cost a first triage, not find one.
    await put(external.url, 'QuestionnaireResponse', WEBHOOK_RESPONSE_ID, { ...responseVariant(fixtures, 900_003), id: WEBHOOK_RESPONSE_ID });

    const measure = async (path: string, body: unknown, goal: string, isMet: (n: number) => boolean): Promise<RouteRoundTrips> => {
      sent.length = 0;
      const answer = await fetch(`${service?.url ?? ''}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(body),
      });
      await answer.arrayBuffer();
      await settle();
      const copy = [...sent];
      return { status: answer.status, requests: copy.length, sent: copy, goal, met: answer.status < 300 && isMet(copy.length) };
    };
    const triagePath = '/fhir/QuestionnaireResponse/$triage';
    const newResponse = await measure(triagePath, response, 'exactly 1', (n) => n === 1);
    const sameResponseAgain = await measure(triagePath, response, 'at most 1', (n) => n <= 1);
    const storedResponse = await measure(
      `/fhir/QuestionnaireResponse/bench-stored-response/$triage`,
      { resourceType: 'Parameters' },
      'a read, then 1',
      (n) => n <= 2
    );
    const webhookPing = await measureWebhook(service.url, sent);
    for (const [name, route] of Object.entries({ newResponse, sameResponseAgain, storedResponse, webhookPing })) {
      log(
        'requests' in route
          ? `  ${name}: HTTP ${route.status}, ${route.requests} request(s) to the FHIR server (${route.sent.map((s) => `${s.method} ${s.path}`).join(', ')}); goal ${route.goal}${route.said ? `; it said: ${route.said}` : ''}`
          : `  ${name}: ${route.note}`
      );
    }
    return { newResponse, sameResponseAgain, storedResponse, webhookPing };
  } finally {
    await service?.stop();
    await external?.stop();
    proxy?.closeAllConnections();
    proxy?.close();
  }
}

/**
 * The Subscription receiver, if this build has it: an id-only notification for a stored
 * response should cost a read, then the one transaction. Until it exists the route is a 404
 * and the figure is "not built yet".
 */
async function measureWebhook(serviceUrl: string, sent: SentRequest[]): Promise<RoundTripsSection['webhookPing']> {
  const probe = await fetch(`${serviceUrl}${SUBSCRIPTION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: '{}' });
  const probeText = await probe.text();
  if (probe.status === 404 && probeText.includes('No route for')) {
    return { built: false, note: `not built yet: ${SUBSCRIPTION_PATH} answers 404 (no route)` };
  }
  sent.length = 0;
  // An id-only notification (`PUT {endpoint}/QuestionnaireResponse/{id}`), authenticated with WEBHOOK_SECRET as a bearer token.
  const answer = await fetch(`${serviceUrl}${SUBSCRIPTION_PATH}/QuestionnaireResponse/${WEBHOOK_RESPONSE_ID}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${WEBHOOK_SECRET}` },
    body: '{}',
  });
  const said = issueTexts(await answer.text());
  await settle();
  const copy = [...sent];
  return { status: answer.status, requests: copy.length, sent: copy, goal: 'a read or search, then 1', met: answer.status < 300 && copy.length <= 2, said };
}

function issueTexts(body: string): string | undefined {
  try {
    const outcome = JSON.parse(body) as { issue?: { details?: { text?: string } }[] };
    return (outcome.issue ?? []).map((i) => i.details?.text ?? '').join(' | ') || undefined;
  } catch {
    return undefined;
  }
}

/** Requests a route starts after answering (a background sweep) count too: give them a moment to be sent. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function answeredAge(response: QuestionnaireResponse): number {
  const find = (items: QuestionnaireResponse['item']): number | undefined => {
    for (const item of items ?? []) {
      const found = item.linkId === 'age' ? item.answer?.[0]?.valueInteger : find(item.item);
      if (found !== undefined) {
        return found;
      }
    }
    return undefined;
  };
  const age = find(response.item);
  if (age === undefined) {
    throw new Error('the S1 fixture has no age answer');
  }
  return age;
}

async function put(baseUrl: string, type: string, id: string, resource: object): Promise<void> {
  const answer = await fetch(`${baseUrl}/fhir/${type}/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  if (!answer.ok) {
    throw new Error(`PUT ${type}/${id} on the external server: HTTP ${answer.status} ${await answer.text()}`);
  }
}

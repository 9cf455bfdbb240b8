import { OperationOutcomeError } from '@medplum/core';
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirStore } from '../../../src/fhir/fhirStore';
import { openRemoteStore } from '../../../src/fhir/remote/remoteStore';
import { statusOf } from '../../../src/http/sendOutcome';
import { type Script, type ScriptedServer, sendJson, startScriptedServer } from '../../support/scriptedServer';
import { recordingLogger, triageTransaction } from '../embedded/fixtures';

/**
 * The remote store against a scripted server that misbehaves on cue: what is retried, what
 * is passed through, what is never cached. The store's shared contract is in storeContract.test.ts.
 */
const RETRY = { totalMs: 800, attemptTimeoutMs: 300, firstDelayMs: 20 };

const transactionResponse = (bundle: Bundle): Bundle => ({
  resourceType: 'Bundle',
  type: 'transaction-response',
  entry: (bundle.entry ?? []).map((e, i) => ({
    resource: { ...(e.resource as object), id: `id-${i}` } as never,
    response: { status: '201 Created', location: `${e.resource?.resourceType ?? ''}/id-${i}/_history/1` },
  })),
});

async function rejection(promise: Promise<unknown>): Promise<OperationOutcomeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  if (!(err instanceof OperationOutcomeError)) {
    throw new Error(`expected an OperationOutcomeError, got ${String(err)}`);
  }
  return err;
}

describe('remote store failure behaviour', () => {
  let server: ScriptedServer | undefined;
  const logger = recordingLogger();
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function storeAnswering(script: Script): Promise<{ store: FhirStore; server: ScriptedServer }> {
    server = await startScriptedServer(script);
    // The failure behaviour of one request; the write strategies have their own tests (clientIdWrite.test.ts).
    return {
      store: openRemoteStore({ baseUrl: `${server.url}/fhir`, credentials: { method: 'none' }, logger, retry: RETRY, writeStrategy: 'conditional-create' }),
      server,
    };
  }

  it('retries a 5xx with backoff, then lands the transaction in the request that succeeded', async () => {
    let calls = 0;
    const { store, server } = await storeAnswering((req, res) => {
      calls++;
      if (calls <= 2) {
        sendJson(res, 503, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
        return;
      }
      sendJson(res, 200, transactionResponse(JSON.parse(req.body) as Bundle));
    });
    const answer = await store.executeTransaction(triageTransaction('retry'));
    expect(answer.entry).toHaveLength(3);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /fhir/', 'POST /fhir/', 'POST /fhir/']);
    expect(server.requests[0]?.headers.prefer).toBe('return=representation');
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    expect(server.requests[0]?.headers['x-medplum']).toBeUndefined();
  });

  it('passes a 4xx through at once with its real status and the server’s own OperationOutcome (no id, as HAPI sends it)', async () => {
    const { store, server } = await storeAnswering((_req, res) => {
      sendJson(res, 412, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0958: multiple matches' }] });
    });
    const err = await rejection(store.executeTransaction(triageTransaction('refused')));
    expect(statusOf(err.outcome)).toBe(412);
    expect(err.outcome.issue).toEqual([{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0958: multiple matches' }]);
    expect(server.requests).toHaveLength(1);
  });

  it('reads a 404 as not found, also when the body is not JSON', async () => {
    const { store } = await storeAnswering((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html>not here</html>');
    });
    const err = await rejection(store.readResource('Patient', 'gone-patient'));
    expect(statusOf(err.outcome)).toBe(404);
  });

  it('gives up on a server that never answers once the budget is spent: a transient 503', async () => {
    const { store, server } = await storeAnswering(() => {
      // Never answers: every attempt times out.
    });
    const started = performance.now();
    const err = await rejection(store.executeTransaction(triageTransaction('hang')));
    const elapsed = performance.now() - started;
    expect(statusOf(err.outcome)).toBe(503);
    expect(err.outcome.issue?.[0]?.code).toBe('transient');
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    expect(elapsed).toBeLessThan(10_000); // hang guard only
  });

  it('honours a caller’s shorter wait (the age check’s read)', async () => {
    const { store, server } = await storeAnswering(() => undefined);
    const err = await rejection(store.readResource('Patient', 'slow', { maxWaitMs: 150 }));
    expect(statusOf(err.outcome)).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it('never answers from a cache: two reads are two requests', async () => {
    const { store, server } = await storeAnswering((_req, res) => sendJson(res, 200, { resourceType: 'Patient', id: 'p1' }));
    await store.readResource('Patient', 'p1');
    await store.readResource('Patient', 'p1');
    expect(server.requests).toHaveLength(2);
  });

  it('refuses an id that is not a FHIR id (it would be a path step) without sending anything', async () => {
    const { store, server } = await storeAnswering((_req, res) => sendJson(res, 200, {}));
    for (const id of ['..', '.', 'a/b', '']) {
      const err = await rejection(store.readResource('QuestionnaireResponse', id));
      expect([id, statusOf(err.outcome)]).toEqual([id, 400]);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('reads back, in one batch, the resources a server did not return (it ignored Prefer: return=representation)', async () => {
    const { store, server } = await storeAnswering((req, res) => {
      const bundle = JSON.parse(req.body) as Bundle;
      if (bundle.type === 'transaction') {
        const full = transactionResponse(bundle);
        sendJson(res, 200, { ...full, entry: full.entry?.map((e) => ({ response: e.response })) });
        return;
      }
      sendJson(res, 200, {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: bundle.entry?.map((e) => ({
          resource: { resourceType: e.request?.url.split('/')[0], id: e.request?.url.split('/')[1] },
          response: { status: '200' },
        })),
      });
    });
    const answer = await store.executeTransaction(triageTransaction('minimal'));
    expect(answer.entry?.map((e) => `${e.resource?.resourceType ?? ''}/${e.resource?.id ?? ''}`)).toEqual([
      'Patient/id-0',
      'Observation/id-1',
      'Observation/id-2',
    ]);
    expect(server.requests).toHaveLength(2);
    expect(JSON.parse(server.requests[1]?.body ?? '{}')).toMatchObject({ type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/id-0' } }, {}, {}] });
  });

  it('follows next links on its own base up to the _count asked (HAPI caps pages), never a link elsewhere', async () => {
    const { store, server } = await storeAnswering((req, res) => {
      const page = Number(new URL(req.url ?? '', 'http://x').searchParams.get('page') ?? '0');
      const base = `http://${req.headers.host ?? ''}/fhir`;
      const next = page === 0 ? `${base}/Task?page=1` : page === 1 ? 'http://elsewhere.invalid/fhir/Task?page=2' : undefined;
      sendJson(res, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [0, 1].map((i) => ({ resource: { resourceType: 'Task', id: `t${page}-${i}` }, search: { mode: 'match' } })),
        link: next ? [{ relation: 'next', url: next }] : [],
      });
    });
    const tasks = await store.searchResources('Task', { status: 'requested', _count: '10' });
    expect(tasks.map((t) => t.id)).toEqual(['t0-0', 't0-1', 't1-0', 't1-1']);
    expect(server.requests.map((r) => r.url)).toEqual(['/fhir/Task?status=requested&_count=10', '/fhir/Task?page=1']);
    expect(server.requests[0]?.headers['cache-control']).toBe('no-cache');
    server.requests.length = 0;
    expect(await store.searchResources('Task', { _count: '2' })).toHaveLength(2); // the first page had enough
    expect(server.requests).toHaveLength(1);
  });

  it('is not ready when the server is not FHIR R4', async () => {
    const { store } = await storeAnswering((_req, res) => sendJson(res, 200, { resourceType: 'CapabilityStatement', fhirVersion: '5.0.0' }));
    const err = await rejection(store.checkReady());
    expect(statusOf(err.outcome)).toBe(503);
  });

  it('logs operations and statuses, never resource content', () => {
    const text = JSON.stringify(logger.lines);
    expect(text).toContain('retrying');
    expect(text).not.toMatch(/Synthetic-|Testy/);
  });
});

import { Agent, createServer, type Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { answersWith, buildResponse } from '../support/responses';
import { startTestService } from '../support/testService';
import { type FuzzTarget, type HostileRequest, hostileRequests } from './hostileRequests';
import { FULL_TIER, runSize } from '../support/testTier';

/**
 * FUZZ_RUNS requests (10,000 in the full tier, 1,000 in the fast loop) generated and mutated by fast-check, sent eight at a
 * time through supertest to the real app in this process (embedded store in memory, no auth:
 * the point is what the routes do with hostile content; auth has tests of its own).
 * `FUZZ_SEED` replays a run; `FUZZ_SHOW_BODY=1` adds the start of each failing body to the report.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? runSize(10_000, 1_000));
/** Requests in flight together: the client and the app share this process, so a few overlap usefully. */
const BATCH = 8;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const WEBHOOK_SECRET = 'fuzz-webhook-secret-7d2c9e';
/** A stack frame, a file path, or the message of a JavaScript error that escaped a handler. */
const TRACES =
  /\/work\/|node_modules|\bat [\w.<>]+ \(|\.ts:\d+:\d+|Cannot read propert|is not a function|is not iterable|Cannot convert object|Maximum call stack/;

function prototypeShape(): string {
  return JSON.stringify([Object.getOwnPropertyNames(Object.prototype).sort(), Object.getOwnPropertyNames(Array.prototype).sort()]);
}

describe('fuzzing $triage, /fhir and the Subscription receiver', () => {
  let service: Awaited<ReturnType<typeof startTestService>>;
  let server: Server;
  const agent = new Agent({ keepAlive: true, maxSockets: BATCH });
  beforeAll(async () => {
    service = await startTestService({ WEBHOOK_SECRET, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    server = createServer(service.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    agent.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await service.close();
  });

  it(`${RUNS} hostile requests: no 5xx, every refusal an OperationOutcome, no trace of internals`, async () => {
    const prototypeBefore = prototypeShape();
    const tally = new Map<string, number>();
    const count = (target: FuzzTarget, status: number) => {
      const key = `${target} ${status}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    };
    let sent = 0;
    const started = performance.now();

    const send = async (hostile: HostileRequest) => {
      let req = (
        hostile.method === 'GET'
          ? request(server).get(hostile.path)
          : hostile.method === 'PUT'
            ? request(server).put(hostile.path)
            : request(server).post(hostile.path)
      ).agent(agent);
      for (const [name, value] of Object.entries(hostile.headers)) {
        req = req.set(name, value);
      }
      // Raw text: what goes on the wire is exactly the generated body, broken JSON included.
      return hostile.body === undefined ? req : req.send(hostile.body);
    };

    const failures: string[] = [];
    const fail = (why: string, hostile: HostileRequest, status: number, text: string) => {
      // Where the service logged an unhandled error, its first frame in src/ says where to look.
      const logged = service.logs.lines.filter((l) => l.includes('unhandled error')).at(-1) ?? '';
      const frame = /\(([^()]*\/src\/[^()]*)\)/.exec(logged)?.[1] ?? '';
      const message = /"message":"([^"]{0,200})/.exec(logged)?.[1] ?? '';
      failures.push(
        `${why}: ${hostile.method} ${hostile.path.slice(0, 100)} ${process.env.FUZZ_SHOW_BODY ? (hostile.body ?? '').slice(0, 3000) : ''} → ${status} ${text.slice(0, 200)} ${status >= 500 ? `[${message} at ${frame}]` : ''}`
      );
    };
    const check = async (hostile: HostileRequest) => {
      const res = await send(hostile);
      sent++;
      count(hostile.target, res.status);
      if (res.status >= 500) {
        fail('5xx', hostile, res.status, res.text);
      } else if (res.status >= 400 && (res.body as { resourceType?: unknown }).resourceType !== 'OperationOutcome') {
        fail('a refusal that is not an OperationOutcome', hostile, res.status, res.text);
      } else if (TRACES.test(res.text)) {
        fail('an answer with a stack trace or an internal path', hostile, res.status, res.text);
      } else if (hostile.target.startsWith('triage') && res.status === 200 && (res.body as { resourceType?: unknown }).resourceType !== 'Bundle') {
        fail('a triage answered 200 without a Bundle', hostile, res.status, res.text);
      }
    };

    // fast-check generates; every request is checked and every failure kept (rather than
    // stopping at the first), so one run shows every kind of fault. FUZZ_SEED replays a run.
    const details = await fc.check(
      fc.asyncProperty(fc.array(hostileRequests(WEBHOOK_SECRET), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(batch.map(check));
      }),
      { numRuns: Math.ceil(RUNS / BATCH), ...(SEED === undefined ? {} : { seed: SEED }) }
    );
    expect(details.errorInstance).toBeNull();

    const seconds = (performance.now() - started) / 1000;
    const byTarget = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`);
    // The figures for the closing note: requests tried, and how each target answered.
    const fiveHundreds = [...tally.entries()].filter(([k]) => Number(k.split(' ')[1]) >= 500).reduce((n, [, v]) => n + v, 0);
    process.stdout.write(`fuzz: ${sent} requests in ${seconds.toFixed(1)} s (seed ${details.seed}), 5xx: ${fiveHundreds}\n${byTarget.join('\n')}\n`);
    expect([...new Set(failures)].slice(0, 30)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(RUNS);

    // Healthy afterwards, and still doing its job.
    await request(server).get('/readyz').agent(agent).expect(200);
    const valid = await request(server)
      .post('/fhir/QuestionnaireResponse/$triage')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(buildResponse(answersWith({ 'pain-score': 3 }))));
    expect(valid.status).toBe(200);
    // No request reached Object.prototype or Array.prototype.
    expect(prototypeShape()).toBe(prototypeBefore);
    for (const probe of [{}, [], Object.create(null)] as Record<string, unknown>[]) {
      expect([probe.polluted, probe.isAdmin, probe.resourceType, probe.linkId]).toEqual([undefined, undefined, undefined, undefined]);
    }
    // Every target was exercised, with some requests accepted and some refused.
    for (const target of ['triage-score', 'triage-persist', 'fhir-create', 'fhir-search', 'fhir-transaction', 'webhook'] as const) {
      const statuses = [...tally.entries()].filter(([k]) => k.startsWith(`${target} `)).map(([k]) => Number(k.split(' ')[1]));
      // Reaching an accepted request on every target takes the full tier's runs (a valid create or
      // transaction is a small share of what the generator makes); the fast loop checks the refusals.
      expect([target, FULL_TIER ? statuses.some((s) => s < 300) : true, statuses.some((s) => s >= 400)]).toEqual([target, true, true]);
    }
  }, 600_000);
});

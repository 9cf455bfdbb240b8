import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, QuestionnaireResponse } from '@medplum/fhirtypes';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';
import { counts, gpResponse, ONE_OF_EACH, RESULT_TYPES, type ResultType, resultsForSubject } from '../writeback/triageResults';
import { type ServiceProcess, spawnService } from './serviceProcess';

/**
 * Soak: the real service as a child process on loopback with a real DATA_DIR, under
 * concurrent `$triage` with persist, redelivered requests and redelivered Subscription
 * notifications, killed with SIGKILL half-way and restarted on the same DATA_DIR. Then
 * every acknowledged response must have exactly one complete set of results, nothing in
 * flight may be half-written, and the child's memory must have stayed bounded.
 *
 * Bounded and self-stopping: SOAK_SECONDS of load (default 60), at most SOAK_RESPONSES
 * distinct responses (default 600; after that only redeliveries). The embedded store keeps
 * every result in memory, so memory grows with distinct responses, never with redeliveries.
 * For a longer soak: `SOAK_SECONDS=600 npx jest test/security/soak.test.ts` (ten minutes,
 * the same data redelivered: memory must stay flat); more distinct responses
 * (SOAK_RESPONSES) need a higher ceiling (SOAK_RSS_MB, 600 by default).
 */
const LOAD_SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const MAX_RESPONSES = Number(process.env.SOAK_RESPONSES ?? 600);
const TRIAGE_WORKERS = 6;
/** Generous: the child also holds the TypeScript compiler (no build) and the whole store in memory. */
const RSS_CEILING_MB = Number(process.env.SOAK_RSS_MB ?? 600);
const WEBHOOK_SECRET = 'soak-webhook-secret-51e0c3a9';
const PATIENT_NAME = { family: 'Quillonby', given: ['Zanzibar'] };
const FIXTURES = ['G1', 'S1', 'E1', 'U3', 'P1'].map(
  (name) => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${name}.qr.json`), 'utf8')) as QuestionnaireResponse
);

interface Sent {
  readonly subject: string;
  readonly fixture: number;
  readonly body: string;
  /** Result type → how many the first acknowledged answer listed. */
  expected: Partial<Record<ResultType, number>> | undefined;
  /** The RiskAssessment id of the first acknowledgement: a redelivery must answer the same one. */
  riskAssessment: string | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function resultCounts(bundle: Bundle): Partial<Record<ResultType, number>> {
  const found: Partial<Record<ResultType, number>> = {};
  for (const entry of bundle.entry ?? []) {
    const type = entry.resource?.resourceType as ResultType | undefined;
    if (type && (RESULT_TYPES as readonly string[]).includes(type)) {
      found[type] = (found[type] ?? 0) + 1;
    }
  }
  return found;
}

describe('soak: concurrent write-backs, redeliveries and a kill -9 against a child process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hip-soak-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('every acknowledged response has exactly one complete set of results; memory stays bounded', async () => {
    const env = { DATA_DIR: dataDir, WEBHOOK_SECRET, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' };
    const children: ServiceProcess[] = [];
    let current: { base: string; child: ServiceProcess } | undefined;
    const start = async () => {
      const child = spawnService(env);
      children.push(child);
      current = { base: `http://127.0.0.1:${await child.listening}`, child };
    };
    await start();

    const rss: number[] = [];
    const heap: number[] = [];
    const sampler = setInterval(() => {
      const target = current;
      const mb = target?.child.rssMb();
      if (mb !== undefined) {
        rss.push(Math.round(mb));
      }
      // The V8 heap in use, from the child's own metrics (loopback may read them).
      void fetch(`${target?.base ?? ''}/metrics`, { signal: AbortSignal.timeout(1_500) })
        .then((res) => res.text())
        .then((text) => {
          const used = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
          if (Number.isFinite(used)) {
            heap.push(Math.round(used / 1e6));
          }
        })
        .catch(() => undefined);
    }, 2_000);

    // A named patient some responses point at: the name must never reach a log line.
    await fetch(`${current?.base ?? ''}/fhir/Patient/soak-named`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'soak-named', name: [PATIENT_NAME], birthDate: '1970-01-01' }),
    });

    const sent: Sent[] = [];
    const webhookSubjects: { subject: string; acknowledged: boolean }[] = [];
    const figures = { requests: 0, acknowledged: 0, redeliveries: 0, refusedWhileDown: 0, notifications: 0 };
    const deadline = performance.now() + LOAD_SECONDS * 1000;
    /** Anything that went wrong, collected so the figures are printed whatever happens. */
    const problems: string[] = [];
    let killed = false;

    const post = async (path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown } | undefined> => {
      const target = current;
      if (!target) {
        return undefined;
      }
      figures.requests++;
      try {
        const res = await fetch(`${target.base}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/fhir+json', ...headers },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        return { status: res.status, json: await res.json().catch(() => undefined) };
      } catch {
        // The process died under the request: not acknowledged.
        figures.refusedWhileDown++;
        return undefined;
      }
    };

    let next = 0;
    const triageWorker = async (worker: number) => {
      while (performance.now() < deadline) {
        if (!current) {
          await sleep(50);
          continue;
        }
        const redeliver = sent.length > 0 && (next >= MAX_RESPONSES || (next + worker) % 3 === 0);
        let item: Sent;
        if (redeliver) {
          item = sent[(next * 7919 + worker) % sent.length] as Sent;
          figures.redeliveries++;
        } else {
          const n = next++;
          const fixture = FIXTURES[n % FIXTURES.length] as QuestionnaireResponse;
          const subject = n % 50 === 0 ? 'Patient/soak-named' : `Patient/soak-${n}`;
          item = {
            subject,
            fixture: n % FIXTURES.length,
            body: JSON.stringify({
              ...fixture,
              id: undefined,
              subject: { reference: subject },
              authored: `2026-11-20T10:${String(n % 60).padStart(2, '0')}:00Z`,
              identifier: { value: `soak-${n}` },
            }),
            expected: undefined,
            riskAssessment: undefined,
          };
          sent.push(item);
        }
        const answer = await post('/fhir/QuestionnaireResponse/$triage', item.body);
        if (answer?.status === 200) {
          figures.acknowledged++;
          const bundle = answer.json as Bundle;
          const risk = bundle.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource?.id;
          item.expected ??= resultCounts(bundle);
          item.riskAssessment ??= risk;
          if (risk !== item.riskAssessment) {
            problems.push(`${item.subject}: a redelivery answered RiskAssessment/${risk ?? ''}, the first RiskAssessment/${item.riskAssessment ?? ''}`);
          }
        } else if (answer !== undefined) {
          problems.push(`${item.subject}: $triage answered ${answer.status}`);
        }
      }
    };

    // Subscription stream: a response stored by REST, then its notification delivered three times.
    const webhookWorker = async () => {
      let n = 0;
      while (performance.now() < deadline) {
        if (!current || n >= MAX_RESPONSES / 4) {
          await sleep(50);
          if (n >= MAX_RESPONSES / 4) {
            return;
          }
          continue;
        }
        const id = `soak-hook-${n++}`;
        const subject = `Patient/${id}`;
        const stored = await fetch(`${current.base}/fhir/QuestionnaireResponse/${id}`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/fhir+json' },
          body: JSON.stringify({ ...gpResponse(subject), id }),
        }).catch(() => undefined);
        if (stored === undefined || stored.status >= 300) {
          continue;
        }
        const record = { subject, acknowledged: false };
        webhookSubjects.push(record);
        const notification = JSON.stringify({
          resourceType: 'Bundle',
          type: 'history',
          entry: [
            {
              resource: {
                resourceType: 'SubscriptionStatus',
                status: 'active',
                type: 'event-notification',
                subscription: { reference: 'Subscription/soak' },
                notificationEvent: [{ eventNumber: String(n), focus: { reference: `QuestionnaireResponse/${id}` } }],
              },
            },
          ],
        });
        for (let delivery = 0; delivery < 3; delivery++) {
          figures.notifications++;
          const answer = await post('/subscriptions/questionnaire-response', notification, { Authorization: `Bearer ${WEBHOOK_SECRET}` });
          record.acknowledged ||= answer?.status === 200;
        }
      }
    };

    // Half-way: SIGKILL, then a restart on the same DATA_DIR (the dead process's LOCK is taken over).
    const killer = async () => {
      await sleep((LOAD_SECONDS * 1000) / 2);
      const victim = current;
      current = undefined;
      victim?.child.child.kill('SIGKILL');
      killed = (await victim?.child.exited)?.signal === 'SIGKILL';
      await start();
    };

    try {
      await Promise.all([...Array.from({ length: TRIAGE_WORKERS }, (_, w) => triageWorker(w)), webhookWorker(), killer()]);
    } finally {
      clearInterval(sampler);
      // Whatever happened, no child outlives the test.
      for (const child of children.slice(0, -1)) {
        child.child.kill('SIGKILL');
      }
    }
    expect(killed).toBe(true);
    const last = children.at(-1);
    expect((await last?.stop())?.code).toBe(0);

    // Verify against the journal, in this process, once the child has let go of DATA_DIR.
    const verifier = await startTestService({ DATA_DIR: dataDir });
    let duplicates = 0;
    let partial = 0;
    let checked = 0;
    // What each fixture writes, from the answers that were acknowledged.
    const byFixture = new Map<number, Partial<Record<ResultType, number>>>();
    for (const item of sent) {
      if (item.expected) {
        byFixture.set(item.fixture, item.expected);
      }
    }
    const full = (expected: Partial<Record<ResultType, number>> | undefined) =>
      Object.fromEntries(RESULT_TYPES.map((t) => [t, expected?.[t] ?? 0])) as Record<ResultType, number>;
    const same = (a: Record<ResultType, number>, b: Record<ResultType, number>) => RESULT_TYPES.every((t) => a[t] === b[t]);
    try {
      for (const item of sent.filter((s) => s.subject !== 'Patient/soak-named')) {
        checked++;
        const found = counts(await resultsForSubject(verifier.store, item.subject));
        if (item.expected) {
          if (RESULT_TYPES.some((t) => found[t] > full(item.expected)[t])) {
            duplicates++;
          }
          if (!same(found, full(item.expected))) {
            problems.push(`${item.subject} (acknowledged): ${JSON.stringify(found)}, expected ${JSON.stringify(full(item.expected))}`);
          }
        } else if (!same(found, full(undefined)) && !same(found, full(byFixture.get(item.fixture)))) {
          // Never acknowledged (in flight at the kill): all of it or none of it.
          partial++;
          problems.push(`${item.subject} (in flight): ${JSON.stringify(found)}`);
        }
      }
      const namedAcknowledged = new Set(sent.filter((s) => s.subject === 'Patient/soak-named' && s.riskAssessment).map((s) => s.riskAssessment)).size;
      const named = (await resultsForSubject(verifier.store, 'Patient/soak-named')).RiskAssessment.length;
      if (named < namedAcknowledged) {
        problems.push(`Patient/soak-named: ${named} RiskAssessments for ${namedAcknowledged} acknowledged responses`);
      }
      for (const hook of webhookSubjects.filter((h) => h.acknowledged)) {
        checked++;
        const found = counts(await resultsForSubject(verifier.store, hook.subject));
        if (!same(found, ONE_OF_EACH)) {
          duplicates += RESULT_TYPES.some((t) => found[t] > 1) ? 1 : 0;
          problems.push(`${hook.subject} (notified): ${JSON.stringify(found)}`);
        }
      }
    } finally {
      await verifier.close();
    }

    const logs = children.flatMap((c) => c.lines).join('\n');
    for (const forbidden of [
      PATIENT_NAME.family,
      PATIENT_NAME.given[0] ?? '',
      WEBHOOK_SECRET,
      'valueBoolean',
      'valueInteger',
      'pain-score',
      'saddle-numbness',
      '1970-01-01',
    ]) {
      expect([forbidden, logs.includes(forbidden)]).toEqual([forbidden, false]);
    }
    expect(logs).toContain('triage written back');

    const peak = Math.max(...rss);
    process.stdout.write(
      `soak: ${LOAD_SECONDS} s of load, ${figures.requests} requests (${figures.redeliveries} redeliveries, ${figures.notifications} notifications), ` +
        `${figures.acknowledged} $triage acknowledged, ${figures.refusedWhileDown} cut off by the kill; ${sent.length} distinct responses + ${webhookSubjects.length} via the receiver, ` +
        `${checked} checked: duplicates ${duplicates}, partial ${partial}; RSS MB (every 2 s): first ${rss[0] ?? '-'}, peak ${peak}, last ${rss.at(-1) ?? '-'}, samples [${rss.join(' ')}]; ` +
        `V8 heap used MB: peak ${Math.max(...heap)}, samples [${heap.join(' ')}]\n`
    );
    expect(problems.slice(0, 20)).toEqual([]);
    expect(duplicates).toBe(0);
    expect(partial).toBe(0);
    expect(figures.acknowledged).toBeGreaterThan(0);
    expect(rss.length).toBeGreaterThan(3);
    expect(peak).toBeLessThan(RSS_CEILING_MB);
  }, 600_000);
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import type { FhirStore } from '../../src/fhir/fhirStore';
import { createStructureCheck } from '../../src/fhir/structure';
import { createResponseIntake } from '../../src/intake/responseIntake';
import { createLogger } from '../../src/logger';
import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import { createTriageRunner } from '../../src/service/createTriageHandler';
import { ROOT } from '../support/responses';
import { FIXED_NOW, LogCapture, startTestService } from '../support/testService';
import { countsOf, createThroughFhir, dispositionOf, recordOf, responseFor, taskCode, updateThroughFhir, withoutItem } from './intakeFixtures';

/** The less common turns of a response's life: each leaves a person with the work, never nothing. */
describe('a response’s later life (embedded mode)', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });
  const settle = () => service.intake.idle();

  it('an invalid response marked entered-in-error cancels its review Task', async () => {
    const subject = 'Patient/lifecycle-invalid-retracted';
    const stored = await createThroughFhir(service.app, withoutItem(responseFor(subject, { 'cannot-weight-bear': true }), 'pain-score'));
    await settle();
    expect((await recordOf(service.store, subject)).tasks.map((t) => [taskCode(t), t.status])).toEqual([['review-response', 'requested']]);

    await updateThroughFhir(service.app, { ...stored, status: 'entered-in-error' });
    await settle();
    expect((await recordOf(service.store, subject)).tasks.map((t) => [taskCode(t), t.status])).toEqual([['review-response', 'cancelled']]);
  });

  it('answers changed and then changed back: the superseded results cannot come back by themselves, so a clinician re-triages', async () => {
    const subject = 'Patient/lifecycle-changed-back';
    const first = responseFor(subject, { 'pain-score': 8 });
    const stored = await createThroughFhir(service.app, first);
    await settle();
    await updateThroughFhir(service.app, { ...responseFor(subject, { 'pain-score': 8, 'pain-worsening': true }), id: stored.id });
    await settle();
    await updateThroughFhir(service.app, { ...first, id: stored.id });
    await settle();

    const record = await recordOf(service.store, subject);
    expect(record.risks.map((r) => [dispositionOf(r), r.status]).sort()).toEqual([
      ['gp', 'amended'],
      ['urgent', 'amended'],
    ]);
    // The urgent Tasks are more urgent than the gp content now stored: left open, with the review.
    const open = record.tasks.filter((t) => t.status === 'requested');
    expect(open.map((t) => [taskCode(t), t.priority]).sort()).toEqual([
      ['fulfill', 'asap'],
      ['fulfill', 'asap'],
      ['review-retriage', 'asap'],
    ]);
    expect(open.find((t) => taskCode(t) === 'review-retriage')?.description).toMatch(/changed back .* The ruleset gives gp \(rules G3\); triage it by hand\./);
  });
});

describe('an amended response triaged through `{id}/$triage` before intake saw it', () => {
  it('intake finds the new results in place and supersedes the earlier ones (no second set, no review)', async () => {
    const service = await startTestService();
    try {
      const subject = 'Patient/lifecycle-triaged-by-id';
      const stored = await createThroughFhir(service.app, responseFor(subject, { 'pain-score': 8 }));
      await service.intake.idle();
      await service.intake.close(); // the trigger is late: $triage gets there first
      await updateThroughFhir(service.app, { ...responseFor(subject, { 'pain-score': 8, 'pain-worsening': true }, { status: 'amended' }), id: stored.id });
      const byId = await request(service.app).post(`/fhir/QuestionnaireResponse/${stored.id}/$triage`).set('Content-Type', 'application/fhir+json').send('{}');
      expect(byId.status).toBe(200);

      const outcome = await service.intake.responses.admitStored(stored.id);
      expect(outcome).toEqual({ action: 'triaged', disposition: 'urgent', superseded: 4, keptOpen: 0, review: undefined });
      const record = await recordOf(service.store, subject);
      expect(record.risks.map((r) => [dispositionOf(r), r.status]).sort()).toEqual([
        ['gp', 'amended'],
        ['urgent', 'final'],
      ]);
      expect(record.tasks.map((t) => [taskCode(t), t.priority, t.status]).sort()).toEqual([
        ['fulfill', 'asap', 'requested'],
        ['fulfill', 'asap', 'requested'],
        ['fulfill', 'routine', 'cancelled'],
      ]);
      expect(await service.intake.responses.admitStored(stored.id)).toEqual({ action: 'ignored', reason: 'already-triaged' });
    } finally {
      await service.close();
    }
  });
});

describe('intake after a crash between the commit and the triage', () => {
  it('the catch-up at the next start triages the response left behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-catch-up-'));
    const subject = 'Patient/lifecycle-catch-up';
    try {
      const before = await startTestService({ DATA_DIR: dataDir }, () => new Date());
      // As if the process died right after the response was journaled: no intake ran.
      await before.intake.close();
      await createThroughFhir(before.app, responseFor(subject, { 'pain-worsening': true }));
      expect(countsOf(await recordOf(before.store, subject))).toMatchObject({ responses: 1, risks: 0, tasks: 0 });
      await before.close();

      const after = await startTestService({ DATA_DIR: dataDir }, () => new Date());
      try {
        await after.intake.idle();
        expect(countsOf(await recordOf(after.store, subject))).toEqual({ responses: 1, risks: 1, carePlans: 1, guidance: 1, requests: 1, tasks: 2 });
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a staff change between intake’s read and its write', () => {
  it('fails the transaction on If-Match (412), and intake decides again from what staff left: their completed Task stays completed', async () => {
    const service = await startTestService();
    try {
      const subject = 'Patient/lifecycle-concurrent';
      const stored = await createThroughFhir(service.app, responseFor(subject, { 'pain-score': 8 }));
      await service.intake.idle();
      const [gpTask] = (await recordOf(service.store, subject)).tasks as (Task & { id: string })[];
      await service.intake.close(); // from here only the core under test acts

      // The core over a store that lets staff complete the Task just before intake's first write lands.
      let interfere: (() => Promise<unknown>) | undefined = () => updateThroughFhir(service.app, { ...(gpTask as Task & { id: string }), status: 'completed' });
      const store: FhirStore = {
        readResource: (type, id, options) => service.store.readResource(type, id, options),
        searchResources: (type, query, options) => service.store.searchResources(type, query, options),
        executeTransaction: async (bundle, options) => {
          const staff = interfere;
          interfere = undefined;
          await staff?.();
          return service.store.executeTransaction(bundle, options);
        },
        checkReady: () => service.store.checkReady(),
        close: async () => undefined,
      };
      const routing = parseRoutingTable(JSON.parse(readFileSync(join(ROOT, 'config/routing.json'), 'utf8')));
      const logger = createLogger('silent', new LogCapture());
      const deps = { content: service.content, store, routing, clock: () => FIXED_NOW, timeZone: 'Europe/London', logger };
      const intake = createResponseIntake({
        ...deps,
        runTriage: createTriageRunner({ ...deps, checkStructure: createStructureCheck(['QuestionnaireResponse']) }),
      });

      // Amended to urgent: the gp Task would be cancelled, but staff completed it meanwhile.
      const amended = await service.store.executeTransaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { ...responseFor(subject, { 'pain-score': 8, 'pain-worsening': true }, { status: 'amended' }), id: stored.id },
            request: { method: 'PUT', url: `QuestionnaireResponse/${stored.id}` },
          },
        ],
      });
      const outcome = await intake.admit(amended.entry?.[0]?.resource as QuestionnaireResponse);

      expect(outcome).toMatchObject({ action: 'triaged', disposition: 'urgent' });
      const record = await recordOf(service.store, subject);
      expect(record.tasks.find((t) => t.id === gpTask?.id)?.status).toBe('completed');
      expect(record.risks.map((r) => [dispositionOf(r), r.status]).sort()).toEqual([
        ['gp', 'amended'],
        ['urgent', 'final'],
      ]);
    } finally {
      await service.close();
    }
  });
});

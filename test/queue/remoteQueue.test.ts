import request from 'supertest';
import type { Service } from '../../src/composeService';
import { loadWorkQueue } from '../../src/queue/workQueue';
import { type SecondInstance, startSecondInstance } from '../support/secondInstance';
import { startTestService } from '../support/testService';
import { ruleFixture, triageAndStore } from './queueFixtures';

/**
 * Remote mode: the queue is read from the external FHIR server (a second instance of this
 * service over loopback HTTP) through the same port the write-back uses.
 */
describe('/queue against an external FHIR server', () => {
  let external: SecondInstance;
  let service: Service;
  beforeAll(async () => {
    external = await startSecondInstance();
    service = await startTestService({ FHIR_BASE_URL: external.fhirBaseUrl });
  });
  afterAll(async () => {
    await service.close();
    await external.close();
  });

  it('lists what was written back there, with the disposition, rules and a link to the response on that server', async () => {
    const stored = await request(external.service.app)
      .put('/fhir/Patient/rule-u1')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify({ resourceType: 'Patient', id: 'rule-u1', name: [{ given: ['Uma'], family: 'Remote-Example' }] }));
    expect(stored.status).toBeLessThan(300);
    const { tasks, response } = await triageAndStore(service.app, ruleFixture('U1'));
    expect(tasks).toHaveLength(2);

    const before = external.received.length;
    const page = (await request(service.app).get('/queue').expect(200)).text;
    expect(external.received.length).toBeGreaterThan(before); // read from the external server, not kept locally
    for (const task of tasks) {
      const start = page.indexOf(`<tr data-task="${task.id ?? ''}"`);
      expect(start).toBeGreaterThan(-1);
      const row = page.slice(start, page.indexOf('</tr>', start));
      expect(row).toContain('Uma Remote-Example');
      expect(row).toContain('Urgent');
      expect(row).toMatch(/<td>U1<\/td>/);
      expect(row).toContain(`<a href="${external.fhirBaseUrl}/QuestionnaireResponse/${response.id ?? ''}">`);
    }
  });

  it('a short page keeps the most urgent Tasks and counts the rest on the server (_summary=count)', async () => {
    await triageAndStore(service.app, ruleFixture('E1'));
    await triageAndStore(service.app, ruleFixture('P1'));
    const open = await external.service.store.searchResources('Task', { status: 'requested,accepted,in-progress', _count: '100' });
    const queue = await loadWorkQueue(service.store, 2);
    const shown = queue.services.flatMap((s) => s.items);
    expect(shown.map((i) => i.priority)).toEqual(['stat', 'stat']);
    expect(queue.notShown.exact).toBe(true);
    expect(queue.notShown.total).toBe(open.length - 2);
  });
});

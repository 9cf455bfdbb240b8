import request from 'supertest';
import type { Service } from '../../src/composeService';
import { startTestService } from '../support/testService';
import { overrideBody, confirmBody, review, triageRule } from '../review/reviewFixtures';

/**
 * The dashboard end to end on the embedded store: 10 triages that fire G3, 3 overridden and
 * 2 confirmed through `$review`, read back through the FHIR searches of the port.
 */
describe('/queue/dashboard on the embedded store', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
    for (let i = 0; i < 10; i++) {
      const risk = await triageRule(service.app, 'G3', `p-dash-${i}`);
      if (i < 3) {
        await review(service.app, risk.id, overrideBody(i === 0 ? 'physio' : 'urgent', { code: 'rule-misfired', reviewer: 'Practitioner/dr-lead' })).expect(
          200
        );
      } else if (i < 5) {
        await review(service.app, risk.id, confirmBody('Practitioner/dr-lead')).expect(200);
      }
    }
    await triageRule(service.app, 'E1', 'p-dash-e');
  });
  afterAll(async () => {
    await service.close();
  });

  it('the CSV carries the known answers: G3 fired 10 times, 5 reviewed (50%), 3 overridden (30%), 2 up and 1 down', async () => {
    const res = await request(service.app).get('/queue/dashboard.csv?from=2026-11-01&to=2026-11-30').expect(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const lines = res.text.split('\r\n');
    for (const expected of [
      'per rule,G3,triages,10',
      'per rule,G3,reviewed,5',
      'per rule,G3,review rate %,50',
      'per rule,G3,overridden,3',
      'per rule,G3,override rate %,30',
      'per rule,G3,overridden up,2',
      'per rule,G3,overridden down,1',
      'per disposition,gp,override rate %,30',
      'summary,all,triages,11',
      'summary,all,red-flag rate %,9.1',
    ]) {
      expect(lines).toContain(expected);
    }
  });

  it('the page: a chart and a table per figure, the range form, the CSV link, the queue headers', async () => {
    const res = await request(service.app).get('/queue/dashboard?from=2026-11-01&to=2026-11-30').expect(200);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text.match(/<svg role="img"/g)).toHaveLength(4);
    expect(res.text.match(/<table>/g)).toHaveLength(4);
    expect(res.text).toContain('30% (3 of 10; 2 up, 1 down)');
    expect(res.text).toContain('href="/queue/dashboard.csv?from=2026-11-01&amp;to=2026-11-30"');
    expect(res.text).not.toContain('p-dash');
  });

  it('the default range is the last 12 weeks; /dashboard redirects', async () => {
    const res = await request(service.app).get('/queue/dashboard').expect(200);
    expect(res.text).toContain('value="2026-08-31"');
    expect(res.text).toContain('value="2026-11-20"');
    const redirect = await request(service.app).get('/dashboard?from=2026-11-01').expect(302);
    expect(redirect.headers.location).toBe('/queue/dashboard?from=2026-11-01');
  });

  it.each([
    ['from=2026-13-01&to=2026-11-30', 'YYYY-MM-DD'],
    ['from=2026-11-30&to=2026-11-01', 'after its end'],
    ['from=2024-01-01&to=2026-11-30', 'at most 366 days'],
  ])('400 for a range %s', async (query, words) => {
    const res = await request(service.app).get(`/queue/dashboard?${query}`).expect(400);
    expect(res.text).toContain(words);
  });
});

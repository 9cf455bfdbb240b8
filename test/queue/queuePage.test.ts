import type { Task } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { escapeHtml, Html, html } from '../../src/queue/html';
import { duration } from '../../src/queue/queuePage';
import { FIXED_NOW, type LogCapture, startTestService } from '../support/testService';
import { ruleFixture, triageAndStore } from './queueFixtures';

describe('the HTML template', () => {
  it('escapes every interpolated value, once', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<', html`<br>`]}${undefined}${0}</p>`.text).toBe('<p><b>&lt;i&gt;</b>&lt;<br>0</p>');
    expect(new Html('<x>').toString()).toBe('<x>');
  });

  it('says how overdue in words', () => {
    expect(duration(30_000)).toBe('1 min');
    expect(duration(25 * 60_000)).toBe('25 min');
    expect(duration(3 * 3600_000 + 10 * 60_000)).toBe('3 h 10 min');
    expect(duration(4 * 86_400_000 + 5)).toBe('4 days');
  });
});

/** The `<tr>` of one Task in the page. */
function rowOf(page: string, taskId: string | undefined): string {
  const start = page.indexOf(`<tr data-task="${taskId ?? ''}"`);
  expect(start).toBeGreaterThan(-1);
  return page.slice(start, page.indexOf('</tr>', start));
}

describe('GET /queue: what each row shows', () => {
  let service: Service & { logs: LogCapture };
  let now = FIXED_NOW;
  const TIME_ZONE = 'Asia/Kolkata'; // UTC+05:30 all year: a due time shown in UTC would be visibly wrong
  beforeAll(async () => {
    service = await startTestService({ TZ_CLINICAL: TIME_ZONE }, () => now);
  });
  afterAll(async () => {
    await service.close();
  });

  it('a patient named <script> is shown as text, never run as markup', async () => {
    const stored = await request(service.app)
      .put('/fhir/Patient/rule-e1')
      .set('Content-Type', 'application/fhir+json')
      .send(
        JSON.stringify({
          resourceType: 'Patient',
          id: 'rule-e1',
          name: [{ given: ['<script>alert("x")</script>'], family: `O'Neil & <b>Sons</b>` }],
          birthDate: '1986-04-02',
        })
      );
    expect(stored.status).toBeLessThan(300);
    const { tasks } = await triageAndStore(service.app, ruleFixture('E1'));
    const page = (await request(service.app).get('/queue').expect(200)).text;
    const row = rowOf(page, tasks[0]?.id);
    expect(row).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#39;Neil &amp; &lt;b&gt;Sons&lt;/b&gt;');
    expect(row).toContain('born 2 Apr 1986');
    expect(page).not.toMatch(/<script|<b>Sons/i);
    // The page names patients; the logs never do.
    expect(service.logs.text()).not.toContain('alert(');
    expect(service.logs.text()).not.toContain('Neil');
  });

  it('shows the disposition, the fired rules, the due time in TZ_CLINICAL and a link to the response', async () => {
    const { tasks, response } = await triageAndStore(service.app, ruleFixture('P1'));
    const [task] = tasks;
    const due = new Date(task?.restriction?.period?.end ?? '');
    const row = rowOf((await request(service.app).get('/queue')).text, task?.id);
    expect(row).toContain('Physiotherapy');
    expect(row).toMatch(/<td>P1<\/td>/);
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(due);
    const utc = due.toISOString().slice(11, 16);
    expect(local).not.toBe(utc);
    expect(row).toContain(`<time datetime="${due.toISOString()}">`);
    expect(row).toContain(local);
    expect(row).toContain(`<a href="/fhir/QuestionnaireResponse/${response.id ?? ''}">Open response`);
    expect(row).toContain('no Patient record'); // Patient/rule-p1 was never stored
    expect(row).not.toContain('Overdue');
  });

  it('flags overdue work in words, not only by colour, counted from the service clock', async () => {
    const { tasks } = await triageAndStore(service.app, ruleFixture('U1'));
    const referral = tasks.find((t) => t.owner?.reference !== 'HealthcareService/hip-triage-duty-clinician');
    const due = new Date(referral?.restriction?.period?.end ?? '');
    now = new Date(due.getTime() + 2 * 3600_000 + 5 * 60_000);
    try {
      const page = (await request(service.app).get('/queue')).text;
      expect(rowOf(page, referral?.id)).toContain('Overdue by 2 h 5 min');
      expect(rowOf(page, referral?.id)).toMatch(/class="overdue"/);
    } finally {
      now = FIXED_NOW;
    }
    expect(rowOf((await request(service.app).get('/queue')).text, referral?.id)).not.toContain('Overdue');
  });

  it('lists a Task whose owner is not a known service, rather than hiding it, and a review Task that focuses a response', async () => {
    const { response } = await triageAndStore(service.app, ruleFixture('S1'));
    const task: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      priority: 'urgent',
      code: { text: 'Review an invalid response' },
      focus: { reference: `QuestionnaireResponse/${response.id ?? ''}` },
      for: { reference: 'Patient/rule-s1', display: 'Display Name From Reference' },
      owner: { reference: 'Organization/somewhere-else', display: 'A team outside the routing table' },
    };
    const created = (await request(service.app).post('/fhir/Task').set('Content-Type', 'application/fhir+json').send(JSON.stringify(task)).expect(201))
      .body as Task;
    const page = (await request(service.app).get('/queue')).text;
    expect(page).toContain('<h2 id="queue-');
    expect(page).toContain('A team outside the routing table</h2>');
    expect(page).toContain('not one of the services: check the routing table');
    const row = rowOf(page, created.id);
    expect(row).toContain('Display Name From Reference');
    expect(row).toContain('Review an invalid response');
    expect(row).toContain(`/fhir/QuestionnaireResponse/${response.id ?? ''}`);
    expect(row).toContain('Not recorded'); // no triage: no disposition
  });
});

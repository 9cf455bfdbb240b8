import type { OperationOutcome, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import request from 'supertest';
import { printable } from '../../src/triage/outcomeIssues';
import { answersWith, buildResponse } from '../support/responses';
import { startTestService } from '../support/testService';

/**
 * Found by fuzzing: a FHIR `code` may hold a control character that a FHIR `string` may not.
 * An invalid response's issues quote its values, and intake stores those issues in a review
 * Task, so a raw one made the store refuse the Task, and every later ping answered 502.
 */
function withControlCharacter(): QuestionnaireResponse {
  const response = buildResponse(answersWith({}), { id: 'ctl-1', subject: { reference: 'Patient/ctl-1' } });
  const text = JSON.stringify(response).replace(/"code":"none"/, '"code":"bad\\u0014code"');
  return JSON.parse(text) as QuestionnaireResponse;
}

describe('client values quoted in issues', () => {
  it('are printable: control characters are shown as \\uXXXX', () => {
    expect(printable('a\u0014b\tc\nd')).toBe('a\\u0014b\tc\nd');
    expect(printable('plain')).toBe('plain');
  });

  it('a $triage with a control character in a code: 422 naming it, with no raw control character', async () => {
    const service = await startTestService({ RATE_LIMIT_PER_MINUTE: '0' });
    try {
      const res = await request(service.app)
        .post('/fhir/QuestionnaireResponse/$triage?persist=false')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(withControlCharacter()));
      expect(res.status).toBe(422);
      const texts = ((res.body as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? '').join(' ');
      expect(texts).toContain('bad\\u0014code');
      expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(res.text.replace(/\\u00[01][0-9a-f]/gi, ''))).toBe(false);
    } finally {
      await service.close();
    }
  });

  it('a stored response with one is reviewed, not refused: its review Task is written', async () => {
    const service = await startTestService({ RATE_LIMIT_PER_MINUTE: '0' });
    try {
      await request(service.app)
        .put('/fhir/QuestionnaireResponse/ctl-1')
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(withControlCharacter()))
        .expect(200);
      await service.intake.idle();
      const tasks = await service.store.searchResources<Task>('Task', { focus: 'QuestionnaireResponse/ctl-1' });
      expect(tasks.length).toBeGreaterThan(0);
      expect(JSON.stringify(tasks)).toContain('bad\\\\u0014code');
    } finally {
      await service.close();
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { answersWith, buildResponse } from '../support/responses';
import { startTestService } from '../support/testService';
import { counts, gpResponse, ONE_OF_EACH, RESULT_TYPES, resultsForSubject, storedReferences } from './triageResults';

async function triage(app: Express, body: QuestionnaireResponse): Promise<string[]> {
  const res = await request(app).post('/fhir/QuestionnaireResponse/$triage').set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));
  expect(res.status).toBe(200);
  return storedReferences(res.body as Bundle);
}

describe('restart of the embedded server (a real DATA_DIR)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hip-restart-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps everything written before, with the same ids, and a redelivery after it adds nothing', async () => {
    const gp = gpResponse('Patient/restart-gp');
    const selfCare = buildResponse(answersWith({}), { subject: { reference: 'Patient/restart-self-care' } });

    const before = await startTestService({ DATA_DIR: dataDir });
    const written = { gp: await triage(before.app, gp), selfCare: await triage(before.app, selfCare) };
    const gpResults = await resultsForSubject(before.store, 'Patient/restart-gp');
    await before.close();

    const after = await startTestService({ DATA_DIR: dataDir });
    try {
      const found = await resultsForSubject(after.store, 'Patient/restart-gp');
      expect(counts(found)).toEqual(ONE_OF_EACH);
      for (const type of RESULT_TYPES) {
        expect([type, found[type].map((r) => r.id)]).toEqual([type, gpResults[type].map((r) => r.id)]);
      }
      const selfCareFound = counts(await resultsForSubject(after.store, 'Patient/restart-self-care'));
      expect(selfCareFound).toEqual({ ...ONE_OF_EACH, ServiceRequest: 0, Task: 0 });

      expect(await triage(after.app, gp)).toEqual(written.gp);
      expect(await triage(after.app, selfCare)).toEqual(written.selfCare);
      expect(counts(await resultsForSubject(after.store, 'Patient/restart-gp'))).toEqual(ONE_OF_EACH);
    } finally {
      await after.close();
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcome } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';

/**
 * Contract 1.1.0: red flags survive every path, refusals included. A caller over its
 * per-caller response limit is refused (429, nothing written), but a refused body with a
 * red flag still leads with the disposition and its advice.
 */
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${name}.qr.json`), 'utf8'));
const DISPOSITION_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';

describe('a refusal for too many responses still gives red-flag advice', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService({ RESPONSE_LIMIT_PER_MINUTE: '2', RESPONSE_LIMIT_PER_TRANSACTION: '2' });
  });
  afterAll(async () => {
    await service.close();
  });

  const triage = (body: unknown) =>
    request(service.app).post('/fhir/QuestionnaireResponse/$triage?persist=false').set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));

  it('the third response in a minute is refused: an emergency body leads with its advice, a self-care body has none', async () => {
    expect((await triage(fixture('S1'))).status).toBe(200);
    expect((await triage(fixture('S1'))).status).toBe(200);
    const selfCare = await triage(fixture('S1'));
    expect(selfCare.status).toBe(429);
    expect((selfCare.body as OperationOutcome).issue?.map((i) => i.severity)).toEqual(['error']);

    const emergency = await triage(fixture('E1'));
    expect(emergency.status).toBe(429);
    expect(emergency.headers['retry-after']).toBeDefined();
    const [first, second] = (emergency.body as OperationOutcome).issue ?? [];
    expect(first?.severity).toBe('information');
    expect(first?.details?.coding).toEqual(expect.arrayContaining([expect.objectContaining({ system: DISPOSITION_SYSTEM, code: 'emergency' })]));
    expect(first?.details?.text).toMatch(/999/);
    expect(second?.code).toBe('throttled');
  });

  it('a Parameters body is read the same way', async () => {
    const emergency = await triage({ resourceType: 'Parameters', parameter: [{ name: 'response', resource: fixture('E5') }] });
    expect(emergency.status).toBe(429);
    expect((emergency.body as OperationOutcome).issue?.[0]?.details?.coding?.some((c) => c.code === 'emergency')).toBe(true);
  });
});

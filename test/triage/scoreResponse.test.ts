import { join } from 'node:path';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { scoreResponse } from '../../src/triage/scoreResponse';
import { answersWith, buildResponse, ROOT } from '../support/responses';

const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
const now = new Date('2026-11-20T12:00:00Z');

describe('scoreResponse', () => {
  it('scores the all-no baseline as self-care with S1 only', () => {
    const outcome = scoreResponse({ content, response: buildResponse(answersWith({})), now, timeZone: 'Europe/London' });
    expect(outcome.valid).toBe(true);
    if (outcome.valid) {
      expect(outcome.result.disposition.code).toBe('self-care');
      expect(outcome.result.firedRules.map((r) => r.id)).toEqual(['S1']);
    }
  });
});

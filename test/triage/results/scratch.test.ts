import { readdirSync, readFileSync } from 'node:fs';
import { readResourceFiles } from '../../../src/content/readResourceFiles';
import { buildTriageContent } from '../../../src/content/buildTriageContent';
import { scoreResponse } from '../../../src/triage/scoreResponse';
test('scratch', () => {
  const content = buildTriageContent(readResourceFiles(['questionnaires', 'fhir-resources']));
  for (const f of readdirSync('test/fixtures/results')) {
    const r = JSON.parse(readFileSync('test/fixtures/results/' + f, 'utf8'));
    const o = scoreResponse({ content, response: r, now: new Date('2025-06-10T09:00:00Z'), timeZone: 'Europe/London' });
    if (!o.valid) { console.log(f, JSON.stringify(o.issues)); continue; }
    console.log(f, o.result.disposition.code, o.result.firedRules.map(r => r.id).join(','), o.result.notes.map(n => n.id), o.result.additionalReferrals, o.result.advice.map(a => a.id).join(','), o.result.youngestAge);
  }
});

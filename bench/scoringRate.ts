import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { buildTriageContent } from '../src/content/buildTriageContent';
import { readResourceFiles } from '../src/content/readResourceFiles';
import { findContentRoot } from '../src/contentRoot';
import { scoreResponse } from '../src/triage/scoreResponse';

/** Responses scored per second on one core, in-process, over the rule fixtures (a realistic mix of dispositions). */
export function measureScoringRate(options: { seconds: number }): { perSecond: number; perCpuSecond: number; responses: number; fixtures: number } {
  const root = findContentRoot(__dirname);
  const content = buildTriageContent(readResourceFiles([join(root, 'questionnaires'), join(root, 'fhir-resources')]));
  const dir = join(root, 'test/fixtures/rules');
  const fixtures = readdirSync(dir)
    .filter((n) => n.endsWith('.qr.json'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as QuestionnaireResponse);
  const now = new Date();
  let count = 0;
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) {
    scoreResponse({ content, response: fixtures[count++ % fixtures.length] as QuestionnaireResponse, now, timeZone: 'Europe/London' });
  }
  count = 0;
  // CPU time as well as wall time: on a shared machine the wall-clock rate is what this
  // process got, the CPU rate what one core of its own would give.
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + options.seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) {
      const outcome = scoreResponse({ content, response: fixtures[count++ % fixtures.length] as QuestionnaireResponse, now, timeZone: 'Europe/London' });
      if (!outcome.valid) {
        throw new Error('a fixture is invalid');
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { perSecond: Math.round(count / seconds), perCpuSecond: Math.round(count / cpuSeconds), responses: count, fixtures: fixtures.length };
}

if (require.main === module) {
  console.log(JSON.stringify(measureScoringRate({ seconds: Number(process.argv[2] ?? 3) })));
}

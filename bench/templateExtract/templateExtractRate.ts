import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { inAppExtract } from '@aehrc/sdc-template-extract';
import { loadRuleFixtures } from '../support/fixtures';
import { questionnaireWithTemplate } from './riskAssessmentTemplate';

// The library is ESM-first: `import()` of its ESM build fails on Node 24 (fhirpath's
// directory import), so this file is compiled to CommonJS and `require`s its CJS build.

type Extracted = { resourceType?: string; prediction?: { qualitativeRisk?: { coding?: { code?: string }[] } }[] };

/** One extraction; the RiskAssessment's risk code, or an error if the library did not produce one. */
async function extractRisk(response: QuestionnaireResponse, questionnaire: unknown): Promise<string> {
  // The library's own advice: give it a copy, it may change the response.
  const output = await inAppExtract(structuredClone(response) as never, questionnaire as never, null);
  if (!output.extractSuccess || 'resourceType' in output.extractResult) {
    throw new Error('template extraction failed');
  }
  const entries = (output.extractResult.extractedBundle.entry ?? []) as { resource?: Extracted }[];
  const risk = entries.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource;
  const code = risk?.prediction?.[0]?.qualitativeRisk?.coding?.[0]?.code;
  if (!code) {
    throw new Error('no RiskAssessment with a risk code extracted');
  }
  return code;
}

/**
 * RiskAssessments extracted per second on one core, in-process, by `@aehrc/sdc-template-extract`
 * from the same 31 rule fixtures `scoringRate.ts` scores, one response at a time (each
 * extraction awaited, as a request handler would).
 */
export async function measureTemplateExtractRate(options: {
  seconds: number;
}): Promise<{ perSecond: number; perCpuSecond: number; responses: number; fixtures: number; risks: Record<string, number> }> {
  const fixtures = loadRuleFixtures();
  const questionnaire = questionnaireWithTemplate();
  // The library logs FHIRPath warnings with console.warn; none are expected, and printing
  // them would measure the terminal.
  const warn = console.warn;
  let warnings = 0;
  console.warn = () => {
    warnings++;
  };
  try {
    const risks: Record<string, number> = {};
    for (const fixture of fixtures) {
      const code = await extractRisk(fixture, questionnaire);
      risks[code] = (risks[code] ?? 0) + 1;
    }
    let count = 0;
    const warmUntil = performance.now() + 500;
    while (performance.now() < warmUntil) {
      await extractRisk(fixtures[count++ % fixtures.length] as QuestionnaireResponse, questionnaire);
    }
    count = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const until = started + options.seconds * 1000;
    while (performance.now() < until) {
      for (let i = 0; i < 20; i++) {
        await extractRisk(fixtures[count++ % fixtures.length] as QuestionnaireResponse, questionnaire);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (warnings > 0) {
      throw new Error(`the template produced ${warnings} FHIRPath warnings`);
    }
    return { perSecond: Math.round(count / seconds), perCpuSecond: Math.round(count / cpuSeconds), responses: count, fixtures: fixtures.length, risks };
  } finally {
    console.warn = warn;
  }
}

if (require.main === module) {
  measureTemplateExtractRate({ seconds: Number(process.argv[2] ?? 3) }).then(
    (result) => console.log(JSON.stringify(result)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
}

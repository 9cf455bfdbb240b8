import type { PlanDefinition, Resource } from '@medplum/fhirtypes';
import type { Config } from '../config';
import { buildTriageContent } from '../content/buildTriageContent';
import { readResourceFile } from '../content/readResourceFiles';
import { indexFhirDefinitions } from '../fhir/fhirDefinitions';
import { createStructureCheck } from '../fhir/structure';
import type { TriageContent } from '../triage/triageContent';
import { verifyRuleset } from '../triage/verifyRuleset';
import type { LineScoring } from './bulkTriage';
import { readShippedContent } from './shippedContent';

/**
 * What scoring needs, loaded as the service loads it (FHIR definitions, shipped content or
 * RULESET_FILE, the structure check): once per thread, by the main thread for the in-process
 * path and `--persist`, and by each worker thread for itself.
 */
export function loadLineScoring(config: Config, now: Date): { readonly scoring: LineScoring; readonly resources: readonly Resource[] } {
  indexFhirDefinitions();
  const resources = readShippedContent();
  const content = loadRulesContent(config, resources);
  return { scoring: { content, checkStructure: createStructureCheck(['QuestionnaireResponse']), now, timeZone: config.timeZone }, resources };
}

/**
 * The service's content rule (composeService's loadContent: RULESET_FILE replaces the shipped
 * ruleset only if it keeps the contract), with the same refusals, but without importing the
 * composition root: a worker thread would otherwise load express, the stores and the rest,
 * about 27 MB of code per thread.
 */
function loadRulesContent(config: Config, resources: readonly Resource[]): TriageContent {
  const file = config.rulesetFile;
  if (!file) {
    return buildTriageContent(resources);
  }
  let content: TriageContent;
  try {
    content = buildTriageContent(resources, readResourceFile<PlanDefinition>(file));
  } catch (err) {
    throw new Error(`RULESET_FILE ${file} cannot be used: ${issueTexts(err)}`);
  }
  const verification = verifyRuleset(content);
  if (!verification.passed) {
    throw new Error(`RULESET_FILE ${file} is refused: it breaks the contract's rules for a replacement ruleset.\n${verification.message}`);
  }
  return content;
}

/** An error as composeService words a refused RULESET_FILE: each issue's text and its expression. */
function issueTexts(err: unknown): string {
  if (err && typeof err === 'object' && 'outcome' in err) {
    const outcome = (err as { outcome: { issue?: { details?: { text?: string }; expression?: string[] }[] } }).outcome;
    return (outcome.issue ?? []).map((i) => `${i.details?.text ?? ''} (${(i.expression ?? []).join(', ')})`).join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../../src/content/buildTriageContent';
import { readResourceFiles } from '../../../src/content/readResourceFiles';
import { parseRoutingTable } from '../../../src/routing/parseRoutingTable';
import type { RoutingTable } from '../../../src/routing/routingTable';
import { scoreResponse, type TriageResult } from '../../../src/triage/scoreResponse';
import type { TriageContent } from '../../../src/triage/triageContent';

export const ROOT = join(__dirname, '..', '..', '..');
export const TIME_ZONE = 'Europe/London';

let content: TriageContent | undefined;
export function shippedContent(): TriageContent {
  content ??= buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
  return content;
}

export function readJsonFile(...path: string[]): unknown {
  return JSON.parse(readFileSync(join(ROOT, ...path), 'utf8')) as unknown;
}

export function shippedRoutingJson(): Record<string, unknown> {
  return readJsonFile('config', 'routing.json') as Record<string, unknown>;
}

export function shippedRouting(): RoutingTable {
  return parseRoutingTable(shippedRoutingJson());
}

/** A QuestionnaireResponse from test/fixtures/results (a fresh copy each time). */
export function fixtureResponse(name: string): QuestionnaireResponse {
  return readJsonFile('test', 'fixtures', 'results', `${name}.json`) as QuestionnaireResponse;
}

/** Scores a fixture; fails the test if the fixture is not a valid response. */
export function scoreFixture(response: QuestionnaireResponse, now: Date): TriageResult {
  const outcome = scoreResponse({ content: shippedContent(), response, now, timeZone: TIME_ZONE });
  if (!outcome.valid) {
    throw new Error(`fixture is not a valid response: ${JSON.stringify(outcome.issues)}`);
  }
  return outcome.result;
}

import { RED_FLAG_SCENARIOS } from '../../src/triage/redFlagSuite';
import { caseIds, readCase } from '../clinical/goldenCases';
import { answersWith, buildResponse } from '../support/responses';
import { reshape, scenarioResponseAnswers } from '../support/reshapings';

const golden = caseIds().map((id) => readCase(id).response);
const e1 = RED_FLAG_SCENARIOS.find((s) => s.rule === 'E1');

/**
 * Every kind of line the bulk command meets, by name: scored responses (fresh and stale),
 * an invalid one, a reshaped one whose answers show a red flag, a Patient, a Parameters
 * holding a response, a line that is not JSON, and a blank line (counted, not answered).
 */
export const LINE_KINDS: Readonly<Record<string, (i: number) => string>> = {
  golden: (i) => JSON.stringify({ ...golden[i % golden.length], id: `r${i}` }),
  stale: (i) => JSON.stringify({ ...golden[i % golden.length], id: `old${i}`, authored: '2020-01-01T10:00:00Z' }),
  invalid: (i) => JSON.stringify({ ...buildResponse(answersWith({ 'pain-score': undefined })), id: `bad${i}` }),
  redFlagInvalid: (i) => JSON.stringify({ ...buildResponse(answersWith({ 'pain-score': undefined, 'saddle-numbness': true })), id: `flag${i}` }),
  reshapedRedFlag: () => JSON.stringify(reshape('flat', scenarioResponseAnswers(e1 as NonNullable<typeof e1>))),
  patient: (i) => JSON.stringify({ resourceType: 'Patient', id: `p${i}` }),
  parameters: (i) =>
    JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'response', resource: { ...golden[i % golden.length], id: `wrapped${i}` } }] }),
  notJson: (i) => `{not json ${i}`,
  blank: () => '',
};

const ORDER = Object.keys(LINE_KINDS);

/** `count` lines cycling through the kinds in a stride that mixes them into every batch. */
export function mixedLines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 5 === 0 ? (ORDER[(i / 5) % ORDER.length] as string) : 'golden';
    return (LINE_KINDS[kind] as (i: number) => string)(i);
  });
}

/** NDJSON output as objects. */
export function parseResults(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

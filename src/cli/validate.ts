import { readFileSync } from 'node:fs';
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { buildTriageContent } from '../content/buildTriageContent';
import { indexFhirDefinitions } from '../fhir/fhirDefinitions';
import { createStructureCheck } from '../fhir/structure';
import { invalidIssues } from '../service/createTriageHandler';
import { extractResponse } from '../service/extractResponse';
import { dispositionAdviceIssue } from '../triage/adviceIssue';
import { assessResponse } from '../triage/scoreResponse';
import type { CliCommand } from './cliCommand';
import { describeError, readShippedContent } from './shippedContent';

/**
 * `hip-triage validate <file>`: what `$triage?persist=false` would say about a response,
 * without a server: the structure check, then the Questionnaire and contract checks. Prints
 * an OperationOutcome (for a valid response, the disposition and its advice as an
 * `information` issue). The birth-date age check needs the Patient and is not done here.
 * Exit 0 valid, 1 invalid, 2 unreadable file.
 */
export const validateCommand: CliCommand = (program, io, run) => {
  program
    .command('validate')
    .description('validate and score a QuestionnaireResponse (or a Parameters holding one) and print the OperationOutcome')
    .argument('<file>', 'the response (JSON)')
    .action((file: string) => {
      let body: unknown;
      try {
        body = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        io.stderr(`${file} cannot be read as JSON: ${describeError(err)}\n`);
        run.exitCode = 2;
        return;
      }
      const issues = validationIssues(body, io.env.TZ_CLINICAL ?? 'Europe/London');
      const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: issues.list };
      io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
      run.exitCode = issues.valid ? 0 : 1;
    });
};

function validationIssues(body: unknown, timeZone: string): { valid: boolean; list: OperationOutcomeIssue[] } {
  let response: unknown;
  try {
    response = extractResponse(body).response;
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return { valid: false, list: err.outcome.issue ?? [] };
    }
    throw err;
  }
  indexFhirDefinitions();
  const content = buildTriageContent(readShippedContent());
  // Red flags are salvaged before the structure check, as `$triage` does (contract 1.1.0).
  const outcome = assessResponse({ content, body: response, checkStructure: createStructureCheck(['QuestionnaireResponse']), now: new Date(), timeZone });
  if (!outcome.valid) {
    return { valid: false, list: invalidIssues(content, outcome) };
  }
  return { valid: true, list: [dispositionAdviceIssue(content, outcome.result, outcome.result.advice), ...outcome.result.warnings] };
}

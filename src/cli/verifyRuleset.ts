import type { PlanDefinition } from '@medplum/fhirtypes';
import { buildTriageContent } from '../content/buildTriageContent';
import { readResourceFile } from '../content/readResourceFiles';
import { verifyRuleset } from '../triage/verifyRuleset';
import type { CliCommand } from './cliCommand';
import { describeError, readShippedContent } from './shippedContent';

/**
 * `hip-triage verify-ruleset <file>`: the check start-up runs on RULESET_FILE, before a site
 * deploys a replacement (contract, "Replacing the ruleset"). Exit 0 passed, 1 refused, 2 unusable file.
 */
export const verifyRulesetCommand: CliCommand = (program, io, run) => {
  program
    .command('verify-ruleset')
    .description(
      'check a replacement ruleset PlanDefinition against the contract: red-flag scenarios at every age boundary, children, advice, safety net, monotonicity'
    )
    .argument('<file>', 'the PlanDefinition (JSON)')
    .action((file: string) => {
      let content;
      try {
        content = buildTriageContent(readShippedContent(), readResourceFile<PlanDefinition>(file));
      } catch (err) {
        io.stderr(`${file} cannot be used as a ruleset: ${describeError(err)}\n`);
        run.exitCode = 2;
        return;
      }
      const verification = verifyRuleset(content);
      const version = content.ruleset.version;
      if (verification.passed) {
        io.stdout(`${file}: ruleset ${version} passes. ${verification.message}\n`);
      } else {
        io.stderr(`${file}: ruleset ${version} is refused (each line names the rule and the scenario):\n${verification.message}\n`);
        run.exitCode = 1;
      }
    });
};

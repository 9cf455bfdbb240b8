import type { PlanDefinition } from '@medplum/fhirtypes';
import { buildTriageContent } from '../content/buildTriageContent';
import { readResourceFile } from '../content/readResourceFiles';
import { verifyRuleset } from '../triage/verifyRuleset';
import type { CliCommand } from './cliCommand';
import { describeError, readShippedContent } from './shippedContent';

/**
 * `hip-triage verify-ruleset <file>`: the check start-up runs on RULESET_FILE, before a site
 * deploys a replacement. Exit 0 passed, 1 failed the red-flag suite, 2 unusable file.
 */
export const verifyRulesetCommand: CliCommand = (program, io, run) => {
  program
    .command('verify-ruleset')
    .description('run the red-flag suite against a replacement ruleset PlanDefinition (every emergency and urgent scenario must keep its disposition)')
    .argument('<file>', 'the PlanDefinition (JSON)')
    .action((file: string) => {
      let ruleset;
      try {
        ruleset = buildTriageContent(readShippedContent(), readResourceFile<PlanDefinition>(file)).ruleset;
      } catch (err) {
        io.stderr(`${file} cannot be used as a ruleset: ${describeError(err)}\n`);
        run.exitCode = 2;
        return;
      }
      const verification = verifyRuleset(ruleset);
      if (verification.passed) {
        io.stdout(`${file}: ruleset ${ruleset.version} passes. ${verification.message}\n`);
      } else {
        io.stderr(`${file}: ruleset ${ruleset.version} fails the red-flag suite:\n${verification.message}\n`);
        run.exitCode = 1;
      }
    });
};

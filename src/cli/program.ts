import '../compileCache';
import { Command, CommanderError } from 'commander';
import { SOFTWARE_VERSION } from '../composeService';
import { backupCommand } from './backup';
import type { CliCommand, CliIo, CliRun } from './cliCommand';
import { fhirPackageCommand } from './fhirPackage';
import { pushContentCommand } from './pushContent';
import { triageCommand } from './triage';
import { validateCommand } from './validate';
import { verifyRulesetCommand } from './verifyRuleset';

/** Every command; a new one is a file exporting a CliCommand, added here. */
const COMMANDS: readonly CliCommand[] = [triageCommand, pushContentCommand, verifyRulesetCommand, validateCommand, fhirPackageCommand, backupCommand];

/** Runs `hip-triage` with `argv` (as process.argv: node, script, args…) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const run: CliRun = { exitCode: 0 };
  const program = new Command('hip-triage')
    .description('Hip-pain triage: content loading, ruleset checks and response validation.')
    .version(SOFTWARE_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();
  for (const command of COMMANDS) {
    command(program, io, run);
  }
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return err.exitCode;
    }
    io.stderr(`hip-triage: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return run.exitCode;
}

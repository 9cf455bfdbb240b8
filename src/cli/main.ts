#!/usr/bin/env node
import { nodeVersionProblem } from './nodeVersion';

/**
 * `hip-triage`: the Node version is checked before anything loads @medplum (the commands
 * are imported only after the check), so an old Node gets instructions, not a stack trace.
 */
const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(problem);
  process.exit(1);
}

void import('./program').then(async ({ runCli }) => {
  const exitCode = await runCli(process.argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    stdoutStream: process.stdout,
  });
  process.exitCode = exitCode;
});

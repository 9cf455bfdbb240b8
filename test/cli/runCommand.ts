import { runCli } from '../../src/cli/program';

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `hip-triage <args>` in-process with the given environment only. */
export async function hipTriage(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli(['node', 'hip-triage', ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
  });
  return { exitCode, stdout, stderr };
}

import type { Command } from 'commander';

/** Where a command writes and what it reads, so tests run commands in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** The real standard output, when there is one: bulk output then waits for it to drain, keeping memory constant. */
  readonly stdoutStream?: NodeJS.WritableStream | undefined;
}

/** What a command's action reports back: the process exit code. */
export interface CliRun {
  exitCode: number;
}

/**
 * One `hip-triage` command, in its own file: it adds itself to the program and sets
 * `run.exitCode` from its action. Commands are listed in program.ts.
 */
export type CliCommand = (program: Command, io: CliIo, run: CliRun) => void;

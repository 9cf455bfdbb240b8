import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/responses';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');

/** The real service (src/server.ts, no build) as a child process, with its output kept for assertions. */
export interface ServiceProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line (JSON log lines) so far. */
  readonly lines: string[];
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the port once the service logs `listening`; rejects if it exits first. */
  readonly listening: Promise<number>;
  /** Resident set size in MB, from /proc (Linux); undefined once the process is gone. */
  rssMb(): number | undefined;
  /** SIGTERM, and the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns the service with exactly `env` (plus PATH and HOME): nothing leaks in from the
 * test's own environment. Loopback and an OS-chosen port unless `env` says otherwise;
 * LOG_LEVEL must be `info` or lower, since the port is read from the `listening` line.
 */
export function spawnService(env: Record<string, string>): ServiceProcess {
  const child = spawn(NODE, ['-r', join(ROOT, 'test/support/registerTs.js'), join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: '0', DATA_DIR: ':memory:', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buffered = '';
  let onListening: ((port: number) => void) | undefined;
  const listening = new Promise<number>((resolve) => {
    onListening = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          onListening?.(entry.port);
        }
      } catch {
        // Not a log line: kept in `lines` all the same.
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal }))
  );
  const listeningOrExit = Promise.race([
    listening,
    exited.then(({ code, signal }) => Promise.reject(new Error(`the service exited (${code ?? signal ?? ''}) before listening: ${stderr}`))),
    // A generous hang guard: the `listening` line is logged at info, so LOG_LEVEL must let it through.
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the service did not log `listening` within 120 s')), 120_000).unref()),
  ]);
  listeningOrExit.catch(() => undefined);
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    listening: listeningOrExit,
    rssMb: () => {
      try {
        const status = readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8');
        const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
        return Number.isFinite(kb) ? kb / 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
      }
      return exited;
    },
  };
}

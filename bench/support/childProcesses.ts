import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './fixtures';

/** `dist/` of this checkout: every child runs compiled JavaScript, as `npm start` does. */
export const DIST = join(ROOT, 'dist');

/** A port nobody listens on now (bound and released at once on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Environment for a service child: no rate limit (the bench is one client), quiet logs. */
export function serviceEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...extra };
}

export interface RunningServer {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readonly readyMs: number;
  /** Its stdout lines so far, when started with `keepStdout` (pino JSON lines). */
  readonly stdoutLines: () => string[];
  stop(): Promise<void>;
}

/**
 * Spawns `node <script>` listening on PORT and waits for `/readyz` to answer 200. Its stderr
 * is kept (last 4 KB) so a child that dies says why; stdout is discarded (pino lines).
 */
export async function startServer(options: {
  readonly name: string;
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  readonly nodeArgs?: readonly string[];
  readonly timeoutMs?: number;
  readonly keepStdout?: boolean;
}): Promise<RunningServer> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    env: { ...options.env, PORT: String(port) },
    stdio: ['ignore', options.keepStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096);
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForReady(url, child, options.timeoutMs ?? 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${options.name} did not become ready: ${(err as Error).message}\n${stderr}`);
  }
  const readyMs = performance.now() - started;
  return {
    name: options.name,
    url,
    pid: child.pid ?? -1,
    child,
    readyMs,
    stdoutLines: () => stdout.split('\n').filter((l) => l !== ''),
    stop: () => stopChild(child),
  };
}

/** Polls `GET /readyz` every 10 ms until 200; fails early if the child exits. */
export async function waitForReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    }
    try {
      const answer = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await answer.arrayBuffer();
      if (answer.status === 200) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no 200 from ${url}/readyz within ${timeoutMs} ms`);
}

/** SIGTERM (the service drains and closes its journal), SIGKILL if it takes more than 15 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs `node <script> <args>` to completion and parses the last stdout line as JSON: the
 * in-process measures run in a fresh process each, so one's heap and JIT state never
 * colours another's figure.
 */
export async function runJsonChild<T>(script: string, args: readonly string[], nodeArgs: readonly string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0) {
    throw new Error(`${script} exited ${code}:\n${stderr}`);
  }
  return JSON.parse(last) as T;
}

/**
 * User + system CPU time a process has used, in ms, from /proc/<pid>/stat (Linux; USER_HZ is
 * 100 on every Linux ABI Node supports). CPU per request is the figure that a shared, noisy
 * machine disturbs least: other jobs steal wall-clock time, not this process's CPU time.
 * NaN where /proc is absent.
 */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may hold spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

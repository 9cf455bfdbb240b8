import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';
import { counts, gpResponse, NONE, ONE_OF_EACH, resultsForSubject } from './triageResults';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');

interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The real service (src/server.ts, no build) as a child process on loopback, port chosen by the OS. */
function spawnServer(dataDir: string): ServerProcess {
  const child = spawn(NODE, ['-r', join(ROOT, 'test/support/registerTs.js'), join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    // Only what the service needs: no FHIR_BASE_URL or other settings leak in from the test's environment.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal }))
  );
  return { child, stderr: () => stderr, exited };
}

/** Resolves with the port once the service logs `listening`. */
function listeningPort(server: ServerProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    server.child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          resolve(entry.port);
        }
      }
    });
    void server.exited.then(({ code }) => reject(new Error(`the service exited (${code}) before listening: ${server.stderr()}`)));
  });
}

describe('kill -9 in the middle of a stream of $triage write-backs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hip-killed-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a second process on the same DATA_DIR, and keeps every result that got a 200', async () => {
    const first = spawnServer(dataDir);
    const port = await listeningPort(first);

    const second = spawnServer(dataDir);
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    expect(second.stderr()).toContain(`DATA_DIR ${dataDir} is already in use by process ${first.child.pid ?? ''}; only one process may open it.`);
    expect(second.stderr()).not.toMatch(/^\s+at /m);

    const started: string[] = [];
    const acknowledged: string[] = [];
    const KILL_AFTER = 20;
    let next = 0;
    let killed = false;
    const sender = async (): Promise<void> => {
      while (!killed) {
        const subject = `Patient/killed-${next++}`;
        started.push(subject);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/fhir/QuestionnaireResponse/$triage`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/fhir+json' },
            body: JSON.stringify(gpResponse(subject)),
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            acknowledged.push(subject);
          }
        } catch {
          // The connection died with the process: not acknowledged.
        }
        if (acknowledged.length >= KILL_AFTER && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);

    // The kernel released the killed process's lock on store.lock; a new start takes it.
    const restarted = await startTestService({ DATA_DIR: dataDir });
    try {
      for (const subject of acknowledged) {
        expect([subject, counts(await resultsForSubject(restarted.store, subject))]).toEqual([subject, ONE_OF_EACH]);
      }
      // Never half a triage: whatever was in flight at the kill is all there or not at all.
      for (const subject of started.filter((s) => !acknowledged.includes(s))) {
        const found = counts(await resultsForSubject(restarted.store, subject));
        expect([subject, found]).toEqual([subject, found.RiskAssessment === 1 ? ONE_OF_EACH : NONE]);
      }
    } finally {
      await restarted.close();
    }
  }, 90_000);
});

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { idsByTag, openTestStore, recordingLogger, TAG_SYSTEM, tempDataDir } from './fixtures';

const ROOT = join(__dirname, '..', '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

interface WriterRun {
  readonly started: string[];
  readonly acknowledged: Map<string, string>;
  readonly signal: NodeJS.Signals | null;
}

/** Runs crashWriter.js on `dataDir` and SIGKILLs it once `killAfterAcks` transactions were acknowledged. */
function runAndKill(dataDir: string, prefix: string, killAfterAcks: number): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['-r', join(ROOT, 'test/support/registerTs.js'), join(__dirname, 'crashWriter.js'), dataDir, prefix], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started: string[] = [];
    const acknowledged = new Map<string, string>();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, run, location] = line.split(' ');
        if (kind === 'START' && run) {
          started.push(run);
        } else if (kind === 'ACK' && run && location) {
          acknowledged.set(run, location);
          if (acknowledged.size === killAfterAcks) {
            child.kill('SIGKILL');
          }
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`crash writer exited with ${code}: ${stderr}`));
        return;
      }
      resolve({ started, acknowledged, signal });
    });
  });
}

describe('kill -9 during writes', () => {
  it('keeps every acknowledged transaction and never half of one', async () => {
    const { dir, cleanup } = tempDataDir();
    try {
      for (const [round, killAfterAcks] of [
        [1, 25],
        [2, 60],
        [3, 7],
      ] as const) {
        const run = await runAndKill(dir, `round${round}`, killAfterAcks);
        expect(run.signal).toBe('SIGKILL');
        expect(run.acknowledged.size).toBeGreaterThanOrEqual(killAfterAcks);

        // The kernel released the killed process's lock on store.lock; SQLite rolls back whatever was not committed.
        const store = await openTestStore(dir, recordingLogger());
        try {
          for (const [label, location] of run.acknowledged) {
            const [patientId] = await idsByTag(store, 'Patient', `${label}-patient`);
            expect([label, `Patient/${patientId}`]).toEqual([label, location]);
          }
          let present = 0;
          for (const label of run.started) {
            const counts = await Promise.all([
              idsByTag(store, 'Patient', `${label}-patient`),
              idsByTag(store, 'Observation', `${label}-obs-1`),
              idsByTag(store, 'Observation', `${label}-obs-2`),
            ]).then((lists) => lists.map((ids) => ids.length));
            expect([label, counts]).toEqual([label, counts[0] === 1 ? [1, 1, 1] : [0, 0, 0]]);
            present += counts[0] ?? 0;
          }
          // Nothing exists that the writer never started.
          const patients = await store.searchResources('Patient', {});
          const ofThisRound = patients.filter((p) => p.meta?.tag?.some((t) => t.system === TAG_SYSTEM && t.code?.startsWith(`round${round}-`)));
          expect(ofThisRound).toHaveLength(present);
        } finally {
          await store.close();
        }
      }
    } finally {
      cleanup();
    }
  }, 60_000);
});

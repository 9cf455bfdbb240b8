import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST } from '../support/childProcesses';
import { loadRuleFixtures, responseVariant } from '../support/fixtures';

export interface BulkSection {
  readonly responses: number;
  /** `--workers` given to the command (undefined: its default, the cores). */
  readonly workers: number | undefined;
  readonly inputMb: number;
  readonly wallSeconds: number;
  readonly perSecond: number;
  readonly peakRssMb: number;
  /** `/usr/bin/time -v` when present, else the child's VmHWM sampled from /proc. */
  readonly peakRssSource: 'time -v' | 'proc VmHWM';
  readonly outputLines: number;
  readonly dispositions: Record<string, number>;
}

const TIME = '/usr/bin/time';

/**
 * `hip-triage triage <n.ndjson> --out <file>` over `responses` generated responses (the 31
 * rule fixtures, each line a distinct variant): wall time from spawn to exit, and peak RSS.
 * The command's own start-up (FHIR definitions, content) is inside the wall time, as a user
 * running it would see.
 */
export async function measureBulkTriage(options: { responses: number; workers?: number | undefined }, log: (line: string) => void): Promise<BulkSection> {
  const work = mkdtempSync(join(tmpdir(), 'hip-triage-bench-bulk-'));
  try {
    const input = join(work, 'responses.ndjson');
    const output = join(work, 'results.ndjson');
    writeNdjson(input, options.responses);
    const cli = join(DIST, 'src/cli/main.js');
    const args = ['triage', input, '--out', output, ...(options.workers === undefined ? [] : ['--workers', String(options.workers)])];
    const useTime = existsSync(TIME);
    const started = performance.now();
    const child = useTime
      ? spawn(TIME, ['-v', process.execPath, cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // Without time(1): VmHWM is the kernel's own high-water mark, so sampling only has to
    // catch the process alive, not at its peak.
    let hwmKb = 0;
    const sampler = useTime
      ? undefined
      : setInterval(() => {
          try {
            const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8'));
            hwmKb = Math.max(hwmKb, Number(match?.[1] ?? 0));
          } catch {
            // Exited.
          }
        }, 20);
    const [code] = (await once(child, 'exit')) as [number | null];
    const wallSeconds = (performance.now() - started) / 1000;
    if (sampler) {
      clearInterval(sampler);
    }
    if (code !== 0) {
      throw new Error(`hip-triage triage exited ${code}:\n${stderr.slice(-2000)}`);
    }
    const peakKb = useTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? Number.NaN) : hwmKb;
    const lines = readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const dispositions: Record<string, number> = {};
    for (const line of lines) {
      const result = JSON.parse(line) as { disposition?: string };
      const key = result.disposition ?? 'invalid';
      dispositions[key] = (dispositions[key] ?? 0) + 1;
    }
    if (lines.length !== options.responses) {
      throw new Error(`hip-triage triage wrote ${lines.length} result lines for ${options.responses} responses`);
    }
    const section: BulkSection = {
      responses: options.responses,
      workers: options.workers,
      inputMb: Math.round(statSync(input).size / 1e5) / 10,
      wallSeconds: Math.round(wallSeconds * 100) / 100,
      perSecond: Math.round(options.responses / wallSeconds),
      peakRssMb: Math.round(peakKb / 1000),
      peakRssSource: useTime ? 'time -v' : 'proc VmHWM',
      outputLines: lines.length,
      dispositions,
    };
    log(
      `  ${options.responses} responses (${section.inputMb} MB), workers ${options.workers ?? 'default'}: ${section.wallSeconds} s, ${section.perSecond}/s, peak RSS ${section.peakRssMb} MB (${section.peakRssSource})`
    );
    return section;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function writeNdjson(path: string, count: number): void {
  const fixtures = loadRuleFixtures();
  const fd = openSync(path, 'w');
  try {
    let batch: string[] = [];
    for (let i = 0; i < count; i++) {
      batch.push(JSON.stringify(responseVariant(fixtures, i)));
      if (batch.length === 1000 || i === count - 1) {
        writeSync(fd, `${batch.join('\n')}\n`);
        batch = [];
      }
    }
  } finally {
    closeSync(fd);
  }
}

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, runJsonChild, serviceEnv, startServer } from '../support/childProcesses';
import { median } from '../support/loadGenerator';
import type { GrowthLevel } from './storeGrowth';

export interface GrowthOptions {
  /** Stored triages before each write-back measure, ascending; the largest is also the replay measure. */
  readonly levels: readonly number[];
  readonly seconds: number;
  readonly concurrency: number;
  /** Heap for the levels above `bigHeapFrom`: the default (about 4.5 GB here) cannot hold them. */
  readonly bigHeapMb: number;
  readonly bigHeapFrom: number;
  /** Cold starts measured per store (empty, and with the largest level stored). */
  readonly coldStartRuns: number;
}

export interface GrowthSection {
  readonly options: GrowthOptions;
  /** The synthetic database of the largest level: triages, file size, time to write it. */
  readonly storeWrite: { readonly triages: number; readonly bytes: number; readonly ms: number };
  readonly levels: readonly (GrowthLevel & { readonly nodeArgs: readonly string[] })[];
  /** Each level's write-back rate ÷ the empty store's (goal ≥ 0.8). */
  readonly writeBackVsEmpty: Record<string, number>;
  /** The same from CPU per write-back (empty ÷ level): growth cost without the machine's noise. */
  readonly writeBackCpuVsEmpty: Record<string, number>;
  readonly rssMbPer10kTriages: number;
  /** Opening the store at the largest level ÷ opening it empty (goal: about 1, nothing is replayed). */
  readonly openVsEmpty: number;
  readonly coldStart: { readonly runsMs: readonly number[]; readonly medianMs: number; readonly phasesMs: Record<string, number> | undefined };
  /** The same, with the largest level stored in DATA_DIR. */
  readonly coldStartFull: {
    readonly storedTriages: number;
    readonly runsMs: readonly number[];
    readonly medianMs: number;
    readonly phasesMs: Record<string, number> | undefined;
  };
}

/**
 * Growth: write-back rate and memory with 0, 10k and 100k triages already stored, the time
 * to open the store, and cold start (empty, and with the largest level stored). The stored
 * triages are written straight into a SQLite database (real triage resources with fresh ids;
 * see syntheticStore.ts); each level is measured in a fresh process opening that DATA_DIR.
 */
export async function measureGrowth(options: GrowthOptions, log: (line: string) => void): Promise<GrowthSection> {
  const work = mkdtempSync(join(tmpdir(), 'hip-triage-bench-growth-'));
  try {
    const largest = Math.max(...options.levels);
    const fullDir = join(work, `level-${largest}`);
    let storeWrite = { triages: largest, bytes: 0, ms: 0 };
    const levels: (GrowthLevel & { nodeArgs: readonly string[] })[] = [];
    for (const level of options.levels) {
      const dir = level === largest ? fullDir : join(work, `level-${level}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (level > 0) {
        const written = await writeStore(dir, level);
        log(`  synthetic store: ${level} triages, ${Math.round(written.bytes / 1e6)} MB in ${written.ms} ms`);
        if (level === largest) {
          storeWrite = { triages: level, ...written };
        }
      }
      const nodeArgs = ['--expose-gc', ...(level >= options.bigHeapFrom ? [`--max-old-space-size=${options.bigHeapMb}`] : [])];
      const result = await runJsonChild<GrowthLevel>(
        join(DIST, 'bench/growth/storeGrowth.js'),
        [dir, String(options.seconds), String(options.concurrency), String(level)],
        nodeArgs
      );
      levels.push({ ...result, nodeArgs });
      log(
        `  ${level} triages stored (${result.storedResources} resources): open ${result.openMs} ms, RSS ${result.rssMb} MB (heap ${result.heapUsedMb} of ${result.heapLimitMb} MB), ` +
          `${result.writeBackPerSecond} write-backs/s, ${result.cpuMsPerWriteBack} ms CPU each, p99 ${result.writeBackP99Ms} ms`
      );
      if (level !== largest) {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const empty = levels[0];
    const top = levels[levels.length - 1];
    const writeBackVsEmpty: Record<string, number> = {};
    const writeBackCpuVsEmpty: Record<string, number> = {};
    for (const level of levels) {
      writeBackVsEmpty[String(level.storedTriages)] = empty ? round2(level.writeBackPerSecond / empty.writeBackPerSecond) : Number.NaN;
      writeBackCpuVsEmpty[String(level.storedTriages)] = empty ? round2(empty.cpuMsPerWriteBack / level.cpuMsPerWriteBack) : Number.NaN;
    }
    const span = empty && top ? top.storedTriages - empty.storedTriages : 0;
    const coldStart = await measureColdStart(options.coldStartRuns, ':memory:', log);
    const coldStartFull = { storedTriages: largest, ...(await measureColdStart(options.coldStartRuns, fullDir, log)) };
    return {
      options,
      storeWrite,
      levels,
      writeBackVsEmpty,
      writeBackCpuVsEmpty,
      rssMbPer10kTriages: empty && top && span > 0 ? round2(((top.rssMb - empty.rssMb) / span) * 10_000) : Number.NaN,
      openVsEmpty: empty && top ? round2(top.openMs / Math.max(empty.openMs, 1)) : Number.NaN,
      coldStart,
      coldStartFull,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function writeStore(dir: string, triages: number): Promise<{ bytes: number; ms: number }> {
  return runJsonChild<{ bytes: number; ms: number }>(join(DIST, 'bench/growth/syntheticStore.js'), [dir, String(triages)]);
}

/**
 * Cold start: `node dist/src/server.js` with DATA_DIR (`:memory:`, or a stored level), from spawn to the first 200
 * from /readyz (polled every 10 ms), several runs one after another; the median is the figure.
 * The service's own `start-up phases` log line (of the last run) says where the time goes.
 */
async function measureColdStart(runs: number, dataDir: string, log: (line: string) => void): Promise<GrowthSection['coldStart']> {
  const runsMs: number[] = [];
  let phasesMs: Record<string, number> | undefined;
  for (let i = 0; i < runs; i++) {
    const server = await startServer({
      name: 'service (cold start)',
      script: join(DIST, 'src/server.js'),
      env: serviceEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }),
      keepStdout: true,
    });
    runsMs.push(Math.round(server.readyMs));
    for (const line of server.stdoutLines()) {
      try {
        const entry = JSON.parse(line) as { msg?: string; phasesMs?: Record<string, number> };
        if (entry.msg === 'start-up phases') {
          phasesMs = entry.phasesMs;
        }
      } catch {
        // Not a log line.
      }
    }
    await server.stop();
  }
  log(
    `  cold start to /readyz (DATA_DIR ${dataDir === ':memory:' ? ':memory:' : 'with the largest level'}): ${runsMs.join(', ')} ms (median ${median(runsMs)} ms)${phasesMs ? `; phases ${JSON.stringify(phasesMs)}` : ''}`
  );
  return { runsMs, medianMs: median(runsMs), phasesMs };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

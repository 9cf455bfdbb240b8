import { join } from 'node:path';
import { DIST, serviceEnv, startServer } from './support/childProcesses';
import { median } from './support/loadGenerator';

export interface ColdStartSection {
  readonly runsMs: readonly number[];
  readonly medianMs: number;
  /** The service's own `start-up phases` log line (of the last run): where the time inside composeService went. */
  readonly phasesMs: Record<string, number> | undefined;
}

/**
 * Cold start: `node dist/src/server.js` with DATA_DIR=:memory:, from spawn to the first 200
 * from /readyz (polled every 10 ms), several runs one after another; the median is the figure
 * (issue 17's goal: ≤ 1.5 s). Node's compile cache (src/compileCache.ts) is warm after the
 * first run, as it is for any restart of a deployed service.
 */
export async function measureColdStart(runs: number, log: (line: string) => void): Promise<ColdStartSection> {
  const runsMs: number[] = [];
  let phasesMs: Record<string, number> | undefined;
  for (let i = 0; i < runs; i++) {
    const server = await startServer({
      name: 'service (cold start)',
      script: join(DIST, 'src/server.js'),
      env: serviceEnv({ DATA_DIR: ':memory:', LOG_LEVEL: 'info' }),
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
  log(`  cold start to /readyz: ${runsMs.join(', ')} ms (median ${median(runsMs)} ms)${phasesMs ? `; phases ${JSON.stringify(phasesMs)}` : ''}`);
  return { runsMs, medianMs: median(runsMs), phasesMs };
}

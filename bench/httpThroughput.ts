import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, processCpuMs, type RunningServer, serviceEnv, startServer } from './support/childProcesses';
import { fixedBodyFactory, loadRuleFixtures, variantBodyFactory } from './support/fixtures';
import { drive, type LoadTarget, median, type RoundResult } from './support/loadGenerator';

export interface HttpOptions {
  readonly roundSeconds: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
}

export interface MeasuredRound extends RoundResult {
  /** The server process's CPU time per answered request (ms): robust to other jobs on the machine. */
  readonly serverCpuMsPerRequest: number;
}

export interface TargetSummary {
  readonly perSecond: number;
  readonly serverCpuMsPerRequest: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly rounds: readonly MeasuredRound[];
}

export type HttpTargetName = 'nodeEcho' | 'expressEcho' | 'triageNoPersist' | 'triagePersistInMemory' | 'triagePersist' | 'triageRedelivery';

export interface HttpSection {
  readonly options: HttpOptions;
  readonly targets: Record<HttpTargetName, TargetSummary>;
  /** Each the median over rounds of the two targets' rates in the same round (adjacent in time). */
  readonly ratios: {
    readonly triageNoPersistVsExpressEcho: number;
    readonly triageNoPersistVsNodeEcho: number;
    readonly triagePersistVsExpressEcho: number;
    readonly triagePersistInMemoryVsExpressEcho: number;
    readonly triageRedeliveryVsExpressEcho: number;
    readonly expressEchoVsNodeEcho: number;
  };
  /** The same ratios from server CPU per request (echo CPU ÷ triage CPU): what the rate ratios would be if each server had a core to itself. */
  readonly cpuRatios: {
    readonly triageNoPersistVsExpressEcho: number;
    readonly triageNoPersistVsNodeEcho: number;
    readonly triagePersistVsExpressEcho: number;
  };
}

const TRIAGE = '/fhir/QuestionnaireResponse/$triage';

/**
 * Ceiling and ratio: two bare JSON echoes and the service, driven alike, in alternating rounds
 * (every target once per round, in the same order), so machine-wide drift (other jobs on the
 * shared cores, thermal state) lands on every target instead of on one.
 *
 * The service runs as three processes, so one target's writes never grow the heap another
 * target is measured on: `:memory:` for persist=false, `:memory:` for persist, and a real
 * DATA_DIR (journal with fdatasync: the production set-up) for persist and redelivery.
 */
export async function measureHttpThroughput(options: HttpOptions, log: (line: string) => void): Promise<HttpSection> {
  const fixtures = loadRuleFixtures();
  const varied = variantBodyFactory(fixtures);
  const fixed = fixedBodyFactory(fixtures);
  const dataDir = mkdtempSync(join(tmpdir(), 'hip-triage-bench-http-'));
  const servers: RunningServer[] = [];
  try {
    const start = async (name: string, script: string, env: NodeJS.ProcessEnv): Promise<RunningServer> => {
      const server = await startServer({ name, script, env });
      servers.push(server);
      return server;
    };
    const server = join(DIST, 'src/server.js');
    const [nodeEcho, expressEcho, noPersist, persistMemory, persistDisk] = await Promise.all([
      start('node:http echo', join(DIST, 'bench/echo/nodeHttpEcho.js'), process.env),
      start('express echo', join(DIST, 'bench/echo/expressEcho.js'), process.env),
      start('service (:memory:, persist=false)', server, serviceEnv({ DATA_DIR: ':memory:' })),
      start('service (:memory:, persist)', server, serviceEnv({ DATA_DIR: ':memory:' })),
      start('service (DATA_DIR, persist)', server, serviceEnv({ DATA_DIR: dataDir })),
    ]);
    if (!nodeEcho || !expressEcho || !noPersist || !persistMemory || !persistDisk) {
      throw new Error('a server did not start');
    }
    const targets: Record<HttpTargetName, LoadTarget & { pid: number }> = {
      nodeEcho: { name: 'node:http JSON echo', url: nodeEcho.url, pid: nodeEcho.pid, path: '/', body: varied },
      expressEcho: { name: 'express 5 JSON echo', url: expressEcho.url, pid: expressEcho.pid, path: '/', body: varied },
      triageNoPersist: { name: '$triage?persist=false', url: noPersist.url, pid: noPersist.pid, path: `${TRIAGE}?persist=false`, body: varied },
      triagePersistInMemory: { name: '$triage (DATA_DIR=:memory:)', url: persistMemory.url, pid: persistMemory.pid, path: TRIAGE, body: varied },
      triagePersist: { name: '$triage (DATA_DIR on disk)', url: persistDisk.url, pid: persistDisk.pid, path: TRIAGE, body: varied },
      triageRedelivery: { name: '$triage redelivery (same bodies)', url: persistDisk.url, pid: persistDisk.pid, path: TRIAGE, body: fixed },
    };
    const names = Object.keys(targets) as HttpTargetName[];
    // One counter for all: the varied bodies of one target are never reused by another.
    const counter = { next: 0 };
    const rounds: Record<HttpTargetName, MeasuredRound[]> = {
      nodeEcho: [],
      expressEcho: [],
      triageNoPersist: [],
      triagePersistInMemory: [],
      triagePersist: [],
      triageRedelivery: [],
    };
    for (const name of names) {
      // JIT warm-up, and the redelivery target's 31 first deliveries, before anything counts.
      await drive(targets[name], { seconds: options.warmupSeconds, connections: options.connections, counter });
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const name of names) {
        const cpuBefore = processCpuMs(targets[name].pid);
        const driven = await drive(targets[name], { seconds: options.roundSeconds, connections: options.connections, counter });
        const result: MeasuredRound = {
          ...driven,
          serverCpuMsPerRequest: round3((processCpuMs(targets[name].pid) - cpuBefore) / Math.max(driven.requests, 1)),
        };
        rounds[name].push(result);
        log(
          `  round ${round}/${options.rounds} ${targets[name].name}: ${Math.round(result.perSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, server CPU ${result.serverCpuMsPerRequest} ms/req${result.non2xx || result.errors ? ` (non-2xx ${result.non2xx}, errors ${result.errors})` : ''}`
        );
      }
    }
    const summary = (results: readonly MeasuredRound[]): TargetSummary => ({
      perSecond: Math.round(median(results.map((r) => r.perSecond))),
      serverCpuMsPerRequest: round3(median(results.map((r) => r.serverCpuMsPerRequest))),
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      requests: results.reduce((n, r) => n + r.requests, 0),
      non2xx: results.reduce((n, r) => n + r.non2xx, 0),
      errors: results.reduce((n, r) => n + r.errors, 0),
      rounds: results,
    });
    const ratio = (a: HttpTargetName, b: HttpTargetName): number =>
      round3(median(rounds[a].map((r, i) => r.perSecond / (rounds[b][i]?.perSecond ?? Number.NaN))));
    const cpuRatio = (a: HttpTargetName, b: HttpTargetName): number =>
      round3(median(rounds[a].map((r, i) => (rounds[b][i]?.serverCpuMsPerRequest ?? Number.NaN) / r.serverCpuMsPerRequest)));
    return {
      options,
      targets: {
        nodeEcho: summary(rounds.nodeEcho),
        expressEcho: summary(rounds.expressEcho),
        triageNoPersist: summary(rounds.triageNoPersist),
        triagePersistInMemory: summary(rounds.triagePersistInMemory),
        triagePersist: summary(rounds.triagePersist),
        triageRedelivery: summary(rounds.triageRedelivery),
      },
      ratios: {
        triageNoPersistVsExpressEcho: ratio('triageNoPersist', 'expressEcho'),
        triageNoPersistVsNodeEcho: ratio('triageNoPersist', 'nodeEcho'),
        triagePersistVsExpressEcho: ratio('triagePersist', 'expressEcho'),
        triagePersistInMemoryVsExpressEcho: ratio('triagePersistInMemory', 'expressEcho'),
        triageRedeliveryVsExpressEcho: ratio('triageRedelivery', 'expressEcho'),
        expressEchoVsNodeEcho: ratio('expressEcho', 'nodeEcho'),
      },
      cpuRatios: {
        triageNoPersistVsExpressEcho: cpuRatio('triageNoPersist', 'expressEcho'),
        triageNoPersistVsNodeEcho: cpuRatio('triageNoPersist', 'nodeEcho'),
        triagePersistVsExpressEcho: cpuRatio('triagePersist', 'expressEcho'),
      },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

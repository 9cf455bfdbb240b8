import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type BulkSection, measureBulkTriage } from './bulk/bulkTriageCommand';
import { type ColdStartSection, measureColdStart } from './coldStart';
import type { StructureCheckRate } from './structureCheckRate';
import { compareResults, type GoalRow, readResults } from './compare';
import { type GrowthOptions, type GrowthSection, measureGrowth } from './growth/growthSection';
import { type HttpOptions, type HttpSection, measureHttpThroughput, round3 } from './httpThroughput';
import { measureRoundTrips, type RoundTripsSection } from './roundTrips/remoteRoundTrips';
import { DIST, runJsonChild } from './support/childProcesses';
import { ROOT } from './support/fixtures';

/**
 * `npm run bench`: every measure of issues 9 and 17 in one run, on loopback, bounded in time,
 * then `bench/results/latest.json` and a table: each goal row with its measured value and the
 * load average while its section ran. See BENCHMARKS.md for what each figure means.
 *
 *   npm run bench                        full run (about 6 minutes on a quiet 2-core machine)
 *   npm run bench -- --quick             a smoke of every section in tiny sizes (bench/smoke)
 *   npm run bench -- --only http,bulk    some sections only (scoring, http, growth, coldStart, bulk, roundTrips)
 *   npm run bench -- --out FILE          write the results elsewhere
 *   npm run bench -- --compare FILE      then print the change against an earlier results file
 *   BENCH_SECONDS=N                      seconds per HTTP round and per in-process rate
 */

type SectionName = 'scoring' | 'http' | 'growth' | 'coldStart' | 'bulk' | 'roundTrips';
const SECTIONS: readonly SectionName[] = ['scoring', 'http', 'growth', 'coldStart', 'bulk', 'roundTrips'];

interface Plan {
  readonly quick: boolean;
  readonly scoringSeconds: number;
  readonly http: HttpOptions;
  readonly growth: GrowthOptions;
  readonly coldStartRuns: number;
  readonly bulkResponses: number;
}

interface ScoringSection {
  readonly ours: { perSecond: number; perCpuSecond: number; responses: number; fixtures: number };
  readonly templateExtract: { perSecond: number; perCpuSecond: number; responses: number; fixtures: number; risks: Record<string, number> };
  /** The structure check with the build-time validators against ones compiled at start-up (issue 17). */
  readonly structureCheck: StructureCheckRate;
}

type Goal = GoalRow;

/** 1-minute load average at a section's start and end: what the machine was doing while it measured. */
type SectionLoads = Partial<Record<SectionName, readonly [number, number]>>;

function parseArgs(argv: readonly string[]): { plan: Plan; only: readonly SectionName[]; out: string; compare: string | undefined } {
  const quick = argv.includes('--quick');
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seconds = Number(process.env.BENCH_SECONDS ?? flag('--seconds') ?? (quick ? 1 : 5));
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error('BENCH_SECONDS (or --seconds) must be a positive number');
  }
  const only = (flag('--only')?.split(',') ?? SECTIONS) as SectionName[];
  for (const name of only) {
    if (!SECTIONS.includes(name)) {
      throw new Error(`--only: unknown section ${name} (sections: ${SECTIONS.join(', ')})`);
    }
  }
  const plan: Plan = quick
    ? {
        quick,
        scoringSeconds: Math.min(seconds, 0.5),
        http: { roundSeconds: seconds, rounds: 1, warmupSeconds: 0, connections: 10 },
        growth: { levels: [0, 300], seconds: 0.5, concurrency: 10, bigHeapMb: 12_288, bigHeapFrom: 50_000, coldStartRuns: 1 },
        coldStartRuns: 1,
        bulkResponses: 2_000,
      }
    : {
        quick,
        scoringSeconds: Math.min(seconds, 3),
        http: { roundSeconds: seconds, rounds: 3, warmupSeconds: 2, connections: 10 },
        growth: { levels: [0, 10_000, 100_000], seconds: 5, concurrency: 10, bigHeapMb: 12_288, bigHeapFrom: 50_000, coldStartRuns: 5 },
        coldStartRuns: 5,
        bulkResponses: 100_000,
      };
  const compare = flag('--compare');
  return { plan, only, out: resolve(flag('--out') ?? join(ROOT, 'bench/results/latest.json')), compare: compare === undefined ? undefined : resolve(compare) };
}

function load1(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

async function main(): Promise<number> {
  const { plan, only, out, compare } = parseArgs(process.argv.slice(2));
  // Read first: a typo in the path should fail before minutes of measuring.
  const earlier = compare === undefined ? undefined : readResults(compare);
  const started = performance.now();
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const machine = {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1e9),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  log(
    `hip-pain-triage benchmark (${plan.quick ? 'quick' : 'full'}): ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}`
  );
  const errors: Record<string, string> = {};
  const loads: SectionLoads = {};
  const run = async <T>(name: SectionName, title: string, measure: () => Promise<T>): Promise<T | undefined> => {
    if (!only.includes(name)) {
      return undefined;
    }
    const loadAtStart = load1();
    log(`\n== ${title} (load average ${loadAtStart})`);
    try {
      return await measure();
    } catch (err) {
      errors[name] = err instanceof Error ? err.message : String(err);
      log(`  FAILED: ${errors[name]}`);
      return undefined;
    } finally {
      loads[name] = [loadAtStart, load1()];
    }
  };

  const scoring = await run('scoring', 'Scoring core (one core, in-process)', async (): Promise<ScoringSection> => {
    const seconds = String(plan.scoringSeconds);
    const ours = await runJsonChild<ScoringSection['ours']>(join(DIST, 'bench/scoringRate.js'), [seconds]);
    log(`  scoreResponse: ${ours.perSecond}/s (${ours.perCpuSecond} per CPU second)`);
    const templateExtract = await runJsonChild<ScoringSection['templateExtract']>(join(DIST, 'bench/templateExtract/templateExtractRate.js'), [seconds]);
    log(
      `  @aehrc/sdc-template-extract RiskAssessment: ${templateExtract.perSecond}/s (${templateExtract.perCpuSecond} per CPU second); risks ${JSON.stringify(templateExtract.risks)}`
    );
    const structureCheck = await runJsonChild<StructureCheckRate>(join(DIST, 'bench/structureCheckRate.js'), [seconds]);
    log(
      `  structure check: ${structureCheck.compiledPerCpuSecond} per CPU second with the build-time validators, ${structureCheck.runtimePerCpuSecond} compiled at start-up (${structureCheck.compiledVsRuntime}×)`
    );
    return { ours, templateExtract, structureCheck };
  });
  const http = await run('http', 'Ceiling and ratio (loopback HTTP, alternating rounds)', () => measureHttpThroughput(plan.http, log));
  const growth = await run('growth', 'Growth (stored results, replay)', () => measureGrowth(plan.growth, log));
  const coldStart = await run('coldStart', 'Cold start (spawn to the first 200 from /readyz)', () => measureColdStart(plan.coldStartRuns, log));
  const bulk = await run('bulk', 'Bulk (hip-triage triage over NDJSON)', () => measureBulkTriage({ responses: plan.bulkResponses }, log));
  const roundTrips = await run('roundTrips', 'Round trips to an external FHIR server (remote mode)', () => measureRoundTrips(log));

  const ratios = {
    triageNoPersistVsExpressEcho: http?.ratios.triageNoPersistVsExpressEcho ?? null,
    triageNoPersistVsNodeEcho: http?.ratios.triageNoPersistVsNodeEcho ?? null,
    triagePersistVsExpressEcho: http?.ratios.triagePersistVsExpressEcho ?? null,
    triagePersistInMemoryVsExpressEcho: http?.ratios.triagePersistInMemoryVsExpressEcho ?? null,
    triageRedeliveryVsExpressEcho: http?.ratios.triageRedeliveryVsExpressEcho ?? null,
    expressEchoVsNodeEcho: http?.ratios.expressEchoVsNodeEcho ?? null,
    // Per CPU second: both run on one core in-process, and CPU time is what another job on the
    // machine does not steal. The wall-clock ratio is beside it.
    scoringVsTemplateExtract: scoring ? round3(scoring.ours.perCpuSecond / scoring.templateExtract.perCpuSecond) : null,
    scoringVsTemplateExtractWallClock: scoring ? round3(scoring.ours.perSecond / scoring.templateExtract.perSecond) : null,
    structureCheckCompiledVsRuntime: scoring ? scoring.structureCheck.compiledVsRuntime : null,
  };
  const goals = buildGoals({ http, scoring, growth, coldStart, bulk, roundTrips, quick: plan.quick, loads });
  const results = {
    schema: 2,
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: plan.quick,
    sections: only,
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    ratios,
    goals,
    errors,
    plan,
    scoring: scoring ?? null,
    http: http ?? null,
    growth: growth ?? null,
    coldStart: coldStart ?? null,
    bulk: bulk ?? null,
    roundTrips: roundTrips ?? null,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  printTable(log, results.ratios, goals, http);
  log(`\nResults: ${out} (${results.durationSeconds} s${plan.quick ? ', quick: tiny sizes, figures not comparable' : ''})`);
  if (earlier && compare) {
    log('');
    for (const line of compareResults(earlier, results, compare, out)) {
      log(line);
    }
  }
  return Object.keys(errors).length > 0 ? 1 : 0;
}

function buildGoals(r: {
  http: HttpSection | undefined;
  scoring: ScoringSection | undefined;
  growth: GrowthSection | undefined;
  coldStart: ColdStartSection | undefined;
  bulk: BulkSection | undefined;
  roundTrips: RoundTripsSection | undefined;
  quick: boolean;
  loads: SectionLoads;
}): Goal[] {
  const goal = (
    id: string,
    section: SectionName,
    name: string,
    text: string,
    better: Goal['better'],
    value: number | string | undefined | null,
    met: boolean | undefined
  ): Goal => ({
    id,
    name,
    goal: text,
    value: value ?? null,
    // A quick run's sizes are not the goals' sizes: it says what it measured, never "met".
    met: r.quick || met === undefined ? null : met,
    better,
    loadAverage: r.loads[section] ?? null,
  });
  const levels = r.growth?.levels ?? [];
  const worstGrowth = r.growth ? Math.min(...Object.values(r.growth.writeBackVsEmpty)) : undefined;
  const trips = r.roundTrips;
  const noPersist = r.http?.targets.triageNoPersist;
  return [
    goal(
      'noPersistVsExpressEcho',
      'http',
      '$triage?persist=false ÷ express echo',
      '≥ 0.6',
      'higher',
      r.http?.ratios.triageNoPersistVsExpressEcho,
      r.http && r.http.ratios.triageNoPersistVsExpressEcho >= 0.6
    ),
    goal('noPersistP99Ms', 'http', '$triage?persist=false p99 ms, 10 connections', '≤ 10', 'lower', noPersist?.p99Ms, noPersist && noPersist.p99Ms <= 10),
    goal(
      'persistVsExpressEcho',
      'http',
      '$triage (persist) ÷ express echo',
      '≥ 0.4',
      'higher',
      r.http?.ratios.triagePersistVsExpressEcho,
      r.http && r.http.ratios.triagePersistVsExpressEcho >= 0.4
    ),
    goal(
      'scoringPerCpuSecond',
      'scoring',
      'responses scored per CPU second (one core)',
      '≥ 50000',
      'higher',
      r.scoring?.ours.perCpuSecond,
      r.scoring && r.scoring.ours.perCpuSecond >= 50_000
    ),
    goal(
      'writeBackVsEmpty',
      'growth',
      `write-back rate at ${levels.map((l) => l.storedTriages).join('/')} stored ÷ empty`,
      '≥ 0.8 (flat)',
      'higher',
      r.growth ? Object.values(r.growth.writeBackVsEmpty).join(' / ') : undefined,
      worstGrowth === undefined ? undefined : worstGrowth >= 0.8
    ),
    goal(
      'coldStartMedianMs',
      'coldStart',
      'cold start to /readyz (median, ms)',
      '≤ 1500',
      'lower',
      r.coldStart?.medianMs,
      r.coldStart && r.coldStart.medianMs <= 1500
    ),
    goal(
      'bulkWallSeconds',
      'bulk',
      `bulk: ${r.bulk?.responses ?? 100_000} responses, wall seconds`,
      '≤ 10',
      'lower',
      r.bulk?.wallSeconds,
      r.bulk && r.bulk.wallSeconds <= 10
    ),
    goal(
      'bulkPeakRssMb',
      'bulk',
      `bulk: ${r.bulk?.responses ?? 100_000} responses, peak RSS MB`,
      '≤ 300',
      'lower',
      r.bulk?.peakRssMb,
      r.bulk && r.bulk.peakRssMb <= 300
    ),
    goal('roundTripsNew', 'roundTrips', 'round trips: $triage, new response', 'exactly 1', 'lower', trips?.newResponse.requests, trips?.newResponse.met),
    goal(
      'roundTripsSameAgain',
      'roundTrips',
      'round trips: $triage, same response again',
      '≤ 1',
      'lower',
      trips?.sameResponseAgain.requests,
      trips?.sameResponseAgain.met
    ),
    goal('roundTripsStored', 'roundTrips', 'round trips: {id}/$triage', 'a read, then 1', 'lower', trips?.storedResponse.requests, trips?.storedResponse.met),
    goal(
      'coldStartFullMs',
      'growth',
      `cold start to /readyz with ${r.growth?.coldStartFull.storedTriages ?? '-'} stored (median, ms)`,
      '≤ 1500',
      'lower',
      r.growth?.coldStartFull.medianMs,
      r.growth && r.growth.coldStartFull.medianMs <= 1500
    ),
    goal(
      'rssAtLargestLevelMb',
      'growth',
      `RSS after ${levels[levels.length - 1]?.storedTriages ?? '-'} stored triages (MB)`,
      '≤ 300',
      'lower',
      levels[levels.length - 1]?.rssMb,
      levels.length > 0 ? (levels[levels.length - 1]?.rssMb ?? Infinity) <= 300 : undefined
    ),
    goal(
      'roundTripsWebhook',
      'roundTrips',
      'round trips: webhook ping',
      'a read or search, then 1',
      'lower',
      trips ? ('requests' in trips.webhookPing ? trips.webhookPing.requests : 'not built yet') : undefined,
      trips && 'requests' in trips.webhookPing ? trips.webhookPing.met : undefined
    ),
  ];
}

function printTable(log: (line: string) => void, ratios: Record<string, number | null>, goals: readonly Goal[], http: HttpSection | undefined): void {
  if (http) {
    log('\ntarget                                req/s   p50 ms   p99 ms   server CPU ms/req');
    for (const [name, t] of Object.entries(http.targets)) {
      log(
        `${name.padEnd(34)} ${String(t.perSecond).padStart(8)} ${String(t.p50Ms).padStart(8)} ${String(t.p99Ms).padStart(8)}   ${String(t.serverCpuMsPerRequest).padStart(8)}`
      );
    }
  }
  log('\nratio                                 value');
  for (const [name, value] of Object.entries(ratios)) {
    log(`${name.padEnd(36)} ${value === null ? '-' : String(value)}`);
  }
  log('\ngoal                                                   target              measured          met   load average (start → end of its section)');
  for (const g of goals) {
    const load = g.loadAverage ? `${g.loadAverage[0]} → ${g.loadAverage[1]}` : '-';
    log(`${g.name.padEnd(54)} ${g.goal.padEnd(19)} ${String(g.value ?? '-').padEnd(17)} ${(g.met === null ? '-' : g.met ? 'yes' : 'NO').padEnd(5)} ${load}`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  }
);

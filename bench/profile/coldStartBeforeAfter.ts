import { existsSync, renameSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { TYPE_SCHEMA_SNAPSHOT_FILE } from '../../src/fhir/fhirDefinitions';
import { COMPILED_VALIDATORS_FILE } from '../../src/fhir/structure/compiledValidators';
import { DIST, serviceEnv, startServer } from '../support/childProcesses';
import { median } from '../support/loadGenerator';

/**
 * `node dist/bench/profile/coldStartBeforeAfter.js [pairs]`: cold start (spawn to the first
 * 200 from /readyz) of the service as built, and of the same build with its two build-time
 * start-up artifacts set aside (the type-registry snapshot and the compiled structure
 * validators: the service then indexes the StructureDefinitions and compiles the check at
 * start-up, as before issue 17), in alternating runs, so a busy machine's drift lands on both.
 * The artifacts are put back whatever happens.
 */
const ARTIFACTS = [TYPE_SCHEMA_SNAPSHOT_FILE, COMPILED_VALIDATORS_FILE];

async function startOnce(): Promise<{ ms: number; phases: Record<string, number> | undefined }> {
  const server = await startServer({
    name: 'service (cold start)',
    script: join(DIST, 'src/server.js'),
    env: serviceEnv({ DATA_DIR: ':memory:', LOG_LEVEL: 'info' }),
    keepStdout: true,
  });
  let phases: Record<string, number> | undefined;
  for (const line of server.stdoutLines()) {
    try {
      const entry = JSON.parse(line) as { msg?: string; phasesMs?: Record<string, number> };
      phases = entry.msg === 'start-up phases' ? entry.phasesMs : phases;
    } catch {
      // Not a log line.
    }
  }
  await server.stop();
  return { ms: Math.round(server.readyMs), phases };
}

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 5);
  for (const file of ARTIFACTS) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run npm run build first`);
    }
  }
  const load = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const loadAtStart = load();
  const built: number[] = [];
  const before: number[] = [];
  const phases: Record<'built' | 'before', Array<Record<string, number>>> = { built: [], before: [] };
  for (let i = 0; i < pairs; i++) {
    const asBuilt = await startOnce();
    built.push(asBuilt.ms);
    phases.built.push(asBuilt.phases ?? {});
    for (const file of ARTIFACTS) {
      renameSync(file, `${file}.aside`);
    }
    try {
      const without = await startOnce();
      before.push(without.ms);
      phases.before.push(without.phases ?? {});
    } finally {
      for (const file of ARTIFACTS) {
        renameSync(`${file}.aside`, file);
      }
    }
  }
  console.log(`as built:              ${built.join(', ')} ms, median ${median(built)} ms; median phases ${JSON.stringify(medianPhases(phases.built))}`);
  console.log(`without the artifacts: ${before.join(', ')} ms, median ${median(before)} ms; median phases ${JSON.stringify(medianPhases(phases.before))}`);
  console.log(`ratio of medians ${(median(built) / median(before)).toFixed(2)}; load average ${loadAtStart} → ${load()}`);
}

/** Each phase of composeService's `start-up phases` line, median over the runs. */
function medianPhases(runs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((name) => [name, median(runs.map((r) => r[name] ?? 0))]));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCompiledValidators } from '../src/fhir/structure/compiledValidators';
import { structureCheckWith } from '../src/fhir/structure/structureCheck';
import type { StructureCheck } from '../src/fhir/structure';
import { compileResourceValidators } from '../src/fhir/structure/validators';
import { findContentRoot } from '../src/contentRoot';
import { median } from './support/loadGenerator';

export interface StructureCheckRate {
  /** Checks per CPU second, median over rounds: the validators `npm run build` compiled. */
  readonly compiledPerCpuSecond: number;
  /** The same check with validators compiled in-process at start-up (the path before issue 17). */
  readonly runtimePerCpuSecond: number;
  readonly compiledVsRuntime: number;
  readonly rounds: number;
}

const TYPES = ['QuestionnaireResponse'];

/**
 * The structure check per CPU second over the rule fixtures, with the build-time validators and
 * with ones compiled at run time, in alternating rounds in one process (so drift lands on both).
 */
export function measureStructureCheckRate(options: { seconds: number; rounds: number }): StructureCheckRate {
  const compiled = loadCompiledValidators(TYPES);
  if (!compiled) {
    throw new Error('no build-time structure validators in dist/: run npm run build');
  }
  const checks: Record<'compiled' | 'runtime', StructureCheck> = {
    compiled: structureCheckWith(TYPES, compiled),
    runtime: structureCheckWith(TYPES, compileResourceValidators(TYPES)),
  };
  const dir = join(findContentRoot(__dirname), 'test/fixtures/rules');
  const fixtures = readdirSync(dir)
    .filter((n) => n.endsWith('.qr.json'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as unknown);
  const rate = (check: StructureCheck, seconds: number): number => {
    let count = 0;
    const before = process.cpuUsage();
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      for (let i = 0; i < 100; i++) {
        if (check(fixtures[count++ % fixtures.length]).length > 0) {
          throw new Error('a rule fixture fails the structure check');
        }
      }
    }
    const cpu = process.cpuUsage(before);
    return count / ((cpu.user + cpu.system) / 1e6);
  };
  rate(checks.compiled, 0.3);
  rate(checks.runtime, 0.3);
  const results = { compiled: [] as number[], runtime: [] as number[] };
  for (let round = 0; round < options.rounds; round++) {
    results.compiled.push(rate(checks.compiled, options.seconds / (2 * options.rounds)));
    results.runtime.push(rate(checks.runtime, options.seconds / (2 * options.rounds)));
  }
  const compiledPerCpuSecond = Math.round(median(results.compiled));
  const runtimePerCpuSecond = Math.round(median(results.runtime));
  return {
    compiledPerCpuSecond,
    runtimePerCpuSecond,
    compiledVsRuntime: Math.round((compiledPerCpuSecond / runtimePerCpuSecond) * 100) / 100,
    rounds: options.rounds,
  };
}

if (require.main === module) {
  console.log(JSON.stringify(measureStructureCheckRate({ seconds: Number(process.argv[2] ?? 3), rounds: 3 })));
}

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, serviceEnv, startServer } from '../support/childProcesses';
import { fixedBodyFactory, loadRuleFixtures, variantBodyFactory } from '../support/fixtures';
import { drive } from '../support/loadGenerator';
import { topFrames } from './topFrames';

const TARGETS = {
  noPersist: { path: '/fhir/QuestionnaireResponse/$triage?persist=false', varied: true, disk: false },
  persist: { path: '/fhir/QuestionnaireResponse/$triage', varied: true, disk: true },
  redelivery: { path: '/fhir/QuestionnaireResponse/$triage', varied: false, disk: true },
} as const;

/**
 * `node dist/bench/profile/profileService.js <noPersist|persist|redelivery> [seconds] [keepDir]`:
 * the service under `node --cpu-prof`, driven like the HTTP benchmark drives it, then its top
 * frames. The .cpuprofile is kept in keepDir (open it in Chrome DevTools) when given.
 */
async function main(): Promise<void> {
  const [name, seconds, keepDir] = process.argv.slice(2);
  const target = TARGETS[(name ?? '') as keyof typeof TARGETS];
  if (!target) {
    throw new Error(`usage: profileService.js <${Object.keys(TARGETS).join('|')}> [seconds] [keepDir]`);
  }
  const profileDir = keepDir ?? mkdtempSync(join(tmpdir(), 'hip-triage-profile-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'hip-triage-profile-data-'));
  const fixtures = loadRuleFixtures();
  const server = await startServer({
    name: `service (${name ?? ''}, profiled)`,
    script: join(DIST, 'src/server.js'),
    env: serviceEnv({ DATA_DIR: target.disk ? dataDir : ':memory:' }),
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  });
  try {
    const result = await drive(
      { name: name ?? '', url: server.url, path: target.path, body: target.varied ? variantBodyFactory(fixtures) : fixedBodyFactory(fixtures) },
      { seconds: Number(seconds ?? 10), connections: 10, counter: { next: 0 } }
    );
    console.log(`${Math.round(result.perSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (non-2xx ${result.non2xx})`);
  } finally {
    // SIGTERM: the service exits through its graceful shutdown, and Node writes the profile.
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    throw new Error('no .cpuprofile written');
  }
  const { self, total, samples } = topFrames(join(profileDir, file), 25);
  console.log(`${samples} samples (${join(profileDir, file)})\n\nself%  total%  by self time`);
  for (const f of self) {
    console.log(`${f.selfPercent.toFixed(1).padStart(5)}  ${f.totalPercent.toFixed(1).padStart(6)}  ${f.frame}`);
  }
  console.log('\nself%  total%  by total time');
  for (const f of total) {
    console.log(`${f.selfPercent.toFixed(1).padStart(5)}  ${f.totalPercent.toFixed(1).padStart(6)}  ${f.frame}`);
  }
  if (!keepDir) {
    rmSync(profileDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

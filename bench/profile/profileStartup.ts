import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, serviceEnv, startServer } from '../support/childProcesses';
import { topFrames } from './topFrames';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/**
 * `node dist/bench/profile/profileStartup.js [keepDir]`: the service (DATA_DIR=:memory:)
 * under `node --cpu-prof` from spawn to its first 200 from /readyz, then stopped; prints the
 * top frames and where the samples fall by package (self time), which is what start-up
 * work is best read by: most of it is loading and indexing, spread over many small frames.
 */
async function main(): Promise<void> {
  const [keepDir] = process.argv.slice(2);
  const profileDir = keepDir ?? mkdtempSync(join(tmpdir(), 'hip-triage-profile-startup-'));
  const server = await startServer({
    name: 'service (start-up, profiled)',
    script: join(DIST, 'src/server.js'),
    env: serviceEnv({ DATA_DIR: ':memory:' }),
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  });
  console.log(`ready in ${Math.round(server.readyMs)} ms (profiled)`);
  await server.stop();
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    throw new Error('no .cpuprofile written');
  }
  const path = join(profileDir, file);
  const { self, total, samples } = topFrames(path, 25);
  console.log(`${samples} samples (${path})\n\nshare  self time by package`);
  for (const [pkg, share] of byPackage(path)) {
    console.log(`${share.toFixed(1).padStart(5)}  ${pkg}`);
  }
  console.log('\nself%  total%  by self time');
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

/** Self samples per npm package (or `src/<dir>`, or `node:` internals, or V8's own entries), as percentages. */
export function byPackage(path: string): Array<[string, number]> {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples?: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  const samples = profile.samples ?? [];
  for (const id of samples) {
    const node = byId.get(id);
    if (!node) {
      continue;
    }
    const key = packageOf(node.callFrame);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([key, n]) => [key, (n / Math.max(samples.length, 1)) * 100]);
}

function packageOf(frame: { functionName: string; url: string }): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') {
    return frame.functionName || '(unknown)';
  }
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) {
    const parts = url.slice(nodeModules + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  const src = url.indexOf('/dist/src/');
  if (src >= 0) {
    const rest = url.slice(src + '/dist/'.length).split('/');
    return rest.length > 2 ? rest.slice(0, 3).join('/').replace(/\.js$/, '') : rest.join('/');
  }
  return url.startsWith('node:') ? 'node: internals' : url;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface Frame {
  readonly frame: string;
  /** Share of all samples spent in the frame itself. */
  readonly selfPercent: number;
  /** Share of samples with the frame anywhere on the stack (recursion counted once). */
  readonly totalPercent: number;
}

/**
 * The top frames of a `node --cpu-prof` profile, by self time and by total (inclusive) time,
 * so a report can name what bounds a figure without opening DevTools.
 */
export function topFrames(path: string, count = 15): { self: Frame[]; total: Frame[]; samples: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }
  const name = (node: ProfileNode): string => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url ? relative(process.cwd(), url.replace(/^file:\/\//, '')) : '';
    return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const samples = profile.samples ?? [];
  for (const id of samples) {
    const leaf = byId.get(id);
    if (!leaf) {
      continue;
    }
    self.set(name(leaf), (self.get(name(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const n = name(node);
      if (!seen.has(n)) {
        seen.add(n);
        total.set(n, (total.get(n) ?? 0) + 1);
      }
    }
  }
  const rank = (map: Map<string, number>): Frame[] =>
    [...map.entries()]
      .filter(([frame]) => !['(root)', '(program)'].includes(frame))
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([frame]) => ({ frame, selfPercent: pct(self.get(frame) ?? 0), totalPercent: pct(total.get(frame) ?? 0) }));
  const pct = (hits: number): number => Math.round((hits / Math.max(samples.length, 1)) * 1000) / 10;
  return { self: rank(self), total: rank(total), samples: samples.length };
}

if (require.main === module) {
  const [path, count] = process.argv.slice(2);
  if (!path) {
    throw new Error('usage: topFrames.js <file.cpuprofile> [count]');
  }
  const { self, total, samples } = topFrames(path, Number(count ?? 15));
  console.log(`${samples} samples\n\nself%  total%  frame (by self time)`);
  for (const f of self) {
    console.log(`${f.selfPercent.toFixed(1).padStart(5)}  ${f.totalPercent.toFixed(1).padStart(6)}  ${f.frame}`);
  }
  console.log('\nself%  total%  frame (by total time)');
  for (const f of total) {
    console.log(`${f.selfPercent.toFixed(1).padStart(5)}  ${f.totalPercent.toFixed(1).padStart(6)}  ${f.frame}`);
  }
}

import { readFileSync } from 'node:fs';

/**
 * `npm run bench -- --compare OLD.json` (after a run) or `node dist/bench/compare.js OLD.json
 * NEW.json`: each goal row and ratio of two results files side by side, with the change and
 * whether it went the goal's way, and each run's load average beside it, so a regression (or
 * a noisy machine) shows in one command.
 */

export interface GoalRow {
  /** Stable across runs; older files (schema 1) have none and are matched by name. */
  readonly id?: string;
  readonly name: string;
  readonly goal: string;
  readonly value: number | string | null;
  readonly met: boolean | null;
  /** Which way is better for this goal's value. */
  readonly better?: 'higher' | 'lower' | 'exact';
  /** 1-minute load average when its section started and ended. */
  readonly loadAverage?: readonly [number, number] | null;
}

export interface ResultsFile {
  readonly date: string;
  readonly command?: string;
  readonly quick?: boolean;
  readonly machine?: { readonly loadAverageAtStart?: readonly number[]; readonly loadAverageAtEnd?: readonly number[] };
  readonly ratios?: Record<string, number | null>;
  readonly goals?: readonly GoalRow[];
}

export function readResults(path: string): ResultsFile {
  return JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
}

/** Lines comparing `after` with `before`; rows missing from either side are shown as such. */
export function compareResults(before: ResultsFile, after: ResultsFile, beforeName: string, afterName: string): string[] {
  const lines: string[] = [];
  const load = (r: ResultsFile): string => `load ${r.machine?.loadAverageAtStart?.[0] ?? '?'} → ${r.machine?.loadAverageAtEnd?.[0] ?? '?'}`;
  lines.push(`compared: ${beforeName} (${before.date}, ${load(before)}${before.quick ? ', quick' : ''})`);
  lines.push(`    with: ${afterName} (${after.date}, ${load(after)}${after.quick ? ', quick' : ''})`);
  if (Boolean(before.quick) !== Boolean(after.quick)) {
    lines.push('  (one run is --quick: its sizes differ, so its figures are not comparable)');
  }
  lines.push('', `${'goal'.padEnd(54)} ${'before'.padStart(12)} ${'after'.padStart(12)} ${'change'.padStart(9)}  way   load before/after`);
  const key = (g: GoalRow): string => g.id ?? g.name;
  const beforeGoals = new Map((before.goals ?? []).map((g) => [key(g), g]));
  const byName = new Map((before.goals ?? []).map((g) => [g.name, g]));
  for (const g of after.goals ?? []) {
    const old = beforeGoals.get(key(g)) ?? byName.get(g.name);
    const change = changeOf(old?.value, g.value);
    const way = change === undefined || change.delta === 0 ? '' : directionOf(g.better, change.delta);
    const loads = `${g.loadAverage?.[0] === undefined || old?.loadAverage?.[0] === undefined ? '' : `${old.loadAverage[0]} / ${g.loadAverage[0]}`}`;
    lines.push(
      `${g.name.padEnd(54)} ${show(old?.value).padStart(12)} ${show(g.value).padStart(12)} ${(change?.text ?? '').padStart(9)}  ${way.padEnd(5)} ${loads}`
    );
  }
  const ratios = new Set([...Object.keys(before.ratios ?? {}), ...Object.keys(after.ratios ?? {})]);
  lines.push('', `${'ratio'.padEnd(54)} ${'before'.padStart(12)} ${'after'.padStart(12)} ${'change'.padStart(9)}`);
  for (const name of ratios) {
    const a = before.ratios?.[name] ?? null;
    const b = after.ratios?.[name] ?? null;
    lines.push(`${name.padEnd(54)} ${show(a).padStart(12)} ${show(b).padStart(12)} ${(changeOf(a, b)?.text ?? '').padStart(9)}`);
  }
  return lines;
}

function show(value: number | string | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

function changeOf(before: unknown, after: unknown): { delta: number; text: string } | undefined {
  if (typeof before !== 'number' || typeof after !== 'number' || !Number.isFinite(before) || !Number.isFinite(after)) {
    return undefined;
  }
  const delta = after - before;
  const text =
    before === 0 ? (delta === 0 ? '0' : `${delta > 0 ? '+' : ''}${delta}`) : `${delta >= 0 ? '+' : ''}${((delta / Math.abs(before)) * 100).toFixed(1)}%`;
  return { delta, text };
}

function directionOf(better: GoalRow['better'], delta: number): string {
  if (better === 'higher') {
    return delta > 0 ? 'better' : 'worse';
  }
  if (better === 'lower') {
    return delta < 0 ? 'better' : 'worse';
  }
  return 'moved';
}

if (require.main === module) {
  const [beforePath, afterPath] = process.argv.slice(2);
  if (!beforePath || !afterPath) {
    throw new Error('usage: compare.js <before.json> <after.json>');
  }
  for (const line of compareResults(readResults(beforePath), readResults(afterPath), beforePath, afterPath)) {
    console.log(line);
  }
}

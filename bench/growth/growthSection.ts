import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOURNAL_FILE } from '../../src/fhir/embedded/journal';
import { DIST, runJsonChild } from '../support/childProcesses';
import type { GrowthLevel } from './storeGrowth';

export interface GrowthOptions {
  /** Stored triages before each write-back measure, ascending; the largest is also the replay measure. */
  readonly levels: readonly number[];
  readonly seconds: number;
  readonly concurrency: number;
  /** Heap for the levels above `bigHeapFrom`: the default (about 4.5 GB here) cannot hold them. */
  readonly bigHeapMb: number;
  readonly bigHeapFrom: number;
}

export interface GrowthSection {
  readonly options: GrowthOptions;
  readonly journalWrite: { readonly records: number; readonly bytes: number; readonly ms: number };
  readonly levels: readonly (GrowthLevel & { readonly nodeArgs: readonly string[] })[];
  /** Each level's write-back rate ÷ the empty store's (goal ≥ 0.8). */
  readonly writeBackVsEmpty: Record<string, number>;
  /** The same from CPU per write-back (empty ÷ level): growth cost without the machine's noise. */
  readonly writeBackCpuVsEmpty: Record<string, number>;
  readonly rssMbPer10kTriages: number;
  readonly journalReplayMsPer100kRecords: number;
}

/**
 * Growth: write-back rate and memory with 0, 10k and 100k triages already stored, and journal
 * replay time (cold start is a section of its own: bench/coldStart.ts). The stored triages
 * come from a synthetic journal (real triage records with fresh ids; see syntheticJournal.ts), each level is measured in a fresh process
 * opening a DATA_DIR holding the first N records of it, so the open is the replay measure too.
 */
export async function measureGrowth(options: GrowthOptions, log: (line: string) => void): Promise<GrowthSection> {
  const work = mkdtempSync(join(tmpdir(), 'hip-triage-bench-growth-'));
  try {
    const largest = Math.max(...options.levels);
    const fullDir = join(work, `level-${largest}`);
    const journalWrite = { records: largest, ...(await writeJournal(fullDir, largest)) };
    log(`  synthetic journal: ${largest} records, ${Math.round(journalWrite.bytes / 1e6)} MB in ${journalWrite.ms} ms`);
    const levels: (GrowthLevel & { nodeArgs: readonly string[] })[] = [];
    for (const level of options.levels) {
      const dir = level === largest ? fullDir : join(work, `level-${level}`);
      if (level !== largest) {
        copyJournalPrefix(join(fullDir, JOURNAL_FILE), dir, level);
      }
      const nodeArgs = ['--expose-gc', ...(level >= options.bigHeapFrom ? [`--max-old-space-size=${options.bigHeapMb}`] : [])];
      const result = await runJsonChild<GrowthLevel>(join(DIST, 'bench/growth/storeGrowth.js'), [dir, String(options.seconds), String(options.concurrency)], nodeArgs);
      if (result.journalRecords !== level) {
        throw new Error(`the store replayed ${result.journalRecords} of the ${level} synthetic records`);
      }
      levels.push({ ...result, nodeArgs });
      log(
        `  ${level} triages stored: open ${result.openMs} ms, RSS ${result.rssMb} MB (heap ${result.heapUsedMb} of ${result.heapLimitMb} MB), ` +
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
    return {
      options,
      journalWrite,
      levels,
      writeBackVsEmpty,
      writeBackCpuVsEmpty,
      rssMbPer10kTriages: empty && top && span > 0 ? round2(((top.rssMb - empty.rssMb) / span) * 10_000) : Number.NaN,
      journalReplayMsPer100kRecords: top && top.journalRecords > 0 ? Math.round((top.openMs * 100_000) / top.journalRecords) : Number.NaN,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function writeJournal(dir: string, records: number): Promise<{ bytes: number; ms: number }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return runJsonChild<{ bytes: number; ms: number }>(join(DIST, 'bench/growth/syntheticJournal.js'), [dir, String(records)]);
}

/** A DATA_DIR whose journal is the first `records` lines of `source`. */
function copyJournalPrefix(source: string, dir: string, records: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const from = openSync(source, 'r');
  const to = openSync(join(dir, JOURNAL_FILE), 'w', 0o600);
  try {
    const chunk = Buffer.alloc(1 << 20);
    let lines = 0;
    while (lines < records) {
      const n = readSync(from, chunk, 0, chunk.length, null);
      if (n === 0) {
        break;
      }
      let end = n;
      for (let i = 0; i < n; i++) {
        if (chunk[i] === 0x0a && ++lines === records) {
          end = i + 1;
          break;
        }
      }
      writeSync(to, chunk, 0, end);
    }
  } finally {
    closeSync(from);
    closeSync(to);
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

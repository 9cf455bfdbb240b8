import { getHeapStatistics } from 'node:v8';
import { openTriageBench } from './triageBench';

export interface GrowthLevel {
  /** Triage write-backs in the database before opening (0, 10k, 100k). */
  readonly storedTriages: number;
  readonly storedResources: number;
  readonly databaseBytes: number;
  /** `openEmbeddedStore` (open the database, check the seed) with the FHIR definitions already loaded. */
  readonly openMs: number;
  /** After two full GCs, before any write: what the stored results cost, not garbage. */
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly heapLimitMb: number;
  /** Write-backs per second through the `$triage` runner (score, build, one SQLite transaction and its fsync), HTTP excluded. */
  readonly writeBackPerSecond: number;
  readonly writeBackP99Ms: number;
  /** This process's CPU per write-back: the figure the shared machine disturbs least. */
  readonly cpuMsPerWriteBack: number;
}

/** Indices far from any preloaded one, so a measured write-back is never a redelivery. */
const MEASURE_INDEX_BASE = 50_000_000;

/**
 * One level of the growth measure, in a process of its own: open the embedded store on a
 * DATA_DIR whose database already holds the results (see syntheticStore.ts), take the RSS
 * after GC, then measure the write-back rate with `concurrency` triages in flight.
 */
export async function measureGrowthLevel(options: { dataDir: string; seconds: number; concurrency: number; storedTriages: number }): Promise<GrowthLevel> {
  const bench = await openTriageBench(options.dataDir);
  try {
    const before = bench.store.stats();
    const memory = settledMemory();
    // Warm-up: the first write-backs compile the validators and rule code.
    for (let i = 0; i < 50; i++) {
      await bench.writeBack(MEASURE_INDEX_BASE - 1 - i);
    }
    const latencies: number[] = [];
    let next = MEASURE_INDEX_BASE;
    const started = performance.now();
    const until = started + options.seconds * 1000;
    const cpuBefore = process.cpuUsage();
    const lane = async (): Promise<void> => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await bench.writeBack(next++);
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, lane));
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      storedTriages: options.storedTriages,
      storedResources: before.resources,
      databaseBytes: before.databaseBytes,
      openMs: Math.round(bench.openMs),
      rssMb: memory.rssMb,
      heapUsedMb: memory.heapUsedMb,
      heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1e6),
      writeBackPerSecond: Math.round(latencies.length / seconds),
      writeBackP99Ms: Math.round((latencies[Math.floor(latencies.length * 0.99)] ?? 0) * 10) / 10,
      cpuMsPerWriteBack: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(latencies.length, 1)) * 100) / 100,
    };
  } finally {
    await bench.close();
  }
}

function settledMemory(): { rssMb: number; heapUsedMb: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { rssMb: Math.round(usage.rss / 1e6), heapUsedMb: Math.round(usage.heapUsed / 1e6) };
}

if (require.main === module) {
  const [dataDir, seconds, concurrency, storedTriages] = process.argv.slice(2);
  if (!dataDir) {
    throw new Error('usage: storeGrowth.js <dataDir> [seconds] [concurrency] [storedTriages]');
  }
  measureGrowthLevel({ dataDir, seconds: Number(seconds ?? 3), concurrency: Number(concurrency ?? 10), storedTriages: Number(storedTriages ?? 0) }).then(
    (result) => console.log(JSON.stringify(result)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
}

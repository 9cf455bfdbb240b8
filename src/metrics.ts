import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EmbeddedStore, EmbeddedStoreStats } from './fhir/embedded/embeddedStore';
import type { FhirStore } from './fhir/fhirStore';
import type { TriageObserver } from './service/createTriageHandler';

export interface RequestLabels {
  readonly method: string;
  /** The route pattern (`/fhir/QuestionnaireResponse/:id/$triage`), never the URL: no ids, no query. */
  readonly route: string;
  readonly status: number;
}

/** The Prometheus metrics of one service instance. */
export interface ServiceMetrics {
  observeRequest(labels: RequestLabels, seconds: number): void;
  /** Wired into the triage service, which knows nothing of Prometheus. */
  readonly triageObserver: TriageObserver;
  /** Where the waiting-responses gauge reads from: intake is built after the metrics. */
  watchIntakeBacklog(read: () => number): void;
  /** The text exposition of this instance's metrics and the process's. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Embedded mode: the store's size, read at each scrape. */
  readonly storeStats?: (() => EmbeddedStoreStats) | undefined;
}

const PREFIX = 'hip_triage_';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | undefined;

/**
 * Default metrics describe the process, not an app, and each registration adds GC and
 * event-loop observers that are never removed: registered once per process, however
 * many apps a test run builds.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A registry of its own per instance (not prom-client's global one), so tests can build
 * many apps and read each one's counts. Every label value is from a bounded set: a
 * client cannot grow the series by sending odd URLs or methods.
 */
export function createServiceMetrics(options: MetricsOptions = {}): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const latency = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from receiving a request to finishing its answer, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const triages = new Counter({
    name: `${PREFIX}triages_total`,
    help: 'Responses scored, by disposition and whether the results were stored.',
    labelNames: ['disposition', 'persisted'] as const,
    registers,
  });
  const writeBackFailures = new Counter({
    name: `${PREFIX}write_back_failures_total`,
    help: 'Write-backs that failed: unavailable (server unreachable, 503) or refused (server said no, 502).',
    labelNames: ['kind'] as const,
    registers,
  });
  // Zero from the start, so a rate() over a fresh process has a series to work on.
  writeBackFailures.labels('unavailable').inc(0);
  writeBackFailures.labels('refused').inc(0);
  let intakeBacklog: () => number = () => 0;
  new Gauge({
    name: `${PREFIX}intake_waiting_responses`,
    help: 'Stored responses intake has not triaged yet: queued, running, or waiting for a retry. Rising without falling: intake is stuck or flooded.',
    registers,
    collect() {
      this.set(intakeBacklog());
    },
  });
  const storeStats = options.storeStats;
  if (storeStats) {
    new Gauge({
      name: `${PREFIX}store_resources`,
      help: 'Embedded store: live resources (seeded content included).',
      registers,
      collect() {
        this.set(storeStats().resources);
      },
    });
    new Gauge({
      name: `${PREFIX}store_database_bytes`,
      help: 'Embedded store: size of the SQLite database in bytes.',
      registers,
      collect() {
        this.set(storeStats().databaseBytes);
      },
    });
  }
  const exposed = Registry.merge([processMetrics(), registry]);
  return {
    observeRequest(labels, seconds) {
      const method = METHODS.has(labels.method) ? labels.method : 'other';
      requests.inc({ method, route: labels.route, status: String(labels.status) });
      latency.observe({ method, route: labels.route }, seconds);
    },
    triageObserver: {
      onTriage: (event) => triages.inc({ disposition: event.disposition, persisted: String(event.persisted) }),
      onWriteBackFailure: (kind) => writeBackFailures.inc({ kind }),
    },
    watchIntakeBacklog(read) {
      intakeBacklog = read;
    },
    scrape: () => exposed.metrics(),
    contentType: exposed.contentType,
  };
}

/** The embedded store's size reader, or undefined for a store that has none (remote). */
export function embeddedStoreStats(store: FhirStore): (() => EmbeddedStoreStats) | undefined {
  const stats = (store as Partial<EmbeddedStore>).stats;
  return typeof stats === 'function' ? () => stats.call(store) : undefined;
}

import type { WithId } from '@medplum/core';
import { allOk, badRequest, deepClone, normalizeOperationOutcome, OperationOutcomeError, parseSearchRequest, stringify } from '@medplum/core';
import type { FhirRequest } from '@medplum/fhir-router';
import { FhirRouter } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource, ResourceType } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FhirStore } from '../fhirStore';
import type { DataDirLock } from './dataDirLock';
import { acquireDataDirLock } from './dataDirLock';
import { indexFhirDefinitions, indexShippedSearchParameters } from '../fhirDefinitions';
import { Journal } from './journal';
import { JournaledRepository } from './journaledRepository';
import { Mutex } from './mutex';
import { transientError } from './outcomes';
import { runSerialisedTransaction } from './serialisedTransaction';
import { changeKey } from './storedChange';

export const IN_MEMORY = ':memory:';

/** pino-compatible. The store logs ids, counts, sizes and paths only, never resource content. */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CompactionPolicy {
  /** Compact once the journal holds more than `ratio` × live resources… */
  readonly ratio: number;
  /** …and more than this many resource versions and deletes. */
  readonly minChanges: number;
}

export interface EmbeddedStoreOptions {
  /** Directory for the journal and its LOCK, or `:memory:` for neither. */
  readonly dataDir: string;
  readonly logger: StoreLogger;
  /** The service's own content, loaded with its own ids on every start and never journaled. */
  readonly seed?: readonly Resource[];
  readonly compaction?: CompactionPolicy;
}

export interface EmbeddedStoreStats {
  readonly resources: number;
  readonly journalRecords: number;
}

/** One committed write, as a listener sees it: identity only (read the resource through the port). */
export interface CommittedChange {
  readonly op: 'put' | 'delete';
  readonly resourceType: string;
  readonly id: string;
}

/** Told of each request's writes once they are durable, outside the store's lock; must not throw or block. */
export type CommitListener = (changes: readonly CommittedChange[]) => void;

export interface EmbeddedStore extends FhirStore {
  /** The full FHIR REST API (read, vread, search, create, update, delete, patch, history, batch, transaction). */
  handleRest(request: FhirRequest): Promise<[OperationOutcome, Resource?]>;
  stats(): EmbeddedStoreStats;
  /** Listens to every committed request (REST, batch, transaction, the port); returns the unsubscribe. */
  onCommitted(listener: CommitListener): () => void;
}

const DEFAULT_COMPACTION: CompactionPolicy = { ratio: 2, minChanges: 10_000 };

/**
 * Opens the embedded FHIR store: takes the DATA_DIR lock, replays the journal, loads the
 * seed content. Fails (releasing the lock) if the directory is in use, the journal is
 * unreadable, or a seed resource does not validate.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const started = performance.now();
  const { logger } = options;
  indexFhirDefinitions();
  // Seeded SearchParameters (Task `due`) must be searchable like the standard ones.
  indexShippedSearchParameters(options.seed ?? []);
  const repo = new JournaledRepository();
  let lock: DataDirLock | undefined;
  let journal: Journal | undefined;
  try {
    if (options.dataDir !== IN_MEMORY) {
      const dir = resolve(options.dataDir);
      // The journal holds health records: readable by the service's user only.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      lock = acquireDataDirLock(dir);
      journal = Journal.open(dir, logger, (changes) => {
        for (const change of changes) {
          repo.restore(change);
        }
      });
    }
    const seeded = loadSeed(repo, options.seed ?? []);
    const store = new JournaledStore(repo, journal, lock, seeded, logger, options.compaction ?? DEFAULT_COMPACTION);
    logger.info(
      {
        dataDir: options.dataDir,
        resources: repo.resourceCount,
        seeded: seeded.size,
        journalRecords: journal?.records ?? 0,
        replayMs: Math.round(journal?.replay.ms ?? 0),
        openMs: Math.round(performance.now() - started),
      },
      'embedded FHIR store open'
    );
    store.compactIfDue();
    return store;
  } catch (err) {
    await journal?.close().catch(() => undefined);
    lock?.release();
    throw err;
  }
}

/**
 * Seeds replace older stored copies. Their versionId is a hash of their content, so unchanged
 * content keeps its version (and ETag) across restarts even though it is never journaled;
 * lastUpdated is the file's `meta.lastUpdated` if it has one, else the time of loading.
 */
function loadSeed(repo: JournaledRepository, seed: readonly Resource[]): Set<string> {
  const seeded = new Set<string>();
  const loadedAt = new Date().toISOString();
  for (const resource of seed) {
    if (!resource.id) {
      throw new OperationOutcomeError(badRequest(`A seed ${resource.resourceType} has no id`, `${resource.resourceType}.id`));
    }
    const versionId = createHash('sha256').update(contentOf(resource)).digest('hex').slice(0, 32);
    if (repo.peek(resource.resourceType, resource.id)?.meta?.versionId !== versionId) {
      repo.putSeed(resource, versionId, resource.meta?.lastUpdated ?? loadedAt);
    }
    seeded.add(`${resource.resourceType}/${resource.id}`);
  }
  // Seeds come from files on every start; journaling them would only grow the journal.
  repo.commitChanges();
  return seeded;
}

function contentOf(resource: Resource): string {
  return stringify({ ...resource, meta: { ...resource.meta, versionId: undefined, lastUpdated: undefined } });
}

type RestResponse = [OperationOutcome, Resource?];

/** `POST [base]` with a transaction Bundle (the router reads an empty or `/` path as the base). */
function isTransactionPost(request: FhirRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  const body = request.body as Partial<Bundle> | undefined;
  return request.method === 'POST' && (path === '' || path === '/') && body?.resourceType === 'Bundle' && body.type === 'transaction';
}

class JournaledStore implements EmbeddedStore {
  private readonly router = new FhirRouter();
  private readonly mutex = new Mutex();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private compaction: Promise<void> | undefined;
  private readonly listeners = new Set<CommitListener>();

  constructor(
    private readonly repo: JournaledRepository,
    private readonly journal: Journal | undefined,
    private readonly lock: DataDirLock | undefined,
    /** Seed resources whose current version came from the seed files, left out of snapshots. */
    private readonly seeded: Set<string>,
    private readonly logger: StoreLogger,
    private readonly policy: CompactionPolicy
  ) {}

  async handleRest(request: FhirRequest): Promise<RestResponse> {
    if (isTransactionPost(request)) {
      // Over REST too, a transaction takes the serialised path: the router's own would refuse
      // a triage write-back (more than 8 conditional entries) and a remote-mode client sends exactly that.
      try {
        return [allOk, await this.executeTransaction(request.body as Bundle)];
      } catch (err) {
        return [normalizeOperationOutcome(err)];
      }
    }
    // The router rewrites params/pathname/query on the object it is given; keep the caller's intact.
    const routed: FhirRequest = {
      ...request,
      pathname: '',
      params: {},
      query: { ...request.query },
      config: { ...request.config, transactions: true },
    };
    try {
      return await this.exclusive(async (): Promise<RestResponse> => {
        const [outcome, resource] = await this.router.handleRequest(routed, this.repo);
        return resource ? [outcome, resource] : [outcome];
      });
    } catch (err) {
      return [normalizeOperationOutcome(err)];
    }
  }

  async readResource<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T> {
    return this.exclusive(() => this.repo.readResource<T>(resourceType, id));
  }

  async searchResources<T extends Resource>(resourceType: T['resourceType'], query: Record<string, string>): Promise<T[]> {
    const searchRequest = parseSearchRequest<T>(resourceType, query);
    return this.exclusive(() => this.repo.searchResources<T>(searchRequest));
  }

  async countResources(resourceType: ResourceType, query: Record<string, string>): Promise<number> {
    const searchRequest = { ...parseSearchRequest(resourceType, query), count: 0, offset: 0, sortRules: undefined };
    const bundle = await this.exclusive(() => this.repo.search(searchRequest));
    return bundle.total ?? 0;
  }

  async executeTransaction(bundle: Bundle): Promise<Bundle> {
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw new OperationOutcomeError(badRequest('Expected a Bundle of type transaction', 'Bundle.type'));
    }
    // The batch processor assigns ids into the bundle it is given; the caller's copy stays as sent.
    // A failed transaction throws out of `exclusive`, which rolls every change back.
    const result = await this.exclusive(() => runSerialisedTransaction(this.router, this.repo, deepClone(bundle)));
    return result;
  }

  async checkReady(): Promise<void> {
    this.assertOpen();
    // A journal that failed to write or fsync refuses writes; report that before a caller finds out.
    await this.journal?.durable();
  }

  stats(): EmbeddedStoreStats {
    return { resources: this.repo.resourceCount, journalRecords: this.journal?.records ?? 0 };
  }

  async close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.state = 'closing';
    // Queued requests run first (and then see the store closed); an ongoing compaction finishes.
    await this.mutex.run(async () => {
      this.state = 'closed';
    });
    await this.compaction;
    try {
      await this.journal?.close();
    } finally {
      this.lock?.release();
      this.logger.info({ resources: this.repo.resourceCount, journalRecords: this.journal?.records ?? 0 }, 'embedded FHIR store closed');
    }
  }

  /**
   * Runs one request alone, journals what it changed, and answers only once that record
   * (and, for a read, everything it could have seen) is on disk. The fsync happens after the
   * mutex is released, so requests queued meanwhile share it.
   */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    let committed: readonly CommittedChange[] = [];
    const result = await this.mutex.run(async () => {
      // Requests queued before close() still run; only those arriving after it are refused.
      if (this.state === 'closed') {
        throw transientError('The embedded FHIR store is closed');
      }
      let value: T;
      try {
        value = await work();
      } catch (err) {
        this.repo.discardChanges();
        throw err;
      }
      committed = this.commit();
      return value;
    });
    await this.journal?.durable();
    this.tellListeners(committed);
    this.compactIfDue();
    return result;
  }

  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** After the fsync and outside the mutex: a listener may call the store again without deadlocking. */
  private tellListeners(changes: readonly CommittedChange[]): void {
    if (changes.length === 0) {
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (err) {
        this.logger.error({ error: err instanceof Error ? err.name : 'unknown' }, 'embedded FHIR store: a commit listener failed');
      }
    }
  }

  private commit(): CommittedChange[] {
    const changes = this.repo.pendingChanges();
    if (changes.length === 0) {
      return [];
    }
    try {
      this.journal?.append(changes);
    } catch (err) {
      this.repo.discardChanges();
      this.logger.error({ changes: changes.length }, 'embedded FHIR store: journal append failed; request rolled back');
      throw err;
    }
    this.repo.commitChanges();
    for (const change of changes) {
      this.seeded.delete(changeKey(change));
    }
    return changes.map((change) =>
      change.op === 'put'
        ? { op: 'put', resourceType: change.resource.resourceType, id: change.resource.id }
        : { op: 'delete', resourceType: change.resourceType, id: change.id }
    );
  }

  /** Starts a compaction in the background (holding the mutex) when the journal is mostly superseded versions. */
  compactIfDue(): void {
    const journal = this.journal;
    if (!journal || this.compaction || this.state !== 'open') {
      return;
    }
    const live = this.repo.resourceCount - this.seeded.size;
    if (journal.changes <= this.policy.minChanges || journal.changes <= this.policy.ratio * live) {
      return;
    }
    const before = journal.records;
    const started = performance.now();
    this.compaction = this.mutex
      .run(() => journal.compact(this.snapshot()))
      .then(
        () => {
          this.logger.info({ recordsBefore: before, recordsAfter: journal.records, ms: Math.round(performance.now() - started) }, 'journal compacted');
        },
        (err: unknown) => {
          this.logger.warn({ code: (err as NodeJS.ErrnoException).code }, 'journal compaction failed; keeping the journal as it is');
        }
      )
      .finally(() => {
        this.compaction = undefined;
      });
  }

  private *snapshot(): Generator<WithId<Resource>> {
    for (const resource of this.repo.liveResources()) {
      if (!this.seeded.has(`${resource.resourceType}/${resource.id}`)) {
        yield resource;
      }
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw transientError('The embedded FHIR store is closed');
    }
  }
}

import { allOk, badRequest, deepClone, getStatus, normalizeOperationOutcome, OperationOutcomeError, parseSearchRequest, stringify } from '@medplum/core';
import type { FhirRequest } from '@medplum/fhir-router';
import { BatchProcessor, FhirRouter } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource, ResourceType } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { indexFhirDefinitions, indexShippedSearchParameters } from '../fhirDefinitions';
import type { FhirStore } from '../fhirStore';
import type { DataDirLock } from './dataDirLock';
import { acquireDataDirLock } from './dataDirLock';
import { importJournal } from './journalImport';
import { transientError } from './outcomes';
import { SqliteRepository } from './sqliteRepository';
import type { CommittedChange } from './storeDatabase';
import { DATABASE_FILE, StoreDatabase } from './storeDatabase';

export type { CommittedChange } from './storeDatabase';

export const IN_MEMORY = ':memory:';

/** pino-compatible. The store logs ids, counts, sizes and paths only, never resource content. */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EmbeddedStoreOptions {
  /** Directory for the database and its lock, or `:memory:` for an in-memory database. */
  readonly dataDir: string;
  readonly logger: StoreLogger;
  /** The service's own content, stored with its own ids; a changed file becomes a new version on start. */
  readonly seed?: readonly Resource[];
}

export interface EmbeddedStoreStats {
  /** Live resources (seeded content included). */
  readonly resources: number;
  /** Size of the database in bytes. */
  readonly databaseBytes: number;
}

/** Told of each request's writes once they are committed (durable); must not throw or block. */
export type CommitListener = (changes: readonly CommittedChange[]) => void;

export interface EmbeddedStore extends FhirStore {
  /** The full FHIR REST API (read, vread, search, create, update, delete, patch, history, batch, transaction). */
  handleRest(request: FhirRequest): Promise<[OperationOutcome, Resource?]>;
  stats(): EmbeddedStoreStats;
  /** Listens to every committed request (REST, batch, transaction, the port); returns the unsubscribe. */
  onCommitted(listener: CommitListener): () => void;
}

/**
 * Opens the embedded FHIR store: takes the DATA_DIR lock, opens (or creates) the SQLite
 * database, imports a journal left by the previous version, stores the seed content. Fails
 * (releasing the lock) if the directory is in use, the database is unreadable, or a seed
 * resource does not validate.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const started = performance.now();
  const { logger } = options;
  indexFhirDefinitions();
  // Seeded SearchParameters (Task `due`) must be searchable (and indexed) like the standard ones.
  indexShippedSearchParameters(options.seed ?? []);
  let lock: DataDirLock | undefined;
  let database: StoreDatabase | undefined;
  try {
    let path = IN_MEMORY;
    if (options.dataDir !== IN_MEMORY) {
      const dir = resolve(options.dataDir);
      // The database holds health records: readable by the service's user only.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      lock = acquireDataDirLock(dir);
      path = join(dir, DATABASE_FILE);
    }
    database = StoreDatabase.open(path);
    const trusted = new SqliteRepository(database, { validate: false });
    const imported = options.dataDir === IN_MEMORY ? undefined : await importJournal(resolve(options.dataDir), trusted, logger);
    const seeded = await loadSeed(new SqliteRepository(database, { validate: true }), options.seed ?? []);
    database.takeCommitted();
    const store = new SqliteStore(database, lock, logger);
    logger.info(
      {
        dataDir: options.dataDir,
        resources: database.resourceCount(),
        seedVersionsWritten: seeded,
        importedJournalRecords: imported?.records,
        databaseBytes: database.sizeBytes(),
        openMs: Math.round(performance.now() - started),
      },
      'embedded FHIR store open'
    );
    return store;
  } catch (err) {
    database?.close();
    lock?.release();
    throw err;
  }
}

/**
 * Seeds replace older stored copies. Their versionId is a hash of their content, so unchanged
 * content keeps its version (and ETag) across restarts and is not written again; lastUpdated
 * is the file's `meta.lastUpdated` if it has one, else the time of loading. Validated.
 */
async function loadSeed(repo: SqliteRepository, seed: readonly Resource[]): Promise<number> {
  const loadedAt = new Date().toISOString();
  let written = 0;
  await repo.withTransaction(async () => {
    for (const resource of seed) {
      if (!resource.id) {
        throw new OperationOutcomeError(badRequest(`A seed ${resource.resourceType} has no id`, `${resource.resourceType}.id`));
      }
      const versionId = createHash('sha256').update(contentOf(resource)).digest('hex').slice(0, 32);
      const stored = repo.database.readCurrent(resource.resourceType, resource.id);
      if (stored && (JSON.parse(stored.content) as Resource).meta?.versionId === versionId) {
        continue;
      }
      const { meta, ...content } = JSON.parse(stringify(resource)) as Resource;
      await repo.putVersion({ ...content, id: resource.id, meta: { ...meta, versionId, lastUpdated: meta?.lastUpdated ?? loadedAt } } as Resource & {
        id: string;
      });
      written++;
    }
  });
  return written;
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

/**
 * The store over one SQLite connection.
 *
 * The router's work is asynchronous (it awaits the repository between steps), so requests
 * that go through it take turns on the connection: a second one could otherwise run its
 * statements inside the first one's open transaction. The port's reads are synchronous (one
 * critical section: nothing else runs until they return), so they need no turn and never wait
 * behind a write, unless they arrive while a write's transaction is open.
 */
class SqliteStore implements EmbeddedStore {
  private readonly router = new FhirRouter();
  /** Validates what clients send to `/fhir`. */
  private readonly restRepo: SqliteRepository;
  /** The service's own write-back: its builders are proven valid by tests (see docs/embedded-store.md). */
  private readonly serviceRepo: SqliteRepository;
  private turns: Promise<unknown> = Promise.resolve();
  /** Requests that asked for a turn and have not started it yet. */
  private waitingTurns = 0;
  /** The open group commit, if any (see groupedTurn). */
  private group: CommitGroup | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private readonly listeners = new Set<CommitListener>();

  constructor(
    private readonly database: StoreDatabase,
    private readonly lock: DataDirLock | undefined,
    private readonly logger: StoreLogger
  ) {
    this.restRepo = new SqliteRepository(database, { validate: true });
    this.serviceRepo = new SqliteRepository(database, { validate: false });
  }

  async handleRest(request: FhirRequest): Promise<RestResponse> {
    try {
      if (isTransactionPost(request)) {
        return [allOk, await this.transaction(this.restRepo, request.body as Bundle)];
      }
      // The router rewrites params/pathname/query on the object it is given; keep the caller's intact.
      const routed: FhirRequest = { ...request, pathname: '', params: {}, query: { ...request.query }, config: { ...request.config, transactions: true } };
      return await this.turn(async (): Promise<RestResponse> => {
        // A read needs no transaction (no write can run until its turn ends). A batch or a single
        // write is one: each repository write is atomic on its own, and a batch's entries succeed
        // or fail one by one (R4), so the request commits whatever succeeded.
        const handle = (): Promise<RestResponse> => this.router.handleRequest(routed, this.restRepo) as Promise<RestResponse>;
        const [outcome, resource] = request.method === 'GET' || request.method === 'HEAD' ? await handle() : await this.database.transaction(handle);
        return resource ? [outcome, resource] : [outcome];
      });
    } catch (err) {
      return [normalizeOperationOutcome(err)];
    }
  }

  async readResource<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T> {
    return this.read(() => this.serviceRepo.readSync<T>(resourceType, id));
  }

  async searchResources<T extends Resource>(resourceType: T['resourceType'], query: Record<string, string>): Promise<T[]> {
    const searchRequest = parseSearchRequest<T>(resourceType, query);
    return this.read(() => (this.serviceRepo.searchSync<T>(searchRequest, { resourceOnly: true }).entry ?? []).map((e) => e.resource as T));
  }

  async countResources(resourceType: ResourceType, query: Record<string, string>): Promise<number> {
    // A page of none, with the total: SQLite counts the matches without reading them.
    const searchRequest = { ...parseSearchRequest(resourceType, query), count: 0, offset: 0, sortRules: undefined };
    return this.read(() => this.serviceRepo.searchSync(searchRequest).total ?? 0);
  }

  async executeTransaction(bundle: Bundle): Promise<Bundle> {
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw new OperationOutcomeError(badRequest('Expected a Bundle of type transaction', 'Bundle.type'));
    }
    return this.transaction(this.serviceRepo, bundle);
  }

  async checkReady(): Promise<void> {
    this.assertOpen();
    try {
      this.database.statement('SELECT 1').get();
    } catch (err) {
      throw transientError('The embedded FHIR store cannot read its database', err);
    }
  }

  stats(): EmbeddedStoreStats {
    return { resources: this.database.resourceCount(), databaseBytes: this.database.sizeBytes() };
  }

  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.state = 'closing';
    // Requests already waiting for their turn run first (and then see the store closed).
    await this.turn(async () => {
      this.state = 'closed';
    }, true).catch(() => undefined);
    try {
      this.database.close();
    } finally {
      this.lock?.release();
      this.logger.info({}, 'embedded FHIR store closed');
    }
  }

  /**
   * A transaction Bundle all-or-nothing in one SQLite transaction. The router's processor runs
   * it with batch bookkeeping (its transaction mode refuses more than 8 entries with conditional
   * creates, which a triage write-back has): it still resolves `urn:uuid` references and
   * `ifNoneExist`, and any failed entry throws here, which rolls the whole Bundle back.
   */
  private async transaction(repo: SqliteRepository, bundle: Bundle): Promise<Bundle> {
    return this.groupedTurn(() =>
      this.database.transaction(async () => {
        const request: FhirRequest = { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: bundle, config: { transactions: false } };
        // The processor assigns ids into the bundle it is given; the caller's copy stays as sent.
        const response = await new BatchProcessor(this.router, repo, deepClone(bundle), request).run();
        for (const entry of response.entry ?? []) {
          const status = entry.response?.status ?? '';
          if (!status.startsWith('2')) {
            const outcome = entry.response?.outcome;
            throw new OperationOutcomeError(outcome && getStatus(outcome) >= 400 ? outcome : badRequest(`A transaction entry failed with status ${status}`));
          }
        }
        return { ...response, type: 'transaction-response' };
      })
    );
  }

  /** Runs `work` on the connection when no asynchronous request is half-way through a transaction. */
  private async read<T>(work: () => T): Promise<T> {
    this.assertOpen();
    await nextMacrotask();
    if (!this.database.inTransaction) {
      try {
        return work();
      } catch (err) {
        throw mapStorageError(err);
      }
    }
    return this.turn(async () => work());
  }

  /**
   * Runs `work` once every request before it has finished, then tells the listeners what it
   * committed (after the commit, outside the turn: a listener may call the store again).
   */
  private async turn<T>(work: () => Promise<T>, closing = false): Promise<T> {
    if (!closing) {
      this.assertOpen();
    }
    let committed: CommittedChange[] = [];
    this.waitingTurns++;
    await nextMacrotask();
    const result = this.turns.then(async () => {
      this.waitingTurns--;
      // Anything but a transaction Bundle sees (and waits for) the open group committed first.
      this.commitGroup();
      if (this.state === 'closed') {
        throw transientError('The embedded FHIR store is closed');
      }
      try {
        return await work();
      } catch (err) {
        throw mapStorageError(err);
      } finally {
        committed = this.database.takeCommitted();
      }
    });
    this.turns = result.catch(() => undefined);
    const value = await result;
    this.tellListeners(committed);
    return value;
  }

  /**
   * A transaction Bundle, with group commit. SQLite's COMMIT fsyncs the WAL on the event loop's
   * thread, so while one request commits, others pile up; those already waiting for their turn
   * join one open SQLite transaction, each as a savepoint (a failing one is rolled back alone
   * and answered at once), and one COMMIT makes them all durable. Each is answered only after
   * that COMMIT. The group commits as soon as no other request waits for a turn, before any
   * other kind of request runs, or at GROUP_LIMIT members.
   */
  private async groupedTurn<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    this.waitingTurns++;
    await nextMacrotask();
    let durable: Promise<void> | undefined;
    const result = this.turns.then(async () => {
      this.waitingTurns--;
      if (this.state === 'closed') {
        this.commitGroup();
        throw transientError('The embedded FHIR store is closed');
      }
      if (!this.group) {
        this.database.beginGroup();
        this.group = openGroup();
      }
      const group = this.group;
      try {
        const value = await work();
        group.members++;
        durable = group.committed;
        return value;
      } catch (err) {
        throw mapStorageError(err);
      } finally {
        if (this.waitingTurns === 0 || group.members >= GROUP_LIMIT) {
          this.commitGroup();
        }
      }
    });
    this.turns = result.catch(() => undefined);
    const value = await result;
    await durable;
    return value;
  }

  /** Commits the open group, if any: resolves its members, or rejects them all if the COMMIT failed. */
  private commitGroup(): void {
    const group = this.group;
    if (!group) {
      return;
    }
    this.group = undefined;
    let changes: CommittedChange[];
    try {
      changes = this.database.commitGroup();
    } catch (err) {
      group.fail(mapStorageError(err));
      return;
    }
    group.succeed();
    // After the members' answers are released, outside the turn's work: a listener may call the store.
    void group.committed.then(() => this.tellListeners(changes));
  }

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

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw transientError('The embedded FHIR store is closed');
    }
  }
}

/** At most this many transaction Bundles share one COMMIT. */
const GROUP_LIMIT = 64;

interface CommitGroup {
  members: number;
  /** Resolves once the group's COMMIT returned; rejects if it failed. */
  readonly committed: Promise<void>;
  succeed(): void;
  fail(err: unknown): void;
}

function openGroup(): CommitGroup {
  let succeed: () => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const committed = new Promise<void>((resolve, reject) => {
    succeed = resolve;
    fail = reject;
  });
  // Members await it; a group whose members all failed has no one to.
  committed.catch(() => undefined);
  return { members: 0, committed, succeed, fail };
}

/**
 * The store's work never waits on I/O the event loop sees (SQLite is synchronous), so a caller
 * looping over store calls (intake's sweep of stored responses, a bulk run) would otherwise
 * hold the loop until it finished: no HTTP request, not even /readyz, would be answered. Each
 * call first lets pending I/O run.
 */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** SQLite's own failures (disk full, I/O error, locked) are the port's transient error: 503, try again. */
function mapStorageError(err: unknown): unknown {
  if (err instanceof OperationOutcomeError) {
    return err;
  }
  if ((err as { code?: string }).code === 'ERR_SQLITE_ERROR') {
    return transientError('The embedded FHIR store could not use its database', err);
  }
  return err;
}

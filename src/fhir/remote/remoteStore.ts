import { OperationOutcomeError } from '@medplum/core';
import type { Bundle, BundleEntry, CapabilityStatement, Resource, ResourceType } from '@medplum/fhirtypes';
import { badRequestError, errorIssue, serviceUnavailableError } from '../../outcomes';
import type { StoreLogger } from '../embedded/embeddedStore';
import type { FhirStore, WaitOptions } from '../fhirStore';
import { buildClientIdWrite, planClientIdWrite } from './clientIdWrite';
import { FhirServerConnection, type FhirServerConnectionOptions } from './fhirServerConnection';
import { chooseWriteStrategy, type WriteStrategy } from './writeStrategy';

export interface RemoteStoreOptions extends FhirServerConnectionOptions {
  /**
   * How transactions with conditional creates are written (writeStrategy.ts). `auto`, the
   * default, reads it from the server's CapabilityStatement, fetched once per store.
   */
  readonly writeStrategy?: WriteStrategy | 'auto' | undefined;
}

/** /readyz must answer within a probe's timeout (often 1 s): one short look at the server. */
const READY_WAIT_MS = 800;

/** Pages followed for one search at most: a bound on a server whose links loop. */
const MAX_PAGES = 50;

/** A FHIR id, excluding `.` and `..`, which a URL would read as path steps. */
const FHIR_ID = /^(?!\.{1,2}$)[A-Za-z0-9\-.]{1,64}$/;

/**
 * The FhirStore port over an external FHIR R4 server. A triage's write-back is ONE
 * `transaction` request (after one look-up batch under the `client-ids` strategy, see
 * writeStrategy.ts); retrying it after a timeout or 5xx is safe because every entry is a
 * conditional create keyed on the triage's idempotency tag, or a PUT to an id derived from it.
 */
export function openRemoteStore(options: RemoteStoreOptions): FhirStore {
  return new RemoteStore(new FhirServerConnection(options), options.logger, options.writeStrategy ?? 'auto');
}

class RemoteStore implements FhirStore {
  /** The server's CapabilityStatement, once one was read (it decides the write strategy). */
  private statement: CapabilityStatement | undefined;
  private readonly announced = new Set<string>();

  constructor(
    private readonly connection: FhirServerConnection,
    private readonly logger: StoreLogger,
    private readonly writeStrategy: WriteStrategy | 'auto'
  ) {}

  async readResource<T extends Resource>(resourceType: T['resourceType'], id: string, options?: WaitOptions): Promise<T> {
    if (!FHIR_ID.test(id)) {
      throw badRequestError([errorIssue('value', `'${id.slice(0, 70)}' is not a FHIR id.`)]);
    }
    return this.connection.read<T>(resourceType, id, options);
  }

  /**
   * Servers cap `_count` at their own page size (HAPI: 50 by default) and link the rest. When
   * the caller asked for more than the first page holds, the `next` links are followed until
   * the count is reached, so a work queue is complete (or knows it was cut at its own limit).
   * Only links on this server's base are followed.
   */
  async searchResources<T extends Resource>(resourceType: T['resourceType'], query: Record<string, string>, options?: WaitOptions): Promise<T[]> {
    const wanted = Number(query._count ?? '0');
    const matches = (bundle: Bundle<T>): T[] =>
      (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include' && e.resource?.resourceType === resourceType).map((e) => e.resource as T);
    let bundle = await this.connection.search<T>(resourceType, query, options);
    const found = matches(bundle);
    for (let pages = 1; found.length < wanted && pages < MAX_PAGES; pages++) {
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next || !next.startsWith(`${this.connection.baseUrl}`)) {
        break;
      }
      bundle = await this.connection.page<T>(next, options);
      found.push(...matches(bundle));
    }
    return found;
  }

  async countResources(resourceType: ResourceType, query: Record<string, string>, options?: WaitOptions): Promise<number> {
    const bundle = await this.connection.search(resourceType, { ...query, _summary: 'count' }, options);
    if (typeof bundle.total !== 'number') {
      throw serviceUnavailableError('The FHIR server answered a _summary=count search without a total.');
    }
    return bundle.total;
  }

  async executeTransaction(bundle: Bundle, options?: WaitOptions): Promise<Bundle> {
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw badRequestError([errorIssue('value', 'Expected a Bundle of type transaction', 'Bundle.type')]);
    }
    const deadline = performance.now() + (options?.maxWaitMs ?? Number.POSITIVE_INFINITY);
    const remaining = (): WaitOptions | undefined => (Number.isFinite(deadline) ? { maxWaitMs: Math.max(250, deadline - performance.now()) } : undefined);
    const plan = planClientIdWrite(bundle);
    if (
      plan &&
      (await this.strategyFor(
        bundle,
        plan.keyed.map((k) => k.resourceType),
        remaining()
      )) === 'client-ids'
    ) {
      // Round trip 1: what an earlier delivery stored. Round trip 2: the rest, in one transaction.
      const probeAnswer = await this.connection.bundle(plan.probe, remaining());
      if (probeAnswer.resourceType !== 'Bundle' || (probeAnswer.entry?.length ?? 0) !== (plan.probe.entry?.length ?? 0)) {
        throw serviceUnavailableError('The FHIR server answered the look-up batch with something other than its batch-response.');
      }
      const write = buildClientIdWrite(bundle, plan, probeAnswer);
      const answer = write.transaction ? await this.send(write.transaction, remaining()) : undefined;
      return this.withRepresentations(write.answer(answer));
    }
    return this.withRepresentations(await this.send(bundle, remaining()));
  }

  private async send(bundle: Bundle, options: WaitOptions | undefined): Promise<Bundle> {
    const answer = await this.connection.bundle(bundle, options);
    if (answer.resourceType !== 'Bundle' || answer.type !== 'transaction-response' || (answer.entry?.length ?? 0) !== (bundle.entry?.length ?? 0)) {
      // The transaction's fate is unknown; a retry is safe (every entry is conditional or at a fixed id).
      throw serviceUnavailableError('The FHIR server answered the transaction with something other than its transaction-response.');
    }
    return answer;
  }

  private async strategyFor(bundle: Bundle, types: readonly string[], wait: WaitOptions | undefined): Promise<WriteStrategy> {
    if (this.writeStrategy !== 'auto') {
      return this.writeStrategy;
    }
    this.statement ??= await this.connection.capabilities(wait);
    const choice = chooseWriteStrategy(
      this.statement,
      new Set([...types, ...(bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource.resourceType] : []))])
    );
    if (!this.announced.has(choice.reason)) {
      this.announced.add(choice.reason);
      this.logger.info({ strategy: choice.strategy, reason: choice.reason }, 'FHIR server write strategy');
    }
    return choice.strategy;
  }

  async checkReady(): Promise<void> {
    const statement = await this.connection.capabilities({ maxWaitMs: READY_WAIT_MS });
    if (statement.resourceType !== 'CapabilityStatement' || (statement.fhirVersion !== undefined && !statement.fhirVersion.startsWith('4.0'))) {
      this.logger.error({ fhirVersion: statement.fhirVersion }, 'FHIR_BASE_URL is not a FHIR R4 server');
      throw serviceUnavailableError('The external server is not a FHIR R4 server.');
    }
    this.statement = statement;
  }

  async close(): Promise<void> {
    this.connection.close();
  }

  /**
   * Servers need not honour `Prefer: return=representation` (some return only locations,
   * notably for a conditional create that matched). Those entries are read back in one
   * `batch`, so the caller still gets what was stored; servers that do honour it cost
   * nothing extra.
   */
  private async withRepresentations(answer: Bundle): Promise<Bundle> {
    const entries = answer.entry ?? [];
    const missing = entries.flatMap((entry, index) => {
      const location = entry.response?.location?.replace(/\/_history\/.*$/, '');
      return !entry.resource && location ? [{ index, location: location.replace(/^.*?([A-Za-z]+\/[^/]+)$/, '$1') }] : [];
    });
    if (missing.length === 0) {
      return answer;
    }
    try {
      const reads = await this.connection.bundle({
        resourceType: 'Bundle',
        type: 'batch',
        entry: missing.map((m) => ({ request: { method: 'GET', url: m.location } })),
      });
      const filled: BundleEntry[] = [...entries];
      missing.forEach((m, i) => {
        const resource = reads.entry?.[i]?.resource;
        if (resource && resource.resourceType !== 'OperationOutcome') {
          filled[m.index] = { ...entries[m.index], resource };
        }
      });
      this.logger.info({ entries: missing.length }, 'FHIR server returned locations only; read the stored resources back');
      return { ...answer, entry: filled };
    } catch (err) {
      // The write landed; only the copy for the answer is missing.
      this.logger.warn(
        { entries: missing.length, status: err instanceof OperationOutcomeError ? err.outcome.id : 'error' },
        'could not read back the stored resources'
      );
      return answer;
    }
  }
}

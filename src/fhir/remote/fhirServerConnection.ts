import { ClientStorage, MedplumClient, MemoryStorage, OperationOutcomeError } from '@medplum/core';
import type { Bundle, CapabilityStatement, Parameters, Resource } from '@medplum/fhirtypes';
import { refusedByServerError, serviceUnavailableError } from '../../outcomes';
import type { StoreLogger } from '../embedded/embeddedStore';
import type { WaitOptions } from '../fhirStore';
import { type BackendCredentials, type BackendLogin, createBackendLogin } from './backendLogin';
import { DEFAULT_RETRY_POLICY, type FailureVerdict, RetryBudgetExhausted, type RetryPolicy, retryTransient } from './retryPolicy';
import { type FetchFunction, ServerAnswerError, throwingOnErrorStatus } from './serverAnswer';

export interface FhirServerConnectionOptions {
  /** The server's FHIR base (`FHIR_BASE_URL`), without a trailing slash. */
  readonly baseUrl: string;
  readonly credentials: BackendCredentials;
  /** pino-compatible; the connection logs operations, statuses and timings only. */
  readonly logger: StoreLogger;
  readonly retry?: RetryPolicy | undefined;
  /** The global fetch by default; tests pass one that counts or fails requests. */
  readonly fetch?: FetchFunction | undefined;
}

/**
 * One external FHIR R4 server, reached through MedplumClient with every implicit behaviour
 * made explicit: no response cache (`cacheTime: 0`: a conditional create's result must never
 * come from memory), no auto-batching, no retries of its own (`maxRetries: 0`; retries happen
 * here, inside one time budget), no Medplum-only headers, and the FHIR base is the URL itself
 * (`fhirUrlPath: ''`). Errors leave as OperationOutcomeErrors: a server's 4xx keeps its status
 * and its own OperationOutcome; unreachable, timed out or 5xx after the budget is a
 * `service-unavailable` (503).
 */
export class FhirServerConnection {
  private readonly medplum: MedplumClient;
  private readonly login: BackendLogin;
  private readonly policy: RetryPolicy;
  private closed = false;

  constructor(private readonly options: FhirServerConnectionOptions) {
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.policy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.login = createBackendLogin({ credentials: options.credentials, fhirBaseUrl: options.baseUrl, fetch: fetchImpl });
    this.medplum = new MedplumClient({
      baseUrl: `${options.baseUrl}/`,
      fhirUrlPath: '',
      fetch: throwingOnErrorStatus(fetchImpl),
      storage: new ClientStorage(new MemoryStorage()),
      cacheTime: 0,
      autoBatchTime: 0,
      maxRetries: 0,
      extendedMode: false,
      refreshGracePeriod: 0,
      onUnauthenticated: () => undefined,
    });
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  read<T extends Resource>(resourceType: T['resourceType'], id: string, wait?: WaitOptions): Promise<T> {
    return this.send(`read ${resourceType}`, (signal) => this.medplum.get<T>(this.medplum.fhirUrl(resourceType, id), { signal }), wait);
  }

  search<T extends Resource>(resourceType: T['resourceType'], query: Record<string, string>, wait?: WaitOptions): Promise<Bundle<T>> {
    // no-cache: HAPI answers a repeated search from its result cache for a minute by default;
    // a work queue or a look-up just after a write must see that write.
    return this.send(
      `search ${resourceType}`,
      (signal) => this.medplum.get<Bundle<T>>(this.medplum.fhirSearchUrl(resourceType, query), { signal, headers: { 'Cache-Control': 'no-cache' } }),
      wait
    );
  }

  /** A search's next page, by the absolute URL the server gave in `link[next]`. */
  page<T extends Resource>(url: string, wait?: WaitOptions): Promise<Bundle<T>> {
    return this.send('search page', (signal) => this.medplum.get<Bundle<T>>(url, { signal, headers: { 'Cache-Control': 'no-cache' } }), wait);
  }

  /** Posts a `transaction` or `batch` Bundle, asking for the stored resources back. */
  bundle(bundle: Bundle, wait?: WaitOptions): Promise<Bundle> {
    return this.send(
      bundle.type ?? 'bundle',
      (signal) => this.medplum.executeBatch(bundle, { signal, headers: { Prefer: 'return=representation', 'Cache-Control': 'no-cache' } }),
      wait
    );
  }

  create<T extends Resource>(resource: T): Promise<T> {
    return this.send(
      `create ${resource.resourceType}`,
      (signal) => this.medplum.createResource(resource, { signal, headers: { Prefer: 'return=representation' } }) as Promise<T>
    );
  }

  /** PUT to the resource's own id (an update, or a create where the server allows client ids). */
  update<T extends Resource>(resource: T & { id: string }): Promise<T> {
    return this.send(
      `update ${resource.resourceType}`,
      (signal) => this.medplum.updateResource(resource, { signal, headers: { Prefer: 'return=representation' } }) as Promise<T>
    );
  }

  /** A system-level operation (`POST [base]/$name`) with a Parameters body. */
  systemOperation(name: string, parameters: Parameters, wait?: WaitOptions): Promise<Resource> {
    return this.send(
      `$${name}`,
      (signal) => this.medplum.post<Resource>(this.medplum.fhirUrl(`$${name}`), parameters, 'application/fhir+json', { signal }),
      wait
    );
  }

  capabilities(wait?: WaitOptions): Promise<CapabilityStatement> {
    return this.send('metadata', (signal) => this.medplum.get<CapabilityStatement>(this.medplum.fhirUrl('metadata'), { signal }), wait);
  }

  close(): void {
    this.closed = true;
  }

  private async send<T>(operation: string, call: (signal: AbortSignal) => Promise<T>, wait?: WaitOptions): Promise<T> {
    if (this.closed) {
      throw serviceUnavailableError('The connection to the FHIR server is closed.');
    }
    const started = performance.now();
    try {
      return await retryTransient((signal) => this.authorisedCall(call, signal), {
        policy: this.policy,
        maxWaitMs: wait?.maxWaitMs,
        classify: classifyFailure,
        onRetry: (details) => this.options.logger.warn({ operation, ...details }, 'FHIR server request failed; retrying'),
      });
    } catch (err) {
      throw this.asOutcomeError(operation, err, performance.now() - started);
    }
  }

  private async authorisedCall<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.authorise(signal);
    try {
      return await call(signal);
    } catch (err) {
      // Without a login of our own there is nothing to renew: the 401 stands.
      if (
        !(err instanceof ServerAnswerError && err.status === 401) ||
        this.options.credentials.method === 'none' ||
        this.options.credentials.method === 'bearer-token'
      ) {
        throw err;
      }
      // A token the server no longer takes (revoked, or clocks disagree): one fresh login, one more try.
      this.login.forget();
      await this.authorise(signal);
      return call(signal);
    }
  }

  private async authorise(signal: AbortSignal): Promise<void> {
    const token = await this.login.accessToken(signal);
    if (token !== undefined && token !== this.medplum.getAccessToken()) {
      this.medplum.setAccessToken(token);
    }
  }

  private asOutcomeError(operation: string, err: unknown, elapsedMs: number): OperationOutcomeError {
    if (err instanceof RetryBudgetExhausted) {
      this.options.logger.error({ operation, attempts: err.attempts, reason: err.reason, elapsedMs: Math.round(err.elapsedMs) }, 'FHIR server unavailable');
      return serviceUnavailableError(`The FHIR server did not answer in time (${err.reason}).`);
    }
    if (err instanceof ServerAnswerError && err.status >= 400 && err.status < 500) {
      this.options.logger.info({ operation, status: err.status, elapsedMs: Math.round(elapsedMs) }, 'FHIR server refused the request');
      return refusedByServerError(err.status, err.outcome);
    }
    if (err instanceof OperationOutcomeError) {
      return err;
    }
    this.options.logger.error({ operation, error: errorName(err) }, 'FHIR server answer could not be used');
    return serviceUnavailableError('The FHIR server gave an answer that could not be read.');
  }
}

/** Unreachable, timed out, rate-limited or 5xx may pass; any other answer is final. */
export function classifyFailure(err: unknown): FailureVerdict {
  if (err instanceof ServerAnswerError) {
    if (err.status >= 500 || err.status === 429 || err.status === 408) {
      return { retry: true, reason: `HTTP ${err.status}`, retryAfterMs: err.retryAfterMs };
    }
    return { retry: false };
  }
  // By name, not instanceof: fetch's errors may come from another realm (a DOMException, a vm context).
  const name = errorName(err);
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { retry: true, reason: 'timeout' };
  }
  if (name === 'TypeError') {
    // undici: "fetch failed" with the socket error as cause (ECONNREFUSED, ECONNRESET, ENOTFOUND…).
    const code = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
    return { retry: true, reason: `unreachable${code ? ` (${code})` : ''}` };
  }
  return { retry: false };
}

function errorName(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string' ? (err as { name: string }).name : 'unknown';
}

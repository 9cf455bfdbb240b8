import type { Bundle, Resource, ResourceType } from '@medplum/fhirtypes';

/**
 * The one port between the triage service and a FHIR server. Two implementations:
 * the embedded store (a journaled in-process repository) and a remote R4 server
 * reached through MedplumClient. The core never knows which one it talks to.
 *
 * Errors are thrown as OperationOutcomeError: a 4xx-class outcome when the server
 * refused the request, and an outcome with issue code `transient` (HTTP 503)
 * when it could not be reached or did not answer in time.
 */
export interface FhirStore {
  /** Reads one resource; throws a not-found OperationOutcomeError when absent. */
  readResource<T extends Resource>(resourceType: T['resourceType'], id: string, options?: WaitOptions): Promise<T>;
  /** Runs a FHIR search, e.g. `{ _tag: 'system|code' }`, and returns the matching resources (the first page). */
  searchResources<T extends Resource>(resourceType: T['resourceType'], query: Record<string, string>, options?: WaitOptions): Promise<T[]>;
  /**
   * How many resources a search matches (`_summary=count`), without reading them: the work
   * queue says exactly how much open work a page does not show. Optional: a store without
   * it makes the queue say "at least".
   */
  countResources?(resourceType: ResourceType, query: Record<string, string>, options?: WaitOptions): Promise<number>;
  /** Applies a `transaction` Bundle all-or-nothing and returns the `transaction-response` Bundle. */
  executeTransaction(bundle: Bundle, options?: WaitOptions): Promise<Bundle>;
  /** Resolves when the store can serve requests; throws a transient OperationOutcomeError otherwise. */
  checkReady(): Promise<void>;
  /** Releases files, locks and connections. */
  close(): Promise<void>;
}

/**
 * A caller's bound on waiting for a remote server, retries included, tighter than the
 * store's own (about 5 s): a read it can do without (the age check's birth date), or what is
 * left of a request's budget. The embedded store never waits on a network.
 */
export interface WaitOptions {
  readonly maxWaitMs?: number | undefined;
}

export type { ResourceType };

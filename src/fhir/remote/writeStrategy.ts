import type { CapabilityStatement } from '@medplum/fhirtypes';

/**
 * How the remote store lands a transaction that holds conditional creates (a triage's
 * write-back: up to 11 entries, every one a conditional create keyed on its idempotency tag).
 *
 * - `client-ids` (clientIdWrite.ts): one `batch` of reads finds what an earlier delivery stored,
 *   then ONE transaction of `PUT Type/<deterministic id>` for the rest, none of them conditional.
 *   Needed by servers that refuse large conditional transactions (Medplum's transaction
 *   processor: more than 8 entries once any is conditional), and safe on any server that
 *   allows update-as-create. One more round trip than `conditional-create`.
 * - `conditional-create`: the transaction as built, one request; the server itself finds the
 *   earlier copies. Used where a server says it cannot create by PUT.
 *
 * The choice is read from the server's CapabilityStatement: `client-ids` unless a resource type
 * the transaction creates is missing, lacks the `update` interaction, or has `updateCreate`
 * false. An absent `updateCreate` is taken as allowed: HAPI FHIR (which allows it by default
 * for non-numeric ids) and Medplum do not state it.
 */
export type WriteStrategy = 'client-ids' | 'conditional-create';

export interface StrategyChoice {
  readonly strategy: WriteStrategy;
  /** Why, for the log line and the docs. */
  readonly reason: string;
}

export function chooseWriteStrategy(statement: CapabilityStatement, resourceTypes: ReadonlySet<string>): StrategyChoice {
  const rest = statement.rest?.find((r) => r.mode === 'server') ?? statement.rest?.[0];
  for (const type of resourceTypes) {
    const resource = rest?.resource?.find((r) => r.type === type);
    if (!resource) {
      return { strategy: 'conditional-create', reason: `the CapabilityStatement does not list ${type}` };
    }
    if (resource.updateCreate === false) {
      return { strategy: 'conditional-create', reason: `${type}: updateCreate is false` };
    }
    if (resource.interaction && !resource.interaction.some((i) => i.code === 'update')) {
      return { strategy: 'conditional-create', reason: `${type}: no update interaction` };
    }
  }
  return { strategy: 'client-ids', reason: 'every type written allows update (updateCreate not refused)' };
}

import type { Provenance, Reference } from '@medplum/fhirtypes';
import { type ResultContext, roleMeta, rulesetCanonical } from './resultContext';
import { PROVENANCE_CREATE, PROVENANCE_PERFORMER } from './terminology';

export interface ProvenanceOptions {
  readonly context: ResultContext;
  /** Every resource the triage created (not the response: that is the source). */
  readonly targets: readonly Reference[];
}

/** Who made the results and from what: the service's Device, from the response, under the ruleset. */
export function buildProvenance(options: ProvenanceOptions): Provenance {
  const { context, targets } = options;
  return {
    resourceType: 'Provenance',
    meta: roleMeta(context, 'provenance'),
    target: [...targets],
    recorded: context.now.toISOString(),
    // The ruleset is the plan the activity followed.
    policy: [rulesetCanonical(context)],
    activity: PROVENANCE_CREATE,
    agent: [{ type: PROVENANCE_PERFORMER, who: context.device }],
    entity: [{ role: 'source', what: context.response }],
  };
}

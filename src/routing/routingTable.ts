import type { CareTeam, CodeableConcept, HealthcareService, Organization, Practitioner, PractitionerRole, Reference, ServiceRequest } from '@medplum/fhirtypes';

/** `ServiceRequest.priority` (and `Task.priority`, the same value set). */
export type RequestPriority = NonNullable<ServiceRequest['priority']>;

/**
 * When a referral falls due, relative to the moment of triage. Kept symbolic (not a
 * duration) because "end of today" depends on the clinical time zone, and calendar
 * days are not always 24 hours long.
 */
export type DueRule =
  | { readonly kind: 'now' }
  /** End of today in the clinical time zone, or `hours` from now if that is later. */
  | { readonly kind: 'end-of-day-or-hours'; readonly hours: number }
  | { readonly kind: 'hours'; readonly hours: number }
  /** Calendar days in the clinical time zone, at the same wall-clock time. */
  | { readonly kind: 'days'; readonly days: number };

/** Who may own a Task in R4 (a subset of Task.owner's targets: people and teams, not the patient or a device). */
export type TaskOwner = HealthcareService | Organization | PractitionerRole | Practitioner | CareTeam;

/** The clinician-facing queue that watches over an emergency or urgent result the patient must act on alone. */
export interface SafetyNet {
  readonly owner: Reference<TaskOwner>;
  readonly due: DueRule;
}

/** Where one kind of referral goes, how urgently, and who owns the work. */
export interface Route {
  /** The table entry that matched, for messages: `gp`, `gp (under 16)`, `occupational-therapy`. */
  readonly label: string;
  readonly healthcareService: Reference<HealthcareService>;
  /** The organisation that provides the service (`HealthcareService.providedBy`). */
  readonly organization: Reference<Organization>;
  readonly priority: RequestPriority;
  readonly performerType: CodeableConcept;
  /** `ServiceRequest.code`: what is being requested. */
  readonly code: CodeableConcept;
  readonly owner: Reference<TaskOwner>;
  readonly due: DueRule;
  readonly safetyNet: SafetyNet | undefined;
}

export interface AgeBand {
  /** The band applies when the youngest plausible age is below this. */
  readonly under: number;
  readonly route: Route;
}

export interface DispositionRouting {
  readonly route: Route;
  /** Ascending by `under`: the first band that matches is the most specific. */
  readonly ageBands: readonly AgeBand[];
}

export interface RoutingTable {
  readonly version: string;
  /** Keyed by disposition code; self-care has no entry (no referral). */
  readonly dispositions: ReadonlyMap<string, DispositionRouting>;
  /** Keyed by additional-referral service code (P2: `occupational-therapy`). */
  readonly additionalReferrals: ReadonlyMap<string, Route>;
  readonly selfCare: { readonly reviewDays: number };
}

/** Most urgent last, so a higher index is more urgent. */
export const PRIORITY_ORDER: readonly RequestPriority[] = ['routine', 'urgent', 'asap', 'stat'];

export function priorityRank(priority: RequestPriority): number {
  return PRIORITY_ORDER.indexOf(priority);
}

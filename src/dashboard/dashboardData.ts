import type { AuditEvent, RiskAssessment, Task } from '@medplum/fhirtypes';
import type { FhirStore } from '../fhir/fhirStore';
import { REVIEW_EVENT_SYSTEM } from '../review/reviewTerms';
import { TRIAGE_METHOD_CODE, TRIAGE_METHOD_SYSTEM } from '../triage/results/buildRiskAssessment';

/** At most this many resources of each kind are read per page load; beyond it the page says so. */
export const DASHBOARD_SEARCH_LIMIT = 1000;

export interface DashboardResources {
  readonly assessments: RiskAssessment[];
  readonly audits: AuditEvent[];
  readonly tasks: Task[];
  /** A search returned its limit: the figures may leave some out. */
  readonly truncated: boolean;
}

/**
 * The resources behind the figures, by plain FHIR searches through the port (so any R4
 * server answers them): the service's triages since the range began (`method`, a token on
 * RiskAssessment), the review and feedback AuditEvents (`subtype`) and Tasks authored since
 * then. A day is added either side of the range, since the range is in the clinical time
 * zone and the searches are in UTC; computeFigures keeps only what falls inside.
 */
export async function loadDashboardResources(store: FhirStore, range: { from: string; to: string }): Promise<DashboardResources> {
  const since = shiftDay(range.from, -1);
  const until = shiftDay(range.to, 2);
  const count = String(DASHBOARD_SEARCH_LIMIT);
  const [assessments, audits, tasks] = await Promise.all([
    store.searchResources<RiskAssessment>('RiskAssessment', { method: `${TRIAGE_METHOD_SYSTEM}|${TRIAGE_METHOD_CODE}`, date: `ge${since}`, _count: count }),
    store.searchResources<AuditEvent>('AuditEvent', {
      subtype: `${REVIEW_EVENT_SYSTEM}|triage-review,${REVIEW_EVENT_SYSTEM}|cds-feedback`,
      date: `ge${since}`,
      _count: count,
    }),
    store.searchResources<Task>('Task', { 'authored-on': `ge${since}`, _count: count }),
  ]);
  const before = (when: string | undefined): boolean => when === undefined || when < until;
  return {
    assessments: assessments.filter((a) => before(a.occurrenceDateTime)),
    audits,
    tasks: tasks.filter((t) => before(t.authoredOn)),
    truncated: [assessments, audits, tasks].some((found) => found.length >= DASHBOARD_SEARCH_LIMIT),
  };
}

function shiftDay(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

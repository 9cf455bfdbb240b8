import { dueTime } from '../../routing/dueTime';
import { routeDisposition } from '../../routing/routeDisposition';
import type { Route, RoutingTable } from '../../routing/routingTable';
import type { TriageResult } from '../scoreResponse';
import { additionalReferralRoles, type ResultRole } from './idempotencyKey';

/** The contract's dispositions that make no referral ("self-care": none). */
export const NO_REFERRAL_DISPOSITIONS: readonly string[] = ['self-care'];

export interface PlannedReferral {
  readonly role: ResultRole;
  readonly taskRole: ResultRole;
  /** The additional-referral service (P2), or undefined for the disposition's own referral. */
  readonly service: string | undefined;
  readonly route: Route;
  readonly due: Date;
  /** When the duty clinician's safety-net Task falls due, if the route has one. */
  readonly safetyNetDue: Date | undefined;
}

export interface ReferralPlanOptions {
  readonly result: TriageResult;
  readonly routing: RoutingTable;
  readonly now: Date;
  readonly timeZone: string;
}

/**
 * The referrals a result leads to: the disposition's own (none for self-care) and any
 * additional referral (P2's occupational therapy, which the scorer only lists when the
 * final disposition allows it). A disposition or additional referral the table cannot
 * route is an error, never a silently dropped referral.
 */
export function planReferrals(options: ReferralPlanOptions): PlannedReferral[] {
  const { result, routing, now, timeZone } = options;
  const code = result.disposition.code;
  const plan: PlannedReferral[] = [];
  const own = routeDisposition(routing, { disposition: code, youngestAge: result.youngestAge });
  if (own) {
    plan.push(planned({ role: 'referral', taskRole: 'task', service: undefined, route: own, now, timeZone }));
  } else if (!NO_REFERRAL_DISPOSITIONS.includes(code)) {
    throw new Error(`The routing table has no route for the disposition '${code}'.`);
  }
  for (const service of result.additionalReferrals) {
    const route = routeDisposition(routing, { disposition: code, youngestAge: result.youngestAge, additionalReferral: service });
    if (!route) {
      throw new Error(`The routing table has no route for the additional referral '${service}'.`);
    }
    const roles = additionalReferralRoles(service);
    plan.push(planned({ role: roles.referral, taskRole: roles.task, service, route, now, timeZone }));
  }
  return plan;
}

/** When the CarePlan ends: the self-care review date, or when the disposition's own referral falls due. */
export function carePlanEnd(options: ReferralPlanOptions & { readonly referrals: readonly PlannedReferral[] }): Date | undefined {
  const own = options.referrals.find((r) => r.service === undefined);
  if (own) {
    return own.due;
  }
  return NO_REFERRAL_DISPOSITIONS.includes(options.result.disposition.code)
    ? dueTime({ kind: 'days', days: options.routing.selfCare.reviewDays }, options.now, options.timeZone)
    : undefined;
}

function planned(p: Omit<PlannedReferral, 'due' | 'safetyNetDue'> & { readonly now: Date; readonly timeZone: string }): PlannedReferral {
  return {
    role: p.role,
    taskRole: p.taskRole,
    service: p.service,
    route: p.route,
    due: dueTime(p.route.due, p.now, p.timeZone),
    safetyNetDue: p.route.safetyNet ? dueTime(p.route.safetyNet.due, p.now, p.timeZone) : undefined,
  };
}

/**
 * Who reviews a stale triage, how urgently, and by when: the duty clinician (the
 * safety-net owner of the urgent route), at the priority and within the due time the
 * disposition's own route has, counted from now; self-care within its review period.
 */
export function reviewRouting(options: ReferralPlanOptions): { owner: Route['owner']; priority: Route['priority']; due: Date } {
  const { result, routing, now, timeZone } = options;
  const owner = routing.dispositions.get('urgent')?.route.safetyNet?.owner;
  if (!owner) {
    throw new Error('The routing table names no duty clinician (the urgent route has no safety net) to review stale triages.');
  }
  const own = routeDisposition(routing, { disposition: result.disposition.code, youngestAge: result.youngestAge });
  if (own) {
    return { owner, priority: own.priority, due: dueTime(own.due, now, timeZone) };
  }
  return { owner, priority: 'routine', due: dueTime({ kind: 'days', days: routing.selfCare.reviewDays }, now, timeZone) };
}

/** Contract 1.1.0: a `review-identity` Task takes the priority of the disposition. */
const IDENTITY_PRIORITY: Readonly<Record<string, Route['priority']>> = { emergency: 'stat', urgent: 'asap' };

/** A clinician-only review a triage asks for, routed to the duty clinician. */
export interface ClinicianReviewRoute {
  readonly owner: Route['owner'];
  readonly priority: Route['priority'];
  readonly due: Date;
}

/**
 * `review-identity` (answered age and record disagree): the duty clinician, at `stat`,
 * `asap` or `routine` by disposition, due when the disposition's own work is. The result
 * is written and routed as usual meanwhile: the advice must not wait on the identity.
 */
export function identityReviewRouting(options: ReferralPlanOptions): ClinicianReviewRoute {
  const routed = reviewRouting(options);
  return { owner: routed.owner, priority: IDENTITY_PRIORITY[options.result.disposition.code] ?? 'routine', due: routed.due };
}

/**
 * `review-safeguarding` (SG1): the duty clinician, `asap`, due when the urgent route's
 * safety net is (the same clinician looks at every urgent result by then anyway).
 */
export function safeguardingReviewRouting(options: ReferralPlanOptions): ClinicianReviewRoute {
  const urgent = options.routing.dispositions.get('urgent')?.route;
  const owner = urgent?.safetyNet?.owner;
  if (!urgent || !owner) {
    throw new Error('The routing table names no duty clinician (the urgent route has no safety net) for safeguarding reviews.');
  }
  return { owner, priority: 'asap', due: dueTime(urgent.safetyNet?.due ?? urgent.due, options.now, options.timeZone) };
}

import {
  CONTRACT_ADDITIONAL_REFERRALS,
  CONTRACT_AGES,
  CONTRACT_DISPOSITIONS,
  CONTRACT_SELF_CARE_REVIEW_DAYS,
  contractAdditionalRequirement,
  contractRequirement,
  type ContractRequirement,
} from './contractRouting';
import { describeDueRule } from './dueTime';
import { routeDisposition } from './routeDisposition';
import { type DueRule, priorityRank, type Route, type RoutingTable } from './routingTable';

const HOUR_MS = 3600 * 1000;
/** Calendar days can be up to this much longer or shorter than 24 hours (summer time; 2 h covers every zone in use). */
const DAY_SHIFT_MS = 2 * HOUR_MS;
/** "End of today" can be up to 25 hours away: just after midnight on the day the clocks go back. */
const LONGEST_DAY_MS = 25 * HOUR_MS;

/**
 * Refuses (throws, naming every disposition and problem) a routing table that is less
 * urgent than the clinical contract anywhere: a missing route, a lower priority, a later
 * due time, no safety net where the contract needs one, or a later self-care review.
 * Every age the Questionnaire accepts is checked, so an age band cannot hide a gap.
 * Run it at start-up, before the table is used.
 */
export function checkRoutingNotLessUrgent(table: RoutingTable): void {
  const problems = new Set<string>();
  for (const disposition of CONTRACT_DISPOSITIONS) {
    for (const age of CONTRACT_AGES) {
      const required = contractRequirement(disposition, age);
      const route = routeDisposition(table, { disposition, youngestAge: age });
      if (required) {
        compare(disposition, route, required, problems);
      }
    }
  }
  for (const service of CONTRACT_ADDITIONAL_REFERRALS) {
    const required = contractAdditionalRequirement(service);
    if (required) {
      compare(service, routeDisposition(table, { disposition: '', youngestAge: 0, additionalReferral: service }), required, problems);
    }
  }
  if (table.selfCare.reviewDays > CONTRACT_SELF_CARE_REVIEW_DAYS) {
    problems.add(`self-care: a review after ${table.selfCare.reviewDays} days is later than the contract's ${CONTRACT_SELF_CARE_REVIEW_DAYS} days`);
  }
  if (problems.size > 0) {
    throw new Error(`The routing table is less urgent than the clinical contract: ${[...problems].join('; ')}.`);
  }
}

function compare(name: string, route: Route | undefined, required: ContractRequirement, problems: Set<string>): void {
  if (!route) {
    problems.add(`${name}: no route, so no referral would be made`);
    return;
  }
  if (priorityRank(route.priority) < priorityRank(required.priority)) {
    problems.add(`${route.label}: priority ${route.priority} is less urgent than the contract's ${required.priority}`);
  }
  if (!isNeverLaterThan(route.due, required.due)) {
    problems.add(`${route.label}: due ${describeDueRule(route.due)} can be later than the contract's ${describeDueRule(required.due)}`);
  }
  if (required.safetyNet && !route.safetyNet) {
    problems.add(`${route.label}: no safety-net owner (duty clinician)`);
  }
  if (route.safetyNet && !isNeverLaterThan(route.safetyNet.due, required.due)) {
    problems.add(`${route.label}: the safety net is due ${describeDueRule(route.safetyNet.due)}, later than the contract's ${describeDueRule(required.due)}`);
  }
}

/**
 * True when `candidate` falls due no later than `limit` whatever the time of triage.
 * Rules of one kind compare by their number; rules of different kinds compare the
 * candidate's latest possible delay with the limit's earliest.
 */
export function isNeverLaterThan(candidate: DueRule, limit: DueRule): boolean {
  if (candidate.kind === limit.kind) {
    return amount(candidate) <= amount(limit);
  }
  return delayBounds(candidate).latest <= delayBounds(limit).earliest;
}

function amount(rule: DueRule): number {
  switch (rule.kind) {
    case 'now':
      return 0;
    case 'hours':
    case 'end-of-day-or-hours':
      return rule.hours;
    case 'days':
      return rule.days;
  }
}

function delayBounds(rule: DueRule): { earliest: number; latest: number } {
  switch (rule.kind) {
    case 'now':
      return { earliest: 0, latest: 0 };
    case 'hours':
      return { earliest: rule.hours * HOUR_MS, latest: rule.hours * HOUR_MS };
    case 'days':
      return rule.days === 0
        ? { earliest: 0, latest: 0 }
        : { earliest: rule.days * 24 * HOUR_MS - DAY_SHIFT_MS, latest: rule.days * 24 * HOUR_MS + DAY_SHIFT_MS };
    case 'end-of-day-or-hours':
      // Just before midnight the end of the day is a moment away; just after, up to 25 hours.
      return { earliest: rule.hours * HOUR_MS, latest: Math.max(rule.hours * HOUR_MS, LONGEST_DAY_MS) };
  }
}

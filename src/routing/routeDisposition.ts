import type { Route, RoutingTable } from './routingTable';

export interface RouteQuery {
  /** The final disposition code. */
  readonly disposition: string;
  /** The youngest plausible age (TriageResult.youngestAge): a possible child is routed as a child. */
  readonly youngestAge: number;
  /** An extra referral (P2: `occupational-therapy`); when given, its route is returned instead. */
  readonly additionalReferral?: string | undefined;
}

/**
 * Where a referral for this result goes. Undefined means no referral: self-care, or a
 * disposition or additional referral the table does not route (start-up refuses a
 * table that leaves a contract disposition unrouted, see checkRoutingNotLessUrgent).
 */
export function routeDisposition(table: RoutingTable, query: RouteQuery): Route | undefined {
  if (query.additionalReferral !== undefined) {
    return table.additionalReferrals.get(query.additionalReferral);
  }
  const routing = table.dispositions.get(query.disposition);
  if (!routing) {
    return undefined;
  }
  return routing.ageBands.find((band) => query.youngestAge < band.under)?.route ?? routing.route;
}

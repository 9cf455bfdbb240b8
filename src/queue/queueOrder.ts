import { priorityRank, type RequestPriority } from '../routing/routingTable';

/**
 * Task.priority from most to least urgent. FHIR's `_sort=priority` cannot give this order:
 * servers sort the codes as strings (asap, routine, stat, urgent), so clients rank themselves.
 */
export const URGENCY_ORDER: readonly RequestPriority[] = ['stat', 'asap', 'urgent', 'routine'];

/** What the queue orders one Task by. */
export interface QueueSortKey {
  readonly priority: RequestPriority | undefined;
  readonly due: Date | undefined;
  /** Tie-breakers, so the order is stable between page loads. */
  readonly authoredOn: string | undefined;
  readonly id: string;
}

/**
 * Most urgent first, then earliest due. A Task without a priority is treated as routine
 * (R4's default for Task.priority), and one without a due time comes after those with one.
 */
export function compareUrgency(a: Omit<QueueSortKey, 'authoredOn' | 'id'>, b: Omit<QueueSortKey, 'authoredOn' | 'id'>): number {
  const rank = priorityRank(b.priority ?? 'routine') - priorityRank(a.priority ?? 'routine');
  if (rank !== 0) {
    return rank;
  }
  const dueA = a.due?.getTime() ?? Number.POSITIVE_INFINITY;
  const dueB = b.due?.getTime() ?? Number.POSITIVE_INFINITY;
  return dueA === dueB ? 0 : dueA < dueB ? -1 : 1;
}

/** compareUrgency, then the oldest first, then by id, so the order is the same on every load. */
export function compareQueueItems(a: QueueSortKey, b: QueueSortKey): number {
  return compareUrgency(a, b) || (a.authoredOn ?? '').localeCompare(b.authoredOn ?? '') || a.id.localeCompare(b.id);
}

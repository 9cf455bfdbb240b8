import type { BundleEntry, Task } from '@medplum/fhirtypes';
import { type EarlierResult, isOpenTask } from '../intake/earlierResults';
import { statusUpdate } from '../intake/statusChanges';
import { priorityRank, type RequestPriority } from '../routing/routingTable';
import { isReviewRole } from './reviewKeys';

const OWN_REFERRAL_ROLES: ReadonlySet<string> = new Set(['referral', 'task', 'task-safety-net']);

/**
 * The automated triage's own referral, superseded as intake's amendment does: the
 * ServiceRequest `revoked`, open Tasks `cancelled` with a reason, EXCEPT an open Task more
 * urgent than the new disposition asks for (and the request it acts on): an override
 * never cancels more urgent work by itself; the duty clinician decides (review-downgrade).
 */
export function supersede(options: { earlier: readonly EarlierResult[]; newPriority: RequestPriority | undefined; now: Date; reason: string }): {
  entries: BundleEntry[];
  keptOpen: Task[];
} {
  const own = options.earlier.filter((e) => OWN_REFERRAL_ROLES.has(e.role ?? '') || isReviewRole(e.role, [...OWN_REFERRAL_ROLES]));
  const newRank = options.newPriority === undefined ? -1 : priorityRank(options.newPriority);
  const keptOpen = own.map((e) => e.resource).filter((r): r is Task & { id: string } => isOpenTask(r) && priorityRank(r.priority ?? 'routine') > newRank);
  const keptRequests = new Set(keptOpen.flatMap((t) => [...(t.basedOn ?? []), ...(t.focus ? [t.focus] : [])]).map((r) => r.reference));
  const entries: BundleEntry[] = [];
  for (const { resource } of own) {
    if (
      resource.resourceType === 'ServiceRequest' &&
      ['active', 'draft', 'on-hold'].includes(resource.status ?? '') &&
      !keptRequests.has(`ServiceRequest/${resource.id}`)
    ) {
      entries.push(statusUpdate(resource, { ...resource, status: 'revoked' }));
    }
    if (resource.resourceType === 'Task' && isOpenTask(resource) && !keptOpen.includes(resource)) {
      entries.push(
        statusUpdate(resource, { ...resource, status: 'cancelled', statusReason: { text: options.reason }, lastModified: options.now.toISOString() })
      );
    }
  }
  return { entries, keptOpen };
}

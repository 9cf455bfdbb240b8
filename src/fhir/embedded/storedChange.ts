import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

/**
 * One committed write, as journaled and replayed: the full resulting resource for a put
 * (so replay restores id, versionId and lastUpdated exactly), or the identity for a delete.
 */
export type StoredChange =
  | { readonly op: 'put'; readonly resource: WithId<Resource> }
  | { readonly op: 'delete'; readonly resourceType: string; readonly id: string };

export function changeKey(change: StoredChange): string {
  return change.op === 'put'
    ? `${change.resource.resourceType}/${change.resource.id}`
    : `${change.resourceType}/${change.id}`;
}

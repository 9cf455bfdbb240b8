import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, validateResource } from '@medplum/core';

/**
 * Validates a resource about to be stored and throws a 400-class OperationOutcomeError whose
 * issues name the offending paths (e.g. `Observation.subject`).
 *
 * @medplum/core reports three structural problems only as warnings "to avoid breaking
 * existing code" (its own TODOs say they should be errors): a reference to a resource type
 * the element does not allow, a conflicting choice-of-type pair, and a primitive extension
 * of the wrong type. A store of clinical records must refuse those, so they are promoted.
 */
export function validateForWrite(resource: Resource): void {
  const issues = validateResource(resource);
  const structural = issues.filter((issue) => issue.severity === 'warning' && issue.code === 'structure');
  if (structural.length > 0) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: structural.map((issue): OperationOutcomeIssue => ({ ...issue, severity: 'error' })),
    });
  }
}

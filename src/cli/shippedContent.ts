import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { readResourceFiles } from '../content/readResourceFiles';
import { findContentRoot } from '../contentRoot';

/** The service's own content (questionnaires/ and fhir-resources/), from the source tree or an installed build alike. */
export function readShippedContent(): Resource[] {
  const root = findContentRoot(__dirname);
  return readResourceFiles([join(root, 'questionnaires'), join(root, 'fhir-resources')]);
}

/** An error as one line for a person: an OperationOutcome's issue texts, or the message. */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object' && 'outcome' in err) {
    const outcome = (err as { outcome: { issue?: { details?: { text?: string }; diagnostics?: string }[] } }).outcome;
    return (outcome.issue ?? [])
      .map((i) => i.details?.text ?? i.diagnostics ?? '')
      .filter((t) => t !== '')
      .join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}

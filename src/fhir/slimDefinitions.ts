import type { Bundle } from '@medplum/fhirtypes';

/**
 * Fields of a StructureDefinition that only document it. @medplum/core keeps just one of
 * them (an element's `definition`, as its description, for display); validation and
 * search read none. Dropping them cuts the R4 definitions from 32 MB to 6.5 MB of JSON,
 * which is most of the service's start-up time.
 */
const DOCUMENTATION_ONLY = new Set([
  'definition',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'example',
  'isModifierReason',
  'text',
  'purpose',
  'copyright',
  'differential',
  'contact',
]);

export function slimDefinitions(bundle: Bundle): Bundle {
  return strip(bundle) as Bundle;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(strip);
  }
  if (value !== null && typeof value === 'object') {
    const kept: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (!DOCUMENTATION_ONLY.has(key)) {
        kept[key] = strip(child);
      }
    }
    return kept;
  }
  return value;
}

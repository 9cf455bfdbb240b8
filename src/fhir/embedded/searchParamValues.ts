import type { TypedValue } from '@medplum/core';
import { evalFhirPathTyped, getSearchParameterDetails, toTypedValue } from '@medplum/core';
import type { Reference, Resource, SearchParameter } from '@medplum/fhirtypes';

/** Reads the values a search parameter indexes from a resource of one type. */
export type SearchValueReader = (resource: Resource) => TypedValue[];

const SIMPLE_PATH = /^(\w+)((?:\.\w+)+)$/;
const RESOLVE_IS = /^(\w+)((?:\.\w+)+)\.where\(\(resolve\(\) is (\w+)\)\)$/;

/**
 * Builds a reader for one (resource type, search parameter). Evaluating FHIRPath costs about
 * 5–12 µs per expression once several run interleaved, which made indexing dominate the
 * cost of a write; but most indexed parameters are a plain path (`Observation.meta.tag`) or a plain
 * path filtered by `.where(resolve() is Patient)`. Those two shapes are read directly, with
 * the same result as @medplum/core's evaluator; any other expression is evaluated as FHIRPath.
 */
export function compileSearchValueReader(resourceType: string, searchParam: SearchParameter): SearchValueReader {
  const details = getSearchParameterDetails(resourceType, searchParam);
  const atom = details.parsedExpression;
  const evaluate: SearchValueReader = (resource) => evalFhirPathTyped(atom, [toTypedValue(resource)]);
  const text = atom.toString();

  const resolveIs = RESOLVE_IS.exec(text);
  if (resolveIs?.[1] === resourceType && resolveIs[2] && resolveIs[3]) {
    const path = resolveIs[2].slice(1).split('.');
    const targetType = resolveIs[3];
    return (resource) =>
      walk(resource, path)
        .filter((value) => resolvedType(value) === targetType)
        .map((value) => ({ type: 'Reference', value }));
  }

  const simple = SIMPLE_PATH.exec(text);
  const elementTypes = details.elementDefinitions?.length === 1 ? details.elementDefinitions[0]?.type : undefined;
  const elementType = elementTypes?.length === 1 ? elementTypes[0]?.code : undefined;
  if (simple?.[1] === resourceType && simple[2] && elementType) {
    const path = simple[2].slice(1).split('.');
    return (resource) => walk(resource, path).map((value) => ({ type: elementType, value }));
  }
  return evaluate;
}

/** Property access as FHIRPath does it: arrays are flattened, absent and null values dropped. */
function walk(root: unknown, path: readonly string[]): unknown[] {
  let current: unknown[] = [root];
  for (const key of path) {
    const next: unknown[] = [];
    for (const value of current) {
      const child = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      if (Array.isArray(child)) {
        for (const item of child) {
          if (item !== undefined && item !== null) {
            next.push(item);
          }
        }
      } else if (child !== undefined && child !== null) {
        next.push(child);
      }
    }
    current = next;
  }
  return current;
}

/** The resource type FHIRPath's `resolve()` gives a reference (see @medplum/core fhirpath/functions.ts). */
function resolvedType(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return typeFromReferenceString(value);
  }
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const reference = value as Reference;
  if (reference.resource) {
    return reference.resource.resourceType;
  }
  if (reference.reference) {
    return typeFromReferenceString(reference.reference);
  }
  if (reference.type && reference.identifier) {
    return reference.type;
  }
  return undefined;
}

function typeFromReferenceString(reference: string): string | undefined {
  if (reference.includes('?')) {
    return reference.split('?')[0];
  }
  return reference.includes('/') ? reference.split('/')[0] : undefined;
}

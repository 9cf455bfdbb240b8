import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issuesFromAjvErrors } from './issues';
import { MAX_NESTING_DEPTH, MAX_VALUES_FOR_FULL_REPORT, measureJson } from './jsonShape';
import { loadCompiledValidators } from './compiledValidators';
import { compileResourceValidators, type ResourceValidators } from './validators';

/** Structural problems of one resource; an empty array means structurally valid. */
export type StructureCheck = (resource: unknown) => OperationOutcomeIssue[];

/**
 * The check for `resourceTypes`: with the validators `npm run build` compiled for this set
 * when there are (compiledValidators.ts; tens of milliseconds to load), else compiled now
 * (0.15-0.3 s, plus a one-off 0.6-0.9 s to index the StructureDefinitions). Call at
 * start-up, never per request. The check never throws on any JSON value, and its cost
 * stays linear in the size of the input.
 */
export function createStructureCheck(resourceTypes: string[]): StructureCheck {
  if (resourceTypes.length === 0) {
    throw new Error('A structure check needs at least one resource type');
  }
  return structureCheckWith(resourceTypes, loadCompiledValidators(resourceTypes) ?? compileResourceValidators(resourceTypes));
}

/** The check around given validators; the differential test runs both kinds through it. */
export function structureCheckWith(resourceTypes: readonly string[], validators: ReadonlyMap<string, ResourceValidators>): StructureCheck {
  const accepted = [...resourceTypes];
  return (resource) => {
    const typeIssues = checkResourceTypeIn(resource, accepted);
    if (typeIssues.length > 0) {
      return typeIssues;
    }
    const { resourceType } = resource as { resourceType: string };
    const pair = validators.get(resourceType);
    if (!pair) {
      throw new Error(`No validator for ${resourceType}`);
    }
    const shape = measureJson(resource);
    if (shape.tooDeep) {
      return [tooDeep()];
    }
    const huge = shape.values > MAX_VALUES_FOR_FULL_REPORT;
    const validate = huge ? pair.stopAtFirst : pair.listAll;
    try {
      if (validate(resource)) {
        return [];
      }
    } catch (error) {
      // Backstop for the depth limit: the caller may already be deep in its own stack.
      if (error instanceof RangeError) {
        return [tooDeep()];
      }
      throw error;
    }
    const issues = issuesFromAjvErrors(resourceType, resource, validate.errors ?? []);
    return huge ? [...issues, onlyFirstProblemListed()] : issues;
  };
}

/**
 * Whether `body` is a JSON object claiming to be a `resourceType`. Issues here usually
 * mean the request is not what the endpoint takes at all (HTTP 400); the caller decides.
 */
export function checkIsResourceOfType(body: unknown, resourceType: string): OperationOutcomeIssue[] {
  return checkResourceTypeIn(body, [resourceType]);
}

function checkResourceTypeIn(body: unknown, accepted: readonly string[]): OperationOutcomeIssue[] {
  const wanted = accepted.join(' or ');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [issue('structure', `Expected a JSON object holding a FHIR ${wanted} resource`)];
  }
  if (!Object.hasOwn(body, 'resourceType')) {
    return [issue('required', `Missing resourceType: expected ${wanted}`, 'resourceType')];
  }
  const found: unknown = (body as { resourceType: unknown }).resourceType;
  if (typeof found !== 'string') {
    return [issue('structure', `resourceType must be a string: expected ${wanted}`, 'resourceType')];
  }
  if (!accepted.includes(found)) {
    // The value is echoed only when it looks like a type name, never arbitrary client text.
    const shown = /^[A-Z][A-Za-z]{0,63}$/.test(found) ? found : 'another value';
    return [issue('structure', `Expected resourceType ${wanted}, found ${shown}`, 'resourceType')];
  }
  return [];
}

function onlyFirstProblemListed(): OperationOutcomeIssue {
  return issue('structure', `Only the first problem is listed: the resource has more than ${MAX_VALUES_FOR_FULL_REPORT} JSON values`);
}

function tooDeep(): OperationOutcomeIssue {
  return issue('structure', `Content is nested more than ${MAX_NESTING_DEPTH} levels deep`);
}

function issue(code: OperationOutcomeIssue['code'], text: string, expression?: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code,
    details: { text },
    ...(expression === undefined ? {} : { expression: [expression] }),
  };
}

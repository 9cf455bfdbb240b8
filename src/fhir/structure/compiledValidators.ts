import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import type { ResourceValidators } from './validators';

/**
 * Where `npm run build` writes the validators compiled at build time
 * (generateStructureValidators.ts): next to this module in dist/. Running from the
 * TypeScript sources (tests, ts-node) there is none, and the check is compiled at start-up.
 */
export const COMPILED_VALIDATORS_FILE = join(__dirname, 'generated', 'structureValidators.js');

/**
 * The resource types the service's own checks are compiled for at build time: the sets that
 * createStructureCheck is called with in src/ (the service, `hip-triage validate` and
 * `triage`). Any other set is compiled at run time, as before.
 */
export const BUILD_TIME_TYPE_SETS: ReadonlyArray<readonly string[]> = [['QuestionnaireResponse']];

/** Names a type set in the generated module: the validators of one set differ from another's (contained resources). */
export function typeSetKey(resourceTypes: readonly string[]): string {
  return resourceTypes.join('+');
}

/** `exports[...]` names of one set's two validators. */
export function exportNames(resourceTypes: readonly string[], resourceType: string): { listAll: string; stopAtFirst: string } {
  const key = `${typeSetKey(resourceTypes)}:${resourceType}`;
  return { listAll: `listAll:${key}`, stopAtFirst: `stopAtFirst:${key}` };
}

type CompiledModule = Record<string, ValidateFunction | undefined>;

/**
 * The build-time validators of exactly this set of resource types, or undefined when the
 * build has none for it (another set, or no generated module): the caller then compiles
 * them at run time. Loading them takes tens of milliseconds where compiling took hundreds,
 * and needs no FHIR definitions indexed.
 */
export function loadCompiledValidators(resourceTypes: readonly string[], file: string = COMPILED_VALIDATORS_FILE): Map<string, ResourceValidators> | undefined {
  const compiled = requireIfPresent(file);
  if (!compiled) {
    return undefined;
  }
  const validators = new Map<string, ResourceValidators>();
  for (const resourceType of resourceTypes) {
    const names = exportNames(resourceTypes, resourceType);
    const listAll = compiled[names.listAll];
    const stopAtFirst = compiled[names.stopAtFirst];
    if (typeof listAll !== 'function' || typeof stopAtFirst !== 'function') {
      return undefined;
    }
    validators.set(resourceType, { listAll, stopAtFirst });
  }
  return validators;
}

function requireIfPresent(file: string): CompiledModule | undefined {
  try {
    // A runtime path on purpose: the module exists only in a build.
    return require(file) as CompiledModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(file)) {
      return undefined;
    }
    throw error;
  }
}

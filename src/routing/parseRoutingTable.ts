import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import routingSchema from '../../config/routing.schema.json';
import type { AgeBand, DispositionRouting, DueRule, Route, RoutingTable } from './routingTable';

/** Checks a JSON value against the routing schema; returns every problem found (empty when valid). */
export type SchemaValidator = (json: unknown) => readonly string[];

// The JSON shapes the schema admits; only parseRoutingTable reads them.
interface RouteJson extends Omit<Route, 'label' | 'safetyNet'> {
  readonly safetyNet?: Route['safetyNet'];
}
interface DispositionRoutingJson {
  readonly route: RouteJson;
  readonly ageBands?: readonly { readonly under: number; readonly route: RouteJson }[];
}
interface RoutingTableJson {
  readonly version: string;
  readonly selfCare: { readonly reviewDays: number };
  readonly dispositions: Readonly<Record<string, DispositionRoutingJson>>;
  readonly additionalReferrals: Readonly<Record<string, { readonly route: RouteJson }>>;
}

let compiledDefault: SchemaValidator | undefined;

/**
 * Where the build (`npm run build`, generateStructureValidators) writes the routing schema's
 * validator as ajv standalone code, beside this module in dist/; absent under ts-jest.
 */
export const ROUTING_VALIDATOR_FILE = `${__dirname}/generated/routingSchemaValidator.js`;

const ROUTING_AJV_OPTIONS = { allErrors: true } as const;

/** The validator for config/routing.schema.json, as standalone code (a CommonJS module exporting it). */
export function routingSchemaCode(): string {
  const ajv = new Ajv({ ...ROUTING_AJV_OPTIONS, code: { source: true } });
  return standaloneCode(ajv, ajv.compile(routingSchema));
}

/** The validator for config/routing.schema.json: the one the build wrote when there is one, else compiled once. */
export function routingSchemaValidator(): SchemaValidator {
  if (!compiledDefault) {
    const validate = builtRoutingValidator() ?? new Ajv(ROUTING_AJV_OPTIONS).compile(routingSchema);
    compiledDefault = (json) =>
      validate(json)
        ? []
        : (validate.errors ?? [])
            // An "if/then" failure is always accompanied by the error inside "then", which says more.
            .filter((error) => error.keyword !== 'if')
            .map(describeSchemaError);
  }
  return compiledDefault;
}

/** The build's validator; undefined when there is none (tests under ts-jest), so the schema is compiled as before. */
export function builtRoutingValidator(file: string = ROUTING_VALIDATOR_FILE): ValidateFunction | undefined {
  try {
    // A runtime path on purpose: the module exists only in a build.
    return require(file) as ValidateFunction;
  } catch (error) {
    // Only the module itself missing; one it requires missing (a broken build) is an error.
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.startsWith(`Cannot find module '${file}'`)) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Validates a routing table (config/routing.json, already parsed from JSON) and returns
 * it typed. Throws an Error naming every problem: the schema's complaints with their
 * JSON pointer, then the checks a schema cannot express (age bands in order). Whether
 * the table is urgent enough is a separate, clinical check: checkRoutingNotLessUrgent.
 */
export function parseRoutingTable(json: unknown, schemaValidator: SchemaValidator = routingSchemaValidator()): RoutingTable {
  const schemaProblems = schemaValidator(json);
  if (schemaProblems.length > 0) {
    throw new Error(`The routing table is invalid: ${schemaProblems.join('; ')}.`);
  }
  const table = json as RoutingTableJson;
  const problems: string[] = [];
  const dispositions = new Map<string, DispositionRouting>();
  for (const [code, entry] of Object.entries(table.dispositions)) {
    dispositions.set(code, readDispositionRouting(code, entry, problems));
  }
  const additionalReferrals = new Map<string, Route>();
  for (const [service, entry] of Object.entries(table.additionalReferrals)) {
    additionalReferrals.set(service, readRoute(service, entry.route, problems));
  }
  if (problems.length > 0) {
    throw new Error(`The routing table is invalid: ${problems.join('; ')}.`);
  }
  return { version: table.version, selfCare: { reviewDays: table.selfCare.reviewDays }, dispositions, additionalReferrals };
}

function readDispositionRouting(code: string, entry: DispositionRoutingJson, problems: string[]): DispositionRouting {
  const ageBands: AgeBand[] = (entry.ageBands ?? []).map((band) => ({
    under: band.under,
    route: readRoute(`${code} (under ${band.under})`, band.route, problems),
  }));
  ageBands.forEach((band, i) => {
    const previous = ageBands[i - 1];
    if (previous && previous.under >= band.under) {
      // Bands are matched first-to-last, so an out-of-order band would never apply.
      problems.push(`/dispositions/${code}/ageBands/${i}/under must be greater than the band before it (${previous.under})`);
    }
  });
  return { route: readRoute(code, entry.route, problems), ageBands };
}

function readRoute(label: string, json: RouteJson, problems: string[]): Route {
  const dueRules: DueRule[] = [json.due, ...(json.safetyNet ? [json.safetyNet.due] : [])];
  for (const rule of dueRules) {
    if (rule.kind === 'end-of-day-or-hours' && rule.hours > 24) {
      // Beyond a day the end of today never wins: the author meant `hours`.
      problems.push(`${label}: an end-of-day-or-hours rule of ${rule.hours} hours is never the end of the day; use kind "hours"`);
    }
  }
  return {
    label,
    healthcareService: json.healthcareService,
    organization: json.organization,
    priority: json.priority,
    performerType: json.performerType,
    code: json.code,
    owner: json.owner,
    due: json.due,
    safetyNet: json.safetyNet,
  };
}

function describeSchemaError(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(the table)' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  if (typeof params.additionalProperty === 'string') {
    return `${where} has an unknown property '${String(params.additionalProperty)}'`;
  }
  if (Array.isArray(params.allowedValues)) {
    return `${where} ${error.message ?? 'is invalid'} (${params.allowedValues.map(String).join(', ')})`;
  }
  if (error.keyword === 'not' && error.schemaPath.includes('dueRule')) {
    return `${where} has a number that its kind does not take (now takes none, hours and end-of-day-or-hours take hours, days takes days)`;
  }
  return `${where} ${error.message ?? 'is invalid'}`;
}

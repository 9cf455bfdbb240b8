import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthcareService, Resource } from '@medplum/fhirtypes';
import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import type { Route } from '../../src/routing/routingTable';
import { type RoutingJson, routingJson } from './routingTestTables';

describe('parseRoutingTable', () => {
  test('accepts the shipped table and types it', () => {
    const table = parseRoutingTable(routingJson());
    expect(table.version).toBe('1.0.0');
    expect([...table.dispositions.keys()].sort()).toEqual(['emergency', 'gp', 'physio', 'urgent']);
    expect(table.dispositions.get('gp')?.ageBands.map((b) => [b.under, b.route.label])).toEqual([[16, 'gp (under 16)']]);
    expect(table.additionalReferrals.get('occupational-therapy')?.label).toBe('occupational-therapy');
    expect(table.selfCare.reviewDays).toBe(14);
  });

  const malformed: { name: string; change: (t: RoutingJson) => unknown; message: RegExp }[] = [
    { name: 'not an object', change: () => 'routing', message: /\(the table\) must be object/ },
    { name: 'a missing disposition', change: (t) => void delete t.dispositions.physio, message: /\/dispositions must have required property 'physio'/ },
    {
      name: 'self-care given a referral',
      change: (t) => void (t.dispositions['self-care'] = t.dispositions.physio),
      message: /\/dispositions has an unknown property 'self-care'/,
    },
    {
      name: 'an unknown priority',
      change: (t) => void (t.dispositions.gp.route.priority = 'soon'),
      message: /\/dispositions\/gp\/route\/priority must be equal to one of the allowed values \(routine, urgent, asap, stat\)/,
    },
    {
      name: 'an unknown due kind',
      change: (t) => void (t.dispositions.physio.route.due = { kind: 'weeks', weeks: 6 }),
      message: /\/dispositions\/physio\/route\/due/,
    },
    {
      name: 'hours missing from an hours rule',
      change: (t) => void (t.dispositions.urgent.route.due = { kind: 'end-of-day-or-hours' }),
      message: /\/dispositions\/urgent\/route\/due must have required property 'hours'/,
    },
    {
      name: 'a number on a "now" rule',
      change: (t) => void (t.dispositions.emergency.route.due = { kind: 'now', hours: 2 }),
      message: /\/dispositions\/emergency\/route\/due has a number that its kind does not take/,
    },
    {
      name: 'a negative number of days',
      change: (t) => void (t.dispositions.gp.route.due = { kind: 'days', days: -1 }),
      message: /\/dispositions\/gp\/route\/due\/days must be >= 0/,
    },
    {
      name: 'the patient as Task owner',
      change: (t) => void (t.dispositions.gp.route.owner = { reference: 'Patient/x', display: 'the patient' }),
      message: /\/dispositions\/gp\/route\/owner\/reference must match pattern/,
    },
    {
      name: 'a service that is not a HealthcareService',
      change: (t) => void (t.dispositions.gp.route.healthcareService.reference = 'Organization/hip-triage-gp-practice'),
      message: /\/dispositions\/gp\/route\/healthcareService\/reference must match pattern/,
    },
    {
      name: 'a service without an identifier',
      change: (t) => void delete t.dispositions.physio.route.healthcareService.identifier,
      message: /\/dispositions\/physio\/route\/healthcareService must have required property 'identifier'/,
    },
    {
      name: 'a code with neither coding nor text',
      change: (t) => void (t.dispositions.physio.route.code = {}),
      message: /\/dispositions\/physio\/route\/code must have required property 'coding'/,
    },
    {
      name: 'a misspelt property',
      change: (t) => void (t.dispositions.physio.route.prority = 'routine'),
      message: /\/dispositions\/physio\/route has an unknown property 'prority'/,
    },
    {
      name: 'no occupational therapy route',
      change: (t) => void delete t.additionalReferrals['occupational-therapy'],
      message: /\/additionalReferrals must have required property 'occupational-therapy'/,
    },
    { name: 'a zero-day self-care review', change: (t) => void (t.selfCare.reviewDays = 0), message: /\/selfCare\/reviewDays must be >= 1/ },
    {
      name: 'age bands out of order',
      change: (t) => void t.dispositions.gp.ageBands.push({ under: 5, route: t.dispositions.gp.ageBands[0].route }),
      message: /\/dispositions\/gp\/ageBands\/1\/under must be greater than the band before it \(16\)/,
    },
    {
      name: 'an end-of-day rule that can never be the end of the day',
      change: (t) => void (t.dispositions.urgent.route.due = { kind: 'end-of-day-or-hours', hours: 30 }),
      message: /urgent: an end-of-day-or-hours rule of 30 hours is never the end of the day/,
    },
  ];

  test.each(malformed)('refuses $name, naming the problem', ({ change, message }) => {
    const table = routingJson();
    const replaced = change(table);
    expect(() => parseRoutingTable(replaced === undefined ? table : replaced)).toThrow(message);
  });

  test('lists every problem, not only the first', () => {
    const table = routingJson();
    table.dispositions.gp.route.priority = 'soon';
    delete table.dispositions.physio;
    expect(() => parseRoutingTable(table)).toThrow(/physio.*priority|priority.*physio/);
  });

  test('uses the schema validator it is given', () => {
    expect(() => parseRoutingTable(routingJson(), () => ['/version is not approved'])).toThrow('The routing table is invalid: /version is not approved.');
  });
});

describe('the shipped routing table and the shipped services agree', () => {
  const resources = readdirSync(join(__dirname, '..', '..', 'fhir-resources'))
    .filter((n) => /^(HealthcareService|Organization)-.*\.json$/.test(n))
    .map((n) => JSON.parse(readFileSync(join(__dirname, '..', '..', 'fhir-resources', n), 'utf8')) as Resource);
  const byReference = new Map(resources.map((r) => [`${r.resourceType}/${r.id ?? ''}`, r]));
  const table = parseRoutingTable(routingJson());
  const routes: Route[] = [
    ...[...table.dispositions.values()].flatMap((d) => [d.route, ...d.ageBands.map((b) => b.route)]),
    ...table.additionalReferrals.values(),
  ];

  test.each(routes.map((route) => ({ label: route.label, route })))('$label points at shipped resources', ({ route }) => {
    const service = byReference.get(route.healthcareService.reference ?? '') as HealthcareService | undefined;
    expect(service?.resourceType).toBe('HealthcareService');
    // The identifier is how push-content and external servers find the service again.
    expect(service?.identifier).toContainEqual(route.healthcareService.identifier);
    expect(service?.providedBy?.reference).toBe(route.organization.reference);
    expect(byReference.get(route.organization.reference ?? '')?.resourceType).toBe('Organization');
    for (const owner of [route.owner, ...(route.safetyNet ? [route.safetyNet.owner] : [])]) {
      expect(byReference.has(owner.reference ?? '')).toBe(true);
    }
  });

  test('every shipped service and organisation has a stable identifier in the service namespace', () => {
    for (const resource of resources) {
      const identifiers = (resource as HealthcareService).identifier ?? [];
      const system =
        resource.resourceType === 'HealthcareService'
          ? 'https://fhir.hip-triage.example.org/sid/service'
          : 'https://fhir.hip-triage.example.org/sid/organization';
      expect(identifiers.filter((i) => i.system === system && i.value)).toHaveLength(1);
    }
  });
});

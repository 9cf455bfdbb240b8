import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import { routeDisposition } from '../../src/routing/routeDisposition';
import { routingJson } from './routingTestTables';

describe('routeDisposition (shipped table)', () => {
  const table = parseRoutingTable(routingJson());
  const cases: { query: Parameters<typeof routeDisposition>[1]; service: string | undefined; priority?: string; due?: unknown; safetyNet?: boolean }[] = [
    { query: { disposition: 'self-care', youngestAge: 40 }, service: undefined },
    { query: { disposition: 'self-care', youngestAge: 5 }, service: undefined },
    {
      query: { disposition: 'emergency', youngestAge: 78 },
      service: 'HealthcareService/hip-triage-emergency-department',
      priority: 'stat',
      due: { kind: 'now' },
      safetyNet: true,
    },
    {
      query: { disposition: 'urgent', youngestAge: 1 },
      service: 'HealthcareService/hip-triage-urgent-care',
      priority: 'asap',
      due: { kind: 'end-of-day-or-hours', hours: 4 },
      safetyNet: true,
    },
    {
      query: { disposition: 'gp', youngestAge: 40 },
      service: 'HealthcareService/hip-triage-gp-practice',
      priority: 'routine',
      due: { kind: 'days', days: 14 },
      safetyNet: false,
    },
    {
      query: { disposition: 'gp', youngestAge: 15 },
      service: 'HealthcareService/hip-triage-paediatric-service',
      priority: 'urgent',
      due: { kind: 'hours', hours: 48 },
      safetyNet: false,
    },
    { query: { disposition: 'gp', youngestAge: 16 }, service: 'HealthcareService/hip-triage-gp-practice', priority: 'routine' },
    {
      query: { disposition: 'physio', youngestAge: 40 },
      service: 'HealthcareService/hip-triage-msk-physiotherapy',
      priority: 'routine',
      due: { kind: 'days', days: 42 },
    },
    {
      query: { disposition: 'physio', youngestAge: 40, additionalReferral: 'occupational-therapy' },
      service: 'HealthcareService/hip-triage-occupational-therapy',
      priority: 'routine',
      due: { kind: 'days', days: 42 },
    },
    { query: { disposition: 'gp', youngestAge: 40, additionalReferral: 'speech-therapy' }, service: undefined },
  ];
  test.each(cases)('$query.disposition, age $query.youngestAge, $query.additionalReferral', ({ query, service, priority, due, safetyNet }) => {
    const route = routeDisposition(table, query);
    expect(route?.healthcareService.reference).toBe(service);
    if (priority) {
      expect(route?.priority).toBe(priority);
    }
    if (due) {
      expect(route?.due).toEqual(due);
    }
    if (safetyNet !== undefined) {
      expect(route?.safetyNet?.owner.reference).toBe(safetyNet ? 'HealthcareService/hip-triage-duty-clinician' : undefined);
    }
  });
});

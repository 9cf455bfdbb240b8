import { checkRoutingNotLessUrgent, isNeverLaterThan } from '../../src/routing/checkRoutingNotLessUrgent';
import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import type { DueRule } from '../../src/routing/routingTable';
import { type RoutingJson, routingJson } from './routingTestTables';

function check(change: (t: RoutingJson) => void): () => void {
  const json = routingJson();
  change(json);
  const table = parseRoutingTable(json);
  return () => checkRoutingNotLessUrgent(table);
}

describe('checkRoutingNotLessUrgent', () => {
  test('accepts the shipped table', () => {
    expect(check(() => undefined)).not.toThrow();
  });

  const lessUrgent: { name: string; change: (t: RoutingJson) => void; names: RegExp }[] = [
    {
      name: 'emergency at asap',
      change: (t) => void (t.dispositions.emergency.route.priority = 'asap'),
      names: /emergency: priority asap is less urgent than the contract's stat/,
    },
    {
      name: 'emergency due in an hour',
      change: (t) => void (t.dispositions.emergency.route.due = { kind: 'hours', hours: 1 }),
      names: /emergency: due within 1 hour can be later than the contract's now/,
    },
    { name: 'emergency without a safety net', change: (t) => void delete t.dispositions.emergency.route.safetyNet, names: /emergency: no safety-net owner/ },
    {
      name: 'urgent safety net due tomorrow',
      change: (t) => void (t.dispositions.urgent.route.safetyNet.due = { kind: 'days', days: 1 }),
      names: /urgent: the safety net is due within 1 day/,
    },
    {
      name: 'urgent due in 24 hours (later than the end of today)',
      change: (t) => void (t.dispositions.urgent.route.due = { kind: 'hours', hours: 24 }),
      names: /urgent: due within 24 hours can be later/,
    },
    {
      name: 'urgent due tomorrow',
      change: (t) => void (t.dispositions.urgent.route.due = { kind: 'days', days: 1 }),
      names: /urgent: due within 1 day can be later/,
    },
    {
      name: 'urgent at end of day or 6 hours',
      change: (t) => void (t.dispositions.urgent.route.due = { kind: 'end-of-day-or-hours', hours: 6 }),
      names: /urgent: due by the end of today, or within 6 hours/,
    },
    {
      name: 'urgent at routine',
      change: (t) => void (t.dispositions.urgent.route.priority = 'routine'),
      names: /urgent: priority routine is less urgent than the contract's asap/,
    },
    {
      name: 'gp due in 15 days',
      change: (t) => void (t.dispositions.gp.route.due = { kind: 'days', days: 15 }),
      names: /gp: due within 15 days can be later than the contract's within 14 days/,
    },
    {
      name: 'gp due in 2 days for a child (a 49-hour span across the clocks changing)',
      change: (t) => void (t.dispositions.gp.ageBands[0].route.due = { kind: 'days', days: 2 }),
      names: /gp \(under 16\): due within 2 days can be later than the contract's within 48 hours/,
    },
    {
      name: 'a child routed as routine',
      change: (t) => void (t.dispositions.gp.ageBands[0].route.priority = 'routine'),
      names: /gp \(under 16\): priority routine is less urgent than the contract's urgent/,
    },
    {
      name: 'no child band: children get the adult GP route',
      change: (t) => void delete t.dispositions.gp.ageBands,
      names: /gp: priority routine is less urgent than the contract's urgent/,
    },
    {
      name: 'a child band that stops at 12',
      change: (t) => void (t.dispositions.gp.ageBands[0].under = 12),
      names: /gp: priority routine is less urgent than the contract's urgent/,
    },
    {
      name: 'physio due in 7 weeks',
      change: (t) => void (t.dispositions.physio.route.due = { kind: 'days', days: 49 }),
      names: /physio: due within 49 days can be later than the contract's within 42 days/,
    },
    {
      name: 'occupational therapy due in 7 weeks',
      change: (t) => void (t.additionalReferrals['occupational-therapy'].route.due = { kind: 'days', days: 49 }),
      names: /occupational-therapy: due within 49 days/,
    },
    {
      name: 'self-care reviewed after 3 weeks',
      change: (t) => void (t.selfCare.reviewDays = 21),
      names: /self-care: a review after 21 days is later than the contract's 14 days/,
    },
  ];

  test.each(lessUrgent)('refuses $name, naming the disposition', ({ change, names }) => {
    expect(check(change)).toThrow(names);
  });

  test('names the refusal as a contract problem', () => {
    expect(check((t) => void (t.dispositions.physio.route.due = { kind: 'days', days: 43 }))).toThrow(
      /^The routing table is less urgent than the clinical contract: /
    );
  });

  const moreUrgent: { name: string; change: (t: RoutingJson) => void }[] = [
    { name: 'gp within a week', change: (t) => void (t.dispositions.gp.route.due = { kind: 'days', days: 7 }) },
    { name: 'physio at urgent priority', change: (t) => void (t.dispositions.physio.route.priority = 'urgent') },
    { name: 'urgent within 4 hours flat', change: (t) => void (t.dispositions.urgent.route.due = { kind: 'hours', hours: 4 }) },
    { name: 'a child band up to 18', change: (t) => void (t.dispositions.gp.ageBands[0].under = 18) },
    { name: 'a self-care review after a week', change: (t) => void (t.selfCare.reviewDays = 7) },
  ];

  test.each(moreUrgent)('accepts a more urgent table: $name', ({ change }) => {
    expect(check(change)).not.toThrow();
  });
});

describe('isNeverLaterThan', () => {
  const cases: { candidate: DueRule; limit: DueRule; ok: boolean }[] = [
    { candidate: { kind: 'now' }, limit: { kind: 'now' }, ok: true },
    { candidate: { kind: 'hours', hours: 0 }, limit: { kind: 'now' }, ok: true },
    { candidate: { kind: 'hours', hours: 1 }, limit: { kind: 'now' }, ok: false },
    { candidate: { kind: 'hours', hours: 4 }, limit: { kind: 'end-of-day-or-hours', hours: 4 }, ok: true },
    { candidate: { kind: 'hours', hours: 5 }, limit: { kind: 'end-of-day-or-hours', hours: 4 }, ok: false },
    { candidate: { kind: 'end-of-day-or-hours', hours: 4 }, limit: { kind: 'hours', hours: 24 }, ok: false },
    { candidate: { kind: 'end-of-day-or-hours', hours: 4 }, limit: { kind: 'hours', hours: 48 }, ok: true },
    { candidate: { kind: 'end-of-day-or-hours', hours: 4 }, limit: { kind: 'days', days: 14 }, ok: true },
    { candidate: { kind: 'hours', hours: 48 }, limit: { kind: 'days', days: 14 }, ok: true },
    { candidate: { kind: 'days', days: 2 }, limit: { kind: 'hours', hours: 48 }, ok: false },
    { candidate: { kind: 'days', days: 14 }, limit: { kind: 'days', days: 14 }, ok: true },
    { candidate: { kind: 'days', days: 0 }, limit: { kind: 'now' }, ok: true },
  ];
  test.each(cases)('$candidate.kind $candidate.hours$candidate.days within $limit.kind $limit.hours$limit.days: $ok', ({ candidate, limit, ok }) => {
    expect(isNeverLaterThan(candidate, limit)).toBe(ok);
  });
});

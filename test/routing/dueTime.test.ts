import { dueTime } from '../../src/routing/dueTime';
import { type WallClock, wallClockAt } from '../../src/routing/zonedTime';
import type { DueRule } from '../../src/routing/routingTable';

const LONDON = 'Europe/London';

describe('dueTime', () => {
  const cases: { name: string; rule: DueRule; now: string; zone?: string; due: string }[] = [
    { name: 'now is the moment of triage', rule: { kind: 'now' }, now: '2025-06-10T09:17:03.250Z', due: '2025-06-10T09:17:03.250Z' },
    {
      name: '48 hours is elapsed time, even across the clocks going back',
      rule: { kind: 'hours', hours: 48 },
      now: '2025-10-25T12:00:00.000Z',
      due: '2025-10-27T12:00:00.000Z',
    },
    // 10:00 GMT on 20 March is 10:00 BST on 3 April: an hour less of UTC time.
    {
      name: '14 days across the start of BST keeps the wall-clock time',
      rule: { kind: 'days', days: 14 },
      now: '2025-03-20T10:00:00.000Z',
      due: '2025-04-03T09:00:00.000Z',
    },
    {
      name: '14 days across the end of BST keeps the wall-clock time',
      rule: { kind: 'days', days: 14 },
      now: '2025-10-20T09:00:00.000Z',
      due: '2025-11-03T10:00:00.000Z',
    },
    { name: '6 weeks (physio) within BST', rule: { kind: 'days', days: 42 }, now: '2025-06-10T09:00:00.000Z', due: '2025-07-22T09:00:00.000Z' },
    // 01:30 on 30 March 2025 does not exist in London: the clock reads 02:30 BST.
    {
      name: 'a day that lands in the spring-forward gap moves forward by the gap',
      rule: { kind: 'days', days: 1 },
      now: '2025-03-29T01:30:00.000Z',
      due: '2025-03-30T01:30:00.000Z',
    },
    // 01:30 on 26 October 2025 happens twice in London; a deadline takes the earlier one.
    {
      name: 'a day that lands in the repeated hour takes the earlier instant',
      rule: { kind: 'days', days: 1 },
      now: '2025-10-25T00:30:00.000Z',
      due: '2025-10-26T00:30:00.000Z',
    },
    {
      name: 'end of day, in the morning: the end of today (BST)',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-06-10T08:00:00.000Z',
      due: '2025-06-10T22:59:59.000Z',
    },
    {
      name: 'end of day, in winter: the end of today (GMT)',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-01-15T09:00:00.000Z',
      due: '2025-01-15T23:59:59.000Z',
    },
    {
      name: 'end of day, late evening: 4 hours from now is later',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-06-10T20:30:00.000Z',
      due: '2025-06-11T00:30:00.000Z',
    },
    {
      name: 'end of day, near midnight in winter: 4 hours from now',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-01-15T23:30:00.000Z',
      due: '2025-01-16T03:30:00.000Z',
    },
    // 23:30 UTC is 00:30 BST on 11 June: "today" is the 11th in London, not the 10th as in UTC.
    {
      name: 'end of day, just after local midnight in BST: the end of the local day',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-06-10T23:30:00.000Z',
      due: '2025-06-11T22:59:59.000Z',
    },
    {
      name: 'end of day when the clocks go back: a 25-hour day',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-10-26T00:30:00.000Z',
      due: '2025-10-26T23:59:59.000Z',
    },
    {
      name: 'end of day when the clocks go forward: a 23-hour day',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-03-30T00:30:00.000Z',
      due: '2025-03-30T22:59:59.000Z',
    },
    {
      name: 'end of day in another configured zone',
      rule: { kind: 'end-of-day-or-hours', hours: 4 },
      now: '2025-06-10T14:00:00.000Z',
      zone: 'America/New_York',
      due: '2025-06-11T03:59:59.000Z',
    },
  ];

  test.each(cases)('$name', ({ rule, now, zone, due }) => {
    expect(dueTime(rule, new Date(now), zone ?? LONDON).toISOString()).toBe(due);
  });

  test('an unknown time zone is refused, not guessed', () => {
    expect(() => dueTime({ kind: 'days', days: 1 }, new Date('2025-06-10T09:00:00Z'), 'Europe/Atlantis')).toThrow(RangeError);
  });
});

/** The wall clock straight from Intl, as zonedTime read it before it kept offsets per minute. */
function formattedWall(instant: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: part('year'),
    month: part('month'),
    day: part('day'),
    hour: part('hour'),
    minute: part('minute'),
    second: part('second'),
    millisecond: instant.getUTCMilliseconds(),
  };
}

describe('the offset kept per minute', () => {
  // Around London's spring-forward and fall-back instants, Lord Howe's half-hour change, and a
  // minute boundary, every 7.5 s: asked twice, so the second answer comes from what was kept.
  const around: [string, string][] = [
    [LONDON, '2025-03-30T01:00:00.000Z'],
    [LONDON, '2025-10-26T01:00:00.000Z'],
    ['Australia/Lord_Howe', '2025-04-05T15:00:00.000Z'],
    ['Asia/Kolkata', '2025-06-10T09:17:00.000Z'],
  ];
  test.each(around)('%s around %s: the wall clock and the due times agree with Intl read afresh', (zone, change) => {
    for (let step = -16; step <= 16; step++) {
      const now = new Date(new Date(change).getTime() + step * 7_500 + 250);
      for (let ask = 0; ask < 2; ask++) {
        expect(wallClockAt(now, zone)).toEqual(formattedWall(now, zone));
      }
      const due = dueTime({ kind: 'days', days: 1 }, now, zone);
      const wallNow = formattedWall(now, zone);
      const wallDue = formattedWall(due, zone);
      expect(
        [wallDue.hour, wallDue.minute, wallDue.second].join(':') === [wallNow.hour, wallNow.minute, wallNow.second].join(':') || due.getTime() > now.getTime()
      ).toBe(true);
      const endOfDay = formattedWall(dueTime({ kind: 'end-of-day-or-hours', hours: 0 }, now, zone), zone);
      expect([endOfDay.day, endOfDay.hour, endOfDay.minute, endOfDay.second]).toEqual([wallNow.day, 23, 59, 59]);
    }
  });

  test('a triage a minute later gets a due time a minute later', () => {
    const first = new Date('2025-06-10T09:17:59.900Z');
    const second = new Date('2025-06-10T09:18:59.900Z');
    expect(dueTime({ kind: 'days', days: 42 }, second, LONDON).getTime() - dueTime({ kind: 'days', days: 42 }, first, LONDON).getTime()).toBe(60_000);
  });
});

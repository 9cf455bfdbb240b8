import type { DueRule } from './routingTable';
import { addCalendarDays, endOfLocalDay } from './zonedTime';

const HOUR_MS = 3600 * 1000;

/**
 * The instant a due rule names, for a triage made at `now`. Pure: the clock and the
 * clinical time zone are inputs, so the same triage always gets the same deadline.
 */
export function dueTime(rule: DueRule, now: Date, timeZone: string): Date {
  switch (rule.kind) {
    case 'now':
      return new Date(now.getTime());
    case 'hours':
      return new Date(now.getTime() + rule.hours * HOUR_MS);
    case 'days':
      return addCalendarDays(now, rule.days, timeZone);
    case 'end-of-day-or-hours': {
      const endOfDay = endOfLocalDay(now, timeZone).getTime();
      return new Date(Math.max(endOfDay, now.getTime() + rule.hours * HOUR_MS));
    }
  }
}

/** The rule in words, for Task descriptions and error messages. */
export function describeDueRule(rule: DueRule): string {
  switch (rule.kind) {
    case 'now':
      return 'now';
    case 'hours':
      return `within ${plural(rule.hours, 'hour')}`;
    case 'days':
      return `within ${plural(rule.days, 'day')}`;
    case 'end-of-day-or-hours':
      return `by the end of today, or within ${plural(rule.hours, 'hour')} if that is later`;
  }
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

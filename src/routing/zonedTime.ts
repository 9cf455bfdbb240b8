/**
 * Wall-clock arithmetic in an IANA time zone using only Intl, so the service needs no
 * time-zone library and follows whatever tz data the Node runtime ships.
 */

export interface WallClock {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // en-US with h23 gives numeric parts and never "24" for midnight.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in `timeZone` at an instant. Throws a RangeError for an unknown zone. */
export function wallClockAt(instant: Date, timeZone: string): WallClock {
  const ms = instant.getTime();
  const offset = minuteOffset(ms, timeZone);
  if (offset === undefined) {
    return formattedWallClock(instant, timeZone);
  }
  const wall = new Date(ms + offset);
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    millisecond: wall.getUTCMilliseconds(),
  };
}

/**
 * Intl's formatToParts is most of a due time's cost, and every triage in the same minute asks
 * about the same few minutes (now, a day either side, the target day). So the zone's offset is
 * kept per (zone, UTC minute), and only for a minute whose first and last millisecond have the
 * same offset: a minute with an offset change in it (none in today's tz data, possible in the
 * old local-mean-time rules) is formatted every time. Correct whatever the clock does.
 */
const OFFSETS_KEPT = 4096;
const minuteOffsets = new Map<string, number | null>();

function minuteOffset(ms: number, timeZone: string): number | undefined {
  if (!Number.isFinite(ms)) {
    return undefined;
  }
  const start = Math.floor(ms / 60_000) * 60_000;
  const key = `${timeZone}|${start}`;
  let offset = minuteOffsets.get(key);
  if (offset === undefined) {
    const first = formattedOffset(start, timeZone);
    offset = first === formattedOffset(start + 59_999, timeZone) ? first : null;
    if (minuteOffsets.size >= OFFSETS_KEPT) {
      minuteOffsets.clear();
    }
    minuteOffsets.set(key, offset);
  }
  return offset ?? undefined;
}

function formattedOffset(ms: number, timeZone: string): number {
  return wallAsUtcMs(formattedWallClock(new Date(ms), timeZone)) - ms;
}

function formattedWallClock(instant: Date, timeZone: string): WallClock {
  const parts = formatter(timeZone).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
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

function wallAsUtcMs(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
}

/** The zone's offset from UTC at an instant, in milliseconds (positive east of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  return wallAsUtcMs(wallClockAt(new Date(ms), timeZone)) - ms;
}

/**
 * The instant a wall-clock time names in `timeZone`. An ambiguous time (clocks going
 * back) resolves to the earlier instant, the conservative choice for a deadline; a
 * time that does not exist (clocks going forward) moves forward by the gap, as a
 * clock on the wall would show it.
 */
export function instantOfWallClock(wall: WallClock, timeZone: string): Date {
  const asUtc = wallAsUtcMs(wall);
  const dayMs = 24 * 3600 * 1000;
  const offsets = [...new Set([offsetAt(asUtc - dayMs, timeZone), offsetAt(asUtc, timeZone), offsetAt(asUtc + dayMs, timeZone)])];
  const exact = offsets
    .map((offset) => asUtc - offset)
    .filter((ms) => sameWall(ms, wall, timeZone))
    .sort((a, b) => a - b);
  if (exact[0] !== undefined) {
    return new Date(exact[0]);
  }
  // In a gap: interpret with the offset in force before the change.
  return new Date(asUtc - offsetAt(asUtc - dayMs, timeZone));
}

function sameWall(ms: number, wall: WallClock, timeZone: string): boolean {
  const w = wallClockAt(new Date(ms), timeZone);
  return w.year === wall.year && w.month === wall.month && w.day === wall.day && w.hour === wall.hour && w.minute === wall.minute && w.second === wall.second;
}

/** The same wall-clock time `days` calendar days later (days may be 23 or 25 hours long). */
export function addCalendarDays(instant: Date, days: number, timeZone: string): Date {
  const wall = wallClockAt(instant, timeZone);
  const shifted = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + days));
  return instantOfWallClock({ ...wall, year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() }, timeZone);
}

/** The last second of the local calendar day that contains `instant` (23:59:59). */
export function endOfLocalDay(instant: Date, timeZone: string): Date {
  const wall = wallClockAt(instant, timeZone);
  const next = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + 1));
  const startOfTomorrow = instantOfWallClock(
    { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0, millisecond: 0 },
    timeZone
  );
  return new Date(startOfTomorrow.getTime() - 1000);
}

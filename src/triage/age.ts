const FULL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Completed years between a birth date and a calendar date (both `YYYY-MM-DD`),
 * or undefined when the birth date is not a full date: a year or month alone
 * cannot tell which side of a threshold birthday the patient is on.
 * A 29 February birthday counts as reached on 1 March in non-leap years.
 */
export function ageOnDate(birthDate: string, onDate: string): number | undefined {
  const birth = FULL_DATE.exec(birthDate);
  const on = FULL_DATE.exec(onDate);
  if (!birth || !on) {
    return undefined;
  }
  const [by, bm, bd] = [Number(birth[1]), Number(birth[2]), Number(birth[3])];
  const [oy, om, od] = [Number(on[1]), Number(on[2]), Number(on[3])];
  const hadBirthday = om > bm || (om === bm && od >= bd);
  const age = oy - by - (hadBirthday ? 0 : 1);
  return age >= 0 ? age : undefined;
}

/** The calendar date of an instant in a time zone, as `YYYY-MM-DD`. */
export function dateInZone(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/**
 * The local calendar date a response was authored on. A FHIR dateTime carries its
 * own offset, and the date as the patient wrote it is its first ten characters;
 * without `authored` the clinical "today" stands in.
 */
export function authoredDate(authored: string | undefined, now: Date, timeZone: string): string {
  return authored && /^\d{4}-\d{2}-\d{2}/.test(authored) ? authored.slice(0, 10) : dateInZone(now, timeZone);
}

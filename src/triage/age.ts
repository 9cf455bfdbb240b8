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

const PARTIAL_DATE = /^(\d{4})(?:-(\d{2}))?$/;

/**
 * Every age (completed years) a patient with this birth date can have on a calendar date
 * (`YYYY-MM-DD`), youngest first; undefined when none can be worked out (no birth date, a
 * malformed one, or born after the date). A full date gives one age; a year (`YYYY`) or a
 * year and month (`YYYY-MM`) leave the birthday unknown, so the age is one of two values
 * (contract 1.1.0, "Age"): the patient is scored at each, never guessed into one.
 */
export function possibleAges(birthDate: string, onDate: string): number[] | undefined {
  const full = ageOnDate(birthDate, onDate);
  if (full !== undefined) {
    return [full];
  }
  const partial = PARTIAL_DATE.exec(birthDate);
  const on = FULL_DATE.exec(onDate);
  if (!partial || !on) {
    return undefined;
  }
  const by = Number(partial[1]);
  const bm = partial[2] === undefined ? undefined : Number(partial[2]);
  const [oy, om] = [Number(on[1]), Number(on[2])];
  if (bm !== undefined && (bm < 1 || bm > 12)) {
    return undefined;
  }
  // Born in month bm: the birthday has passed if the month has, not yet if it is to come,
  // and either within the month itself. A year alone: either, except in the birth year.
  const reached = bm === undefined ? [false, true] : om > bm ? [true] : om < bm ? [false] : [false, true];
  const ages = [...new Set(reached.map((had) => oy - by - (had ? 0 : 1)))].filter((age) => age >= 0).sort((a, b) => a - b);
  return ages.length > 0 ? ages : undefined;
}

import type { DashboardFigures } from './dashboardFigures';

/**
 * Every figure of the page as one CSV (RFC 4180), one section per table with a `section`
 * column, so a service lead can take it into a spreadsheet. Codes and counts only.
 */
export function dashboardCsv(figures: DashboardFigures, dispositionCodes: readonly string[]): string {
  const rows: (string | number | undefined)[][] = [['section', 'key', 'measure', 'value']];
  rows.push(['range', 'from', 'date', figures.from], ['range', 'to', 'date', figures.to]);
  rows.push(
    ['summary', 'all', 'triages', figures.triages],
    ['summary', 'all', 'red-flag triages', figures.redFlags],
    ['summary', 'all', 'red-flag rate %', figures.redFlagRate]
  );
  for (const week of figures.weeks) {
    for (const code of dispositionCodes) {
      rows.push(['dispositions per week', week.week, code, week.counts[code] ?? 0]);
    }
  }
  for (const q of figures.queues) {
    rows.push(['first staff action', q.queue, 'triages', q.triages], ['first staff action', q.queue, 'acted on', q.acted]);
    rows.push(['first staff action', q.queue, 'median minutes', q.medianMinutes], ['first staff action', q.queue, '90th percentile minutes', q.p90Minutes]);
  }
  for (const [section, list] of [
    ['per rule', figures.rules],
    ['per disposition', figures.dispositions],
  ] as const) {
    for (const r of list) {
      rows.push(
        [section, r.key, 'triages', r.triages],
        [section, r.key, 'reviewed', r.reviewed],
        [section, r.key, 'review rate %', r.reviewRate],
        [section, r.key, 'overridden', r.overridden],
        [section, r.key, 'override rate %', r.overrideRate],
        [section, r.key, 'overridden up', r.up],
        [section, r.key, 'overridden down', r.down],
        [section, r.key, 'CDS coded overrides', r.cdsCodedOverrides]
      );
    }
  }
  return `${rows.map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`;
}

function cell(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  // A leading =, +, - or @ would be a formula in a spreadsheet; none of ours starts so, but keep it that way.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

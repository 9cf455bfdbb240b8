import { type Html, html, staffPage } from '../queue/html';
import type { DashboardFigures, DispositionInfo, RateRow } from './dashboardFigures';

export const DASHBOARD_PATH = '/queue/dashboard';
export const DASHBOARD_STYLESHEET_PATH = '/queue/dashboard.css';

/** Fills of the stacked bars, matching the `.d-<code>` swatches of the key (dashboardStyles.ts). */
const FILL: Readonly<Record<string, string>> = { emergency: '#8b1a1a', urgent: '#b54708', gp: '#1d4ed8', physio: '#0f766e', 'self-care': '#6b7280' };

export interface DashboardPageOptions {
  readonly figures: DashboardFigures;
  readonly dispositions: readonly DispositionInfo[];
  readonly truncated: boolean;
  readonly signedInAs: string | undefined;
}

/**
 * The staff dashboard: server-rendered HTML and SVG, no script. Each chart is an `img`
 * with a title and a description for assistive technology, and the same figures follow
 * in a table (caption, `th scope`), so nothing is only a picture.
 */
export function renderDashboardPage(o: DashboardPageOptions): string {
  const { figures } = o;
  const range = `from=${figures.from}&to=${figures.to}`;
  const label = (code: string): string => o.dispositions.find((d) => d.code === code)?.display ?? code;
  return page(
    'Triage dashboard',
    html`<header>
  <h1>Triage dashboard</h1>
  <p class="note">How the ruleset performs: what it decides, how quickly staff act, and where clinicians disagree with it.${o.signedInAs ? ` Signed in as ${o.signedInAs}.` : ''}</p>
</header>
<main id="main">
  <form class="range" method="get" action="${DASHBOARD_PATH}">
    <label for="from">From <input id="from" name="from" type="date" value="${figures.from}" required></label>
    <label for="to">To <input id="to" name="to" type="date" value="${figures.to}" required></label>
    <button type="submit">Show this range</button>
  </form>
  <p class="links"><a href="${DASHBOARD_PATH}.csv?${range}" download>Download every figure as CSV</a><a href="/queue">Work queue</a></p>
  ${o.truncated ? html`<p class="warning" role="alert"><strong>Some records are left out:</strong> a search reached its limit of resources. Choose a shorter range.</p>` : ''}
  <p>${figures.triages} triages from ${figures.from} to ${figures.to}. An override never changes the ruleset by itself: these figures are for the service lead to decide on a change through the ruleset's own review.</p>

  <h2 id="weekly">Dispositions per week</h2>
  ${weeklyChart(figures, o.dispositions)}
  <ul class="key" aria-label="Chart key">${o.dispositions.map((d) => html`<li><span class="swatch d-${d.code}"></span>${d.display}</li>`)}</ul>
  ${table(
    'Dispositions per week (week starting Monday)',
    ['Week', ...o.dispositions.map((d) => d.display), 'All'],
    figures.weeks.map((w) => [w.week, ...o.dispositions.map((d) => w.counts[d.code] ?? 0), w.total])
  )}

  <h2 id="red-flags">Red-flag rate</h2>
  <p>${figures.redFlagRate === undefined ? 'No triages in this range.' : `${figures.redFlagRate}% of triages (${figures.redFlags} of ${figures.triages}) were emergency or urgent.`}</p>

  <h2 id="first-action">Time from triage to first staff action, per queue</h2>
  ${barChart({
    id: 'chart-first-action',
    title: 'Minutes from triage to first staff action, median and 90th percentile, per queue',
    bars: figures.queues.flatMap((q) => [
      {
        label: `${shortQueue(q.label)}: median`,
        value: q.medianMinutes ?? 0,
        text: q.medianMinutes === undefined ? 'no action yet' : `${q.medianMinutes} min`,
      },
      {
        label: `${shortQueue(q.label)}: 90th percentile`,
        value: q.p90Minutes ?? 0,
        text: q.p90Minutes === undefined ? 'no action yet' : `${q.p90Minutes} min`,
      },
    ]),
  })}
  ${table(
    'First staff action (accepting, starting or closing a Task, or a review), per queue',
    ['Queue', 'Triages', 'Acted on', 'Median (minutes)', '90th percentile (minutes)'],
    figures.queues.map((q) => [shortQueue(q.label), q.triages, q.acted, q.medianMinutes ?? 'none yet', q.p90Minutes ?? 'none yet'])
  )}

  <h2 id="per-rule">Review and override rate per rule</h2>
  ${rateChart('chart-rules', 'Override rate per rule', figures.rules, (key) => key)}
  ${rateTable('Reviews and overrides per rule (a triage counts for every rule it fired)', 'Rule', figures.rules, (key) => key)}

  <h2 id="per-disposition">Review and override rate per disposition</h2>
  ${rateChart('chart-dispositions', 'Override rate per disposition', figures.dispositions, label)}
  ${rateTable('Reviews and overrides per disposition the ruleset gave', 'Disposition', figures.dispositions, label)}
</main>`
  );
}

function page(title: string, body: Html): string {
  return staffPage({ title, stylesheet: DASHBOARD_STYLESHEET_PATH, skipTo: 'Skip to the figures', body });
}

export function renderDashboardMessage(title: string, message: string): string {
  return page(title, html`<main id="main"><h1>${title}</h1><p>${message}</p></main>`);
}

function shortQueue(queue: string): string {
  return queue.replace(/^HealthcareService\/(hip-triage-)?/, '');
}

function table(caption: string, headings: readonly string[], rows: readonly (readonly (string | number)[])[]): Html {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="${caption}"><table>
<caption>${caption}</caption>
<thead><tr>${headings.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${
    rows.length === 0
      ? html`<tr><td colspan="${headings.length}">Nothing in this range.</td></tr>`
      : rows.map((row) => html`<tr>${row.map((cell, i) => (i === 0 ? html`<th scope="row">${cell}</th>` : html`<td class="number">${cell}</td>`))}</tr>`)
  }</tbody>
</table></div>`;
}

function rate(value: number | undefined): string {
  return value === undefined ? 'no triages' : `${value}%`;
}

function rateTable(caption: string, heading: string, rows: readonly RateRow[], label: (key: string) => string): Html {
  return table(
    caption,
    [
      heading,
      'Triages',
      'Reviewed',
      'Review rate',
      'Overridden',
      'Override rate',
      'Overridden up (more urgent)',
      'Overridden down (less urgent)',
      'CDS cards overridden with a coded reason',
    ],
    rows.map((r) => [label(r.key), r.triages, r.reviewed, rate(r.reviewRate), r.overridden, rate(r.overrideRate), r.up, r.down, r.cdsCodedOverrides])
  );
}

function rateChart(id: string, title: string, rows: readonly RateRow[], label: (key: string) => string): Html {
  return barChart({
    id,
    title,
    max: 100,
    bars: rows.map((r) => ({
      label: label(r.key),
      value: r.overrideRate ?? 0,
      text: r.overrideRate === undefined ? 'no triages' : `${r.overrideRate}% (${r.overridden} of ${r.triages}; ${r.up} up, ${r.down} down)`,
    })),
  });
}

interface Bar {
  readonly label: string;
  readonly value: number;
  readonly text: string;
}

/** Horizontal bars, each with its label on the line above and its value in words after it: readable without colour. */
function barChart(o: { id: string; title: string; bars: readonly Bar[]; max?: number }): Html {
  const barArea = 360;
  const rowHeight = 44;
  const width = barArea + 320;
  const height = Math.max(1, o.bars.length) * rowHeight + 4;
  const max = o.max ?? Math.max(1, ...o.bars.map((b) => b.value));
  const description = o.bars.length === 0 ? 'No data in this range.' : o.bars.map((b) => `${b.label}: ${b.text}`).join('; ');
  return html`<svg role="img" aria-labelledby="${o.id}-title ${o.id}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<title id="${o.id}-title">${o.title}</title>
<desc id="${o.id}-desc">${description}</desc>
${o.bars.map((b, i) => {
  const y = i * rowHeight;
  const barWidth = Math.round((b.value / max) * barArea);
  return html`<text x="0" y="${y + 15}" font-size="14" fill="#1b1b1b">${b.label}</text>
<rect x="0" y="${y + 21}" width="${barArea}" height="16" fill="#f3f2f1"></rect>
<rect x="0" y="${y + 21}" width="${barWidth}" height="16" fill="#1d4ed8"></rect>
<text x="${barArea + 8}" y="${y + 34}" font-size="14" fill="#1b1b1b">${b.text}</text>`;
})}
</svg>`;
}

/** Stacked columns, one per week, in the disposition order (most urgent at the bottom). */
function weeklyChart(figures: DashboardFigures, dispositions: readonly DispositionInfo[]): Html {
  const columnWidth = 44;
  const chartHeight = 200;
  // Room above the tallest column for its total, so no label is clipped at the top edge.
  const headroom = 20;
  const base = headroom + chartHeight;
  const left = 40;
  const width = left + figures.weeks.length * columnWidth + 10;
  const max = Math.max(1, ...figures.weeks.map((w) => w.total));
  const description =
    figures.weeks.map((w) => `Week of ${w.week}: ${dispositions.map((d) => `${w.counts[d.code] ?? 0} ${d.display}`).join(', ')}`).join('; ') ||
    'No weeks in this range.';
  return html`<svg role="img" aria-labelledby="chart-weekly-title chart-weekly-desc" viewBox="0 0 ${width} ${base + 40}" width="${width}" height="${base + 40}" xmlns="http://www.w3.org/2000/svg">
<title id="chart-weekly-title">Triages per week by disposition (stacked)</title>
<desc id="chart-weekly-desc">${description}</desc>
<text x="0" y="${headroom + 4}" font-size="12" fill="#1b1b1b">${max}</text>
<line x1="${left - 4}" y1="${base}" x2="${width}" y2="${base}" stroke="#1b1b1b"></line>
${figures.weeks.map((w, i) => {
  const x = left + i * columnWidth;
  let top = base;
  const parts = dispositions.map((d) => {
    const h = Math.round(((w.counts[d.code] ?? 0) / max) * chartHeight);
    top -= h;
    return h === 0
      ? ''
      : html`<rect x="${x + 4}" y="${top}" width="${columnWidth - 8}" height="${h}" fill="${FILL[d.code] ?? '#1d4ed8'}" stroke="#fff"></rect>`;
  });
  return html`${parts}<text x="${x + columnWidth / 2}" y="${top - 4}" text-anchor="middle" font-size="12" fill="#1b1b1b">${w.total}</text>
<text x="${x + columnWidth / 2}" y="${base + 18}" text-anchor="middle" font-size="12" fill="#1b1b1b">${w.week.slice(5)}</text>`;
})}
</svg>`;
}

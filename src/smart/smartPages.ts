import type { ResultView } from './resultView';

/**
 * The pages' Content-Security-Policies. Nothing inline runs: scripts and styles come from
 * this origin only. The form page also allows inline styles, because LHC-Forms (Angular)
 * injects its components' styles as `<style>` elements at run time; it needs no `eval`
 * (checked in headless Chromium: no violation is reported with `script-src 'self'`).
 * `frame-ancestors`: the EHR origins allowed to frame the app (SMART_FRAME_ANCESTORS), else
 * `'none'` (the app runs in its own window or tab).
 */
export function formPagePolicy(frameAncestors: readonly string[]): string {
  return `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; ${frameAncestorsDirective(frameAncestors)}`;
}

export function resultPagePolicy(frameAncestors: readonly string[]): string {
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; ${frameAncestorsDirective(frameAncestors)}`;
}

function frameAncestorsDirective(origins: readonly string[]): string {
  return `frame-ancestors ${origins.length > 0 ? origins.join(' ') : "'none'"}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON inside a `<script type="application/json">`: `<` escaped so no `</script>` can end it early. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A static file's URL (content-hashed: smartAssets.assetUrl); the plain one by default. */
export type AssetUrl = (path: string) => string;
const plainAssetUrl: AssetUrl = (path) => `/smart/assets/${path}`;

function layout(options: { readonly title: string; readonly head?: string; readonly body: string; readonly asset?: AssetUrl | undefined }): string {
  const asset = options.asset ?? plainAssetUrl;
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="${escapeHtml(asset('smart.css'))}">
${options.head ?? ''}
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header"><p class="service-name">Hip pain: check what to do next</p></header>
<main id="main" tabindex="-1">
${options.body}
</main>
</body>
</html>`;
}

export interface PatientBanner {
  readonly name: string;
  readonly birthDate: string | undefined;
}

function bannerHtml(banner: PatientBanner | undefined): string {
  if (!banner) {
    return '';
  }
  return `<section class="patient-banner" aria-label="Patient">
<p><span class="label">Patient:</span> <strong>${escapeHtml(banner.name)}</strong>${
    banner.birthDate ? ` <span class="label">Date of birth:</span> <strong>${escapeHtml(formatDate(banner.birthDate))}</strong>` : ''
  }</p>
</section>`;
}

/** `1986-04-02` → `2 April 1986`; anything else as it is. */
export function formatDate(date: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) {
    return date;
  }
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  return `${Number(match[3])} ${months[Number(match[2]) - 1] ?? ''} ${match[1]}`;
}

/** What the page script needs; never a token. */
export interface FormPageData {
  readonly questionnaire: unknown;
  readonly initialResponse: unknown;
  /** `Patient/{id}`: the launch patient, the response's subject. */
  readonly subject: string;
  readonly author: string | undefined;
  readonly csrfToken: string;
}

/**
 * Whom the questions are about, always (the banner is only for EHRs that ask for one): the
 * launch patient's name and date of birth, and that someone answering for another person (a
 * parent for a child) must open the app from that person's own record, since the answers,
 * and the results, are written into this record. With a full birth date the age is the
 * record's, shown read-only; otherwise the form asks it.
 */
function aboutHtml(about: PatientBanner, ageFromRecord: number | undefined): string {
  const born = about.birthDate ? `, born ${escapeHtml(formatDate(about.birthDate))}` : '';
  return `<section class="about-patient" aria-labelledby="about-heading">
<h2 id="about-heading">These questions are about ${escapeHtml(about.name)}${born}</h2>
<p>Answer every question about ${escapeHtml(about.name)}. The answers and the result are saved in ${escapeHtml(about.name)}’s health record.</p>
<p><strong>Answering for someone else, such as your child?</strong> Do not use this record: open the app from that person’s own record, and answer there.</p>
${
  ageFromRecord === undefined
    ? '<p class="hint">The record has no full date of birth, so please give the age below.</p>'
    : `<p id="age-from-record">Age: <strong>${ageFromRecord}</strong> (from the date of birth in the record; it cannot be changed here. If it is wrong, tell the practice.)</p>`
}
</section>`;
}

/** The offer, after signing in again, to save the answers kept from an ended sign-in. */
function heldHtml(heldSince: string, csrfToken: string): string {
  return `<section class="callout held-answers" aria-labelledby="held-heading">
<h2 id="held-heading">You answered these questions earlier</h2>
<p>Your answers from ${escapeHtml(formatTime(heldSince))} were not saved in the record, because your sign-in had ended. You can save them now without answering again.</p>
<form method="post" action="/smart/retry"><input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}"><button type="submit" class="button">Save the answers you gave earlier</button></form>
<p class="hint">Or answer the questions again below if something has changed.</p>
</section>`;
}

/** An ISO instant as the clock time in the UK (`09:41 on 3 December 2026`). */
function formatTime(iso: string): string {
  const instant = new Date(iso);
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit' }).format(instant);
  const day = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', day: 'numeric', month: 'long', year: 'numeric' }).format(instant);
  return `${time} on ${day}`;
}

export function formPage(options: {
  readonly banner: PatientBanner | undefined;
  readonly about: PatientBanner;
  readonly data: FormPageData;
  readonly ageFromRecord: number | undefined;
  /** When answers from an ended sign-in are held for this patient: when they were kept. */
  readonly heldSince: string | undefined;
  readonly csrfToken: string;
  readonly asset?: AssetUrl | undefined;
}): string {
  const asset = (path: string): string => escapeHtml((options.asset ?? plainAssetUrl)(path));
  return layout({
    title: 'Hip pain: check what to do next',
    asset: options.asset,
    head: `<link rel="stylesheet" href="${asset('lforms/styles.css')}">
<script src="${asset('lforms/zone.min.js')}"></script>
<script src="${asset('lforms/runtime.js')}" type="module"></script>
<script src="${asset('lforms/polyfills.js')}" type="module"></script>
<script src="${asset('lforms/main.js')}" type="module"></script>
<script src="${asset('lforms/lformsFHIR.min.js')}" defer></script>
<script src="${asset('app.js')}" defer></script>`,
    body: `${bannerHtml(options.banner)}
<h1>Hip pain: check what to do next</h1>
<div class="callout callout-emergency">
<p><strong>If you cannot stand or walk, your leg looks the wrong shape, or you feel very unwell: call 999 now.</strong> Do not fill in this form first.</p>
</div>
${options.heldSince ? heldHtml(options.heldSince, options.csrfToken) : ''}
${aboutHtml(options.about, options.ageFromRecord)}
<p>Answer every question. If you are not sure, answer Yes. It takes about 5 minutes.</p>
<div id="urgent-advice" class="callout callout-emergency" role="alert" hidden></div>
<div id="error-summary" class="error-summary" role="alert" tabindex="-1" hidden></div>
<form id="triage" action="/smart/submit" method="post" novalidate>
<div id="triage-form" aria-busy="true"><p id="form-loading">Loading the questions…</p></div>
<noscript><p class="callout">This form needs JavaScript. If you cannot turn it on, ask the person looking after you to help, or call NHS 111.</p></noscript>
<p id="submit-status" class="status" role="status" aria-live="polite"></p>
<button id="submit" type="submit" class="button" disabled>Check what to do</button>
</form>
<script type="application/json" id="smart-data">${jsonForScript(options.data)}</script>`,
  });
}

export function resultPage(options: {
  readonly view: ResultView;
  readonly banner: PatientBanner | undefined;
  readonly csrfToken: string;
  /** Answers held and the sign-in still works: "Try saving again". */
  readonly retry: boolean;
  /** Answers held and the sign-in has ended: where "Sign in again to save your answers" goes. */
  readonly signInAgain: string | undefined;
  readonly asset?: AssetUrl | undefined;
}): string {
  const { view } = options;
  const section = (id: string, heading: string, inner: string): string =>
    `<section aria-labelledby="${id}"><h2 id="${id}">${escapeHtml(heading)}</h2>${inner}</section>`;
  const adviceList = (items: ResultView['interimAdvice']): string =>
    items.map((a) => `<div class="advice"><h3>${escapeHtml(a.title)}</h3>${paragraphs(a.text)}</div>`).join('\n');
  const parts: string[] = [];
  parts.push(`<div class="disposition disposition-${escapeHtml(view.dispositionCode)}">
<p class="disposition-label">What to do</p>
<h1>${escapeHtml(view.headline)}</h1>
<p class="disposition-meaning">${escapeHtml(view.meaning)}</p>
${view.actNow && !/nobody will contact you/i.test(view.meaning) ? '<p class="nobody"><strong>Nobody will contact you.</strong> Do this yourself now.</p>' : ''}
</div>`);
  parts.push(bannerHtml(options.banner));
  parts.push(savingHtml(view, options));
  parts.push(section('why', 'Why', `<ul>${view.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`));
  if (view.checks.length > 0) {
    parts.push(section('check', 'Please check', `<ul>${view.checks.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul>`));
  }
  if (view.interimAdvice.length > 0) {
    parts.push(section('meanwhile', 'Until you get help', adviceList(view.interimAdvice)));
  }
  if (view.selfHelp.length > 0) {
    parts.push(section('self-help', 'How to help yourself', adviceList(view.selfHelp)));
  }
  if (view.materials.length > 0) {
    const list = (kind: 'exercise' | 'information'): string =>
      view.materials
        .filter((m) => m.kind === kind)
        .map(
          (m) =>
            `<li><a href="${escapeHtml(m.url)}" rel="noopener noreferrer">${escapeHtml(m.title)}</a><span class="link-url"> (${escapeHtml(m.url)})</span><br>${escapeHtml(m.text)}</li>`
        )
        .join('');
    parts.push(
      section(
        'materials',
        'Exercises and information',
        `<h3>Exercises</h3><ul class="materials">${list('exercise')}</ul><h3>Information</h3><ul class="materials">${list('information')}</ul>`
      )
    );
  }
  if (view.warningSigns.length > 0) {
    parts.push(section('warning-signs', 'Warning signs: get help at once', view.warningSigns.map((a) => paragraphs(a.text)).join('')));
  }
  if (view.referrals.length > 0) {
    parts.push(
      section(
        'referral',
        'Referral recorded',
        `<ul>${view.referrals.map((r) => `<li>${escapeHtml(r.what)}${r.to ? ` (${escapeHtml(r.to)})` : ''}</li>`).join('')}</ul>
<p>This is a record in your health record for the care team.${view.actNow ? ' It does not mean anyone will contact you: do what it says at the top of this page yourself.' : ''}</p>`
      )
    );
  }
  parts.push(`<div class="page-actions no-print">
<button type="button" id="print" class="button button-secondary" hidden>Print this page</button>
<a class="button button-secondary" href="/smart/app">Start again</a>
</div>
<p class="small">This advice comes from your answers. It does not replace a doctor, nurse or physiotherapist: if you are worried, or things get worse, get help.</p>
<script src="${escapeHtml((options.asset ?? plainAssetUrl)('print.js'))}" defer></script>`);
  return layout({ title: `${view.headline}: hip pain result`, body: parts.join('\n'), asset: options.asset });
}

function savingHtml(view: ResultView, options: { readonly csrfToken: string; readonly retry: boolean; readonly signInAgain: string | undefined }): string {
  const { saving } = view;
  const retryForm =
    !saving.saved && options.retry
      ? `<form method="post" action="/smart/retry" class="no-print"><input type="hidden" name="csrf" value="${escapeHtml(options.csrfToken)}"><button type="submit" class="button button-secondary">Try saving again</button></form>`
      : '';
  const signIn =
    !saving.saved && !options.retry && options.signInAgain
      ? `<p class="no-print"><a class="button button-secondary" href="${escapeHtml(options.signInAgain)}">Sign in again to save your answers</a></p>`
      : '';
  return `<section class="saving ${saving.saved ? 'saving-done' : 'saving-failed'}" aria-labelledby="saving">
<h2 id="saving">${escapeHtml(saving.headline)}</h2>
${saving.details.map((d) => `<p>${escapeHtml(d)}</p>`).join('\n')}
${retryForm}${signIn}
</section>`;
}

/** An ActivityDefinition description: blank lines are paragraphs, `- ` lines are lists. */
function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const lines = block.split('\n').filter((l) => l.trim() !== '');
      const items = lines.filter((l) => l.startsWith('- '));
      const lead = lines.filter((l) => !l.startsWith('- '));
      return `${lead.length > 0 ? `<p>${escapeHtml(lead.join(' '))}</p>` : ''}${items.length > 0 ? `<ul>${items.map((i) => `<li>${escapeHtml(i.slice(2))}</li>`).join('')}</ul>` : ''}`;
    })
    .join('');
}

/** A page for what went wrong: the sentence for the person, never a stack trace. */
export function errorPage(options: { readonly heading: string; readonly messages: readonly string[]; readonly asset?: AssetUrl | undefined }): string {
  return layout({
    title: `${options.heading}: hip pain triage`,
    asset: options.asset,
    body: `<h1>${escapeHtml(options.heading)}</h1>
${options.messages.map((m) => `<p>${escapeHtml(m)}</p>`).join('\n')}
<div class="callout callout-emergency"><p><strong>If you need help now, call 999, or NHS 111 for urgent advice.</strong></p></div>`,
  });
}

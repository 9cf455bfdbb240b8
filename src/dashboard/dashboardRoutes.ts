import { OperationOutcomeError } from '@medplum/core';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import { statusOf } from '../http/sendOutcome';
import { dateInZone } from '../triage/age';
import { dashboardCsv } from './dashboardCsv';
import { loadDashboardResources } from './dashboardData';
import { computeFigures, defaultRange, type DispositionInfo } from './dashboardFigures';
import { DASHBOARD_PATH, DASHBOARD_STYLESHEET_PATH, renderDashboardMessage, renderDashboardPage } from './dashboardPage';
import { DASHBOARD_CSS } from './dashboardStyles';
import type { StaffGate } from './staffGate';

export interface DashboardRoutesOptions {
  readonly store: FhirStore;
  readonly clock: () => Date;
  readonly timeZone: string;
  readonly logger: Logger;
  /** Most urgent first (the ruleset's dispositions). */
  readonly dispositions: readonly DispositionInfo[];
  readonly redFlags: readonly string[];
  readonly staff: StaffGate;
}

/** The page names no patient, but shows clinical service figures: the queue's headers all the same. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 366;

/**
 * `GET /queue/dashboard` (HTML), `/queue/dashboard.csv` and the stylesheet; `/dashboard`
 * redirects there. Under `/queue` so the queue's staff session cookie (Path=/queue) reaches it.
 */
export function dashboardRoutes(options: DashboardRoutesOptions): Router {
  const router = Router();
  router.get(DASHBOARD_STYLESHEET_PATH, (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('text/css').send(DASHBOARD_CSS);
  });
  router.get('/dashboard', (req, res) => {
    const at = req.originalUrl.indexOf('?');
    res.redirect(302, `${DASHBOARD_PATH}${at < 0 ? '' : req.originalUrl.slice(at)}`);
  });
  const serve = (format: 'html' | 'csv') => async (req: Request, res: Response) => {
    secureHeaders(res);
    const decision = options.staff(req);
    if (decision.kind === 'forbidden') {
      sendPage(
        res,
        403,
        renderDashboardMessage('Not available here', 'The dashboard is shown only on this machine until staff sign-in (AUTH_* and STAFF_*) is configured.')
      );
      return;
    }
    if (decision.kind === 'sign-in') {
      // The queue starts the sign-in; the dashboard is linked from there.
      res.redirect(303, '/queue');
      return;
    }
    if (decision.kind === 'unavailable') {
      sendPage(
        res,
        503,
        renderDashboardMessage(
          'Sign-in not configured',
          'Staff sign-in (STAFF_CLIENT_ID, STAFF_CLIENT_SECRET and SESSION_SECRET) is not configured, so the dashboard cannot be shown.'
        )
      );
      return;
    }
    const range = rangeOf(req, dateInZone(options.clock(), options.timeZone));
    if (typeof range === 'string') {
      sendPage(res, 400, renderDashboardMessage('Date range not understood', range));
      return;
    }
    try {
      const resources = await loadDashboardResources(options.store, range);
      const figures = computeFigures({ ...resources, dispositions: options.dispositions, redFlags: options.redFlags, ...range, timeZone: options.timeZone });
      if (format === 'csv') {
        res.setHeader('Content-Disposition', `attachment; filename="triage-dashboard-${range.from}-to-${range.to}.csv"`);
        res
          .status(200)
          .type('text/csv; charset=utf-8')
          .send(
            dashboardCsv(
              figures,
              options.dispositions.map((d) => d.code)
            )
          );
        return;
      }
      sendPage(
        res,
        200,
        renderDashboardPage({
          figures,
          dispositions: options.dispositions,
          truncated: resources.truncated,
          signedInAs: decision.kind === 'allowed' ? decision.staff?.name : undefined,
        })
      );
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) {
        throw err;
      }
      const status = statusOf(err.outcome);
      options.logger.warn({ status }, 'dashboard: the FHIR store could not answer');
      sendPage(
        res,
        status >= 500 ? status : 502,
        renderDashboardMessage('Dashboard unavailable', 'The FHIR store could not answer the searches behind the figures. Try again shortly.')
      );
    }
  };
  router.get(DASHBOARD_PATH, serve('html'));
  router.get(`${DASHBOARD_PATH}.csv`, serve('csv'));
  return router;
}

/** `from` and `to` (both `YYYY-MM-DD`, to included), or the last 12 weeks; a sentence when they are wrong. */
export function rangeOf(req: Request, today: string): { from: string; to: string } | string {
  const from = typeof req.query.from === 'string' && req.query.from !== '' ? req.query.from : undefined;
  const to = typeof req.query.to === 'string' && req.query.to !== '' ? req.query.to : undefined;
  if (from === undefined && to === undefined) {
    return defaultRange(today);
  }
  const chosen = { from: from ?? defaultRange(to ?? today).from, to: to ?? today };
  if (!validDay(chosen.from) || !validDay(chosen.to)) {
    return 'Give the dates as YYYY-MM-DD.';
  }
  if (chosen.from > chosen.to) {
    return 'The start of the range is after its end.';
  }
  if ((Date.parse(chosen.to) - Date.parse(chosen.from)) / 86_400_000 > MAX_DAYS) {
    return `Choose a range of at most ${MAX_DAYS} days.`;
  }
  return chosen;
}

function validDay(day: string): boolean {
  const parsed = new Date(`${day}T00:00:00Z`);
  return DAY.test(day) && !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day;
}

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

function sendPage(res: Response, status: number, body: string): void {
  res.status(status).type('text/html; charset=utf-8').send(body);
}

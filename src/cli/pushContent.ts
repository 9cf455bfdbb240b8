import { setTimeout as sleep } from 'node:timers/promises';
import { OperationOutcomeError } from '@medplum/core';
import { readFhirClientSettings } from '../config';
import { publishableContent } from '../content/buildTriageContent';
import { PUBLISHED_TYPES, publishContent } from '../content/publishContent';
import type { StoreLogger } from '../fhir/embedded/embeddedStore';
import { backendCredentials } from '../fhir/remote/backendLogin';
import { FhirServerConnection } from '../fhir/remote/fhirServerConnection';
import { statusOf } from '../outcomes';
import { findContentRoot } from '../contentRoot';
import { registerShippedSubscriptions } from '../intake/subscriptionRegistration';
import type { CliCommand, CliIo } from './cliCommand';
import { describeError, readShippedContent } from './shippedContent';

/** SMART v2 system scopes for loading content (used with FHIR_CLIENT_KEY when FHIR_SCOPES is unset). */
export const CONTENT_SCOPES = [...PUBLISHED_TYPES, 'Subscription'].map((type) => `system/${type}.crus`).join(' ');

/**
 * `hip-triage push-content --server URL`: loads the service's content into an external FHIR
 * server (see publishContent), signing in with the same FHIR_CLIENT_* variables as the
 * service. Prints one line per resource and a summary. Exit 0 done, 1 failed, 2 bad settings.
 */
export const pushContentCommand: CliCommand = (program, io, run) => {
  program
    .command('push-content')
    .description(
      'load the Questionnaire, ruleset, CodeSystems, ActivityDefinitions, OperationDefinition, Device and routing services into an external FHIR server, idempotently'
    )
    .option('--server <url>', 'the FHIR server base URL (default: FHIR_BASE_URL)')
    .option('--wait <seconds>', 'wait up to this long for the server to answer (a server still starting, as in docker compose)', '0')
    .action(async (options: { server?: string; wait: string }) => {
      const problems: string[] = [];
      const server = serverUrl(options.server ?? io.env.FHIR_BASE_URL, problems);
      const settings = readFhirClientSettings(io.env, problems);
      const waitSeconds = Number(options.wait);
      if (!Number.isInteger(waitSeconds) || waitSeconds < 0) {
        problems.push(`--wait must be a whole number of seconds (got '${options.wait}')`);
      }
      if (problems.length > 0 || server === undefined) {
        io.stderr(`push-content: ${problems.join('; ')}\n`);
        run.exitCode = 2;
        return;
      }
      let credentials;
      try {
        credentials = await backendCredentials(settings, CONTENT_SCOPES);
      } catch (err) {
        io.stderr(`push-content: ${describeError(err)}\n`);
        run.exitCode = 2;
        return;
      }
      const connection = new FhirServerConnection({ baseUrl: server, credentials, logger: stderrLogger(io) });
      try {
        await waitUntilServing(connection, waitSeconds, io);
        const report = await publishContent(connection, publishableContent(readShippedContent()), (line) => io.stdout(`${line}\n`));
        for (const warning of report.warnings) {
          io.stderr(`warning: ${warning}\n`);
        }
        // Subscriptions last: the content they make the server notify about is in place first.
        const subscriptions = await registerShippedSubscriptions({
          connection,
          contentRoot: findContentRoot(__dirname),
          env: io.env,
          onProgress: (line) => io.stdout(`${line}\n`),
        });
        const count = (action: string) => subscriptions.filter((s) => s.action === action).length;
        const created = report.counts.created + count('created');
        const updated = report.counts.updated + count('updated');
        const unchanged = report.counts.unchanged + count('unchanged');
        io.stdout(`push-content ${server}: ${created} created, ${updated} updated, ${unchanged} unchanged\n`);
      } catch (err) {
        io.stderr(`push-content ${server} failed: ${describeError(err)}\n`);
        run.exitCode = 1;
      } finally {
        connection.close();
      }
    });
};

const POLL_MS = 2_000;

/** Polls the CapabilityStatement until the server answers; a refusal (4xx) ends the wait at once. */
async function waitUntilServing(connection: FhirServerConnection, seconds: number, io: CliIo): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await connection.capabilities({ maxWaitMs: POLL_MS });
      return;
    } catch (err) {
      const transient = err instanceof OperationOutcomeError && statusOf(err.outcome) === 503;
      if (!transient || Date.now() >= deadline) {
        throw err;
      }
      if (attempt === 1) {
        io.stderr(`waiting up to ${seconds} s for ${connection.baseUrl} to answer\n`);
      }
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }
}

function serverUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw.trim() === '') {
    problems.push('give the FHIR server with --server URL (or set FHIR_BASE_URL)');
    return undefined;
  }
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error('not http(s)');
    }
    return raw.trim().replace(/\/+$/, '');
  } catch {
    problems.push(`--server must be an http(s) URL (got '${raw}')`);
    return undefined;
  }
}

/** Retries and failures on stderr, one line each; the connection logs no content or tokens. */
function stderrLogger(io: CliIo): StoreLogger {
  const line = (obj: object, msg?: string): void => io.stderr(`${msg ?? ''} ${JSON.stringify(obj)}\n`);
  return { info: () => undefined, warn: line, error: line };
}

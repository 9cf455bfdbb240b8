import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export interface ShutdownOptions {
  /** Closes the store: for the embedded one, the journal is flushed and the lock released. */
  readonly closeService: () => Promise<void>;
  readonly logger: Logger;
  readonly exit: (code: number) => void;
  /** After this long the process exits 1 whatever is still running. */
  readonly graceMs?: number;
}

export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Prepares `server` for a graceful stop and returns the function a signal calls: stop
 * accepting connections, let requests in flight finish, close the service, exit 0; or
 * exit 1 when that takes longer than the grace period or a second signal arrives.
 *
 * `server.close()` alone waits for idle keep-alive connections to time out (5 s by
 * default), so every answer given while draining says `Connection: close`, and
 * connections that fall idle are closed at once.
 */
export function prepareGracefulShutdown(server: Server, options: ShutdownOptions): (signal: string) => void {
  const { logger, exit } = options;
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let hardStop: NodeJS.Timeout | undefined;
  // Prepended: the app may answer synchronously, and the header must be set before that.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) {
      res.setHeader('Connection', 'close');
    }
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (draining) {
        setImmediate(() => server.closeIdleConnections());
      }
    });
  });
  return (signal) => {
    if (draining) {
      logger.warn({ signal }, 'second signal while shutting down: exiting now');
      clearTimeout(hardStop);
      exit(1);
      return;
    }
    draining = true;
    hardStop = setTimeout(() => {
      logger.error({ inFlight: inFlight.size, graceMs: options.graceMs ?? SHUTDOWN_GRACE_MS }, 'shutdown did not finish in time: exiting');
      exit(1);
    }, options.graceMs ?? SHUTDOWN_GRACE_MS);
    for (const res of inFlight) {
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
      }
    }
    server.close(() => {
      options.closeService().then(
        () => {
          clearTimeout(hardStop);
          logger.info('stopped');
          exit(0);
        },
        (err: unknown) => {
          clearTimeout(hardStop);
          logger.error({ err: err instanceof Error ? err.message : String(err) }, 'closing the store failed');
          exit(1);
        }
      );
    });
    server.closeIdleConnections();
    // Logged once the listener is closed, so whoever reads it knows no connection is accepted any more.
    logger.info({ signal, inFlight: inFlight.size }, 'shutting down: no new connections, finishing requests in flight');
  };
}

import './requireSupportedNode';
import './compileCache';
import type { Server } from 'node:http';
import pino from 'pino';
import { insecureStartWarnings } from './auth/insecureStart';
import { ConfigError, loadConfig } from './config';
import { composeService, StartupError } from './composeService';
import { findContentRoot } from './contentRoot';
import { prepareGracefulShutdown } from './gracefulShutdown';
import { applyServerTimeouts } from './http/requestTimeout';
import { createLogger } from './logger';

/** The composition root: read config once, wire the service, listen, stop cleanly. */
async function main(): Promise<void> {
  const started = performance.now();
  const config = loadConfig(process.env, findContentRoot(__dirname));
  // Synchronous stdout: pino's default asynchronous writer can lose or reorder the last lines
  // when the process exits (seen on SIGTERM: "stopped" written before "shutting down").
  const logger = createLogger(config.logLevel, pino.destination({ dest: 1, sync: true }));
  for (const warning of insecureStartWarnings(config)) {
    logger.warn(warning);
  }
  const service = await composeService(config, logger);
  const server: Server = service.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ host: config.host, port, mode: config.fhirBaseUrl ? 'remote' : 'embedded', startupMs: Math.round(performance.now() - started) }, 'listening');
  });
  applyServerTimeouts(server);
  const stop = prepareGracefulShutdown(server, { closeService: () => service.close(), logger, exit: (code) => process.exit(code) });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`hip-pain-triage could not start:\n${message}\n`);
  process.exit(1);
});

import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { Service } from '../../src/composeService';
import { startTestService } from './testService';

/** One request the second instance received: method and path only (never bodies). */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
}

/**
 * A second instance of this service, in embedded mode, listening on a loopback port: the
 * "external FHIR server" of remote-mode tests, reached over real HTTP. It counts the
 * requests it receives, can be stopped (its port refuses connections) and started again
 * on the same port with its data intact.
 */
export interface SecondInstance {
  /** `http://127.0.0.1:<port>/fhir` */
  readonly fhirBaseUrl: string;
  readonly port: number;
  readonly service: Service;
  readonly received: ReceivedRequest[];
  /** Closes the listener and every open connection; the store stays as it is. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Stops and closes the store. */
  close(): Promise<void>;
}

export async function startSecondInstance(options: { readonly app?: (service: Service) => Express } = {}): Promise<SecondInstance> {
  const service = await startTestService();
  const app = options.app ? options.app(service) : service.app;
  const received: ReceivedRequest[] = [];
  let server: Server | undefined;
  const listen = async (port: number): Promise<number> => {
    const next = createServer();
    // Recorded before express rewrites req.url for its mount point.
    next.on('request', (req) => {
      received.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0] ?? '' });
    });
    next.on('request', app);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    server = next;
    return (next.address() as AddressInfo).port;
  };
  const stop = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) {
      return;
    }
    await new Promise<void>((resolve) => {
      current.close(() => resolve());
      current.closeAllConnections();
    });
  };
  const port = await listen(0);
  return {
    fhirBaseUrl: `http://127.0.0.1:${port}/fhir`,
    port,
    service,
    received,
    stop,
    restart: async () => {
      await listen(port);
    },
    close: async () => {
      await stop();
      await service.close();
    },
  };
}

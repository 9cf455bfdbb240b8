import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { composeService, type Service } from '../../src/composeService';
import { createLogger } from '../../src/logger';
import { ROOT } from './responses';

/** Everything the service logged during a test, for assertions that no health data leaks. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
    );
    callback();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export const FIXED_NOW = new Date('2026-11-20T12:00:00Z');

/** The real service on the embedded store, in memory unless DATA_DIR is given. */
export async function startTestService(env: NodeJS.ProcessEnv = {}, clock: () => Date = () => FIXED_NOW): Promise<Service & { logs: LogCapture }> {
  const config = loadConfig({ DATA_DIR: ':memory:', ...env }, ROOT);
  const logs = new LogCapture();
  const service = await composeService(config, createLogger(config.logLevel, logs), clock);
  return { ...service, logs };
}

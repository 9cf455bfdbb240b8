import { loadConfig } from '../../src/config';
import { composeService, type Service } from '../../src/composeService';
import { createLogger } from '../../src/logger';
import type { KeySetPolicy } from '../../src/auth/tokenVerification';
import { ROOT } from '../support/responses';
import { FIXED_NOW, LogCapture } from '../support/testService';

/**
 * The real service (composeService, embedded store in memory) with the environment given,
 * and a JWKS cache policy of the test's choosing: a cooldown of 0 lets a test see the
 * refetch on an unknown `kid` without waiting 30 s.
 */
export async function startSecuredService(env: NodeJS.ProcessEnv, keySetPolicy?: KeySetPolicy): Promise<Service & { logs: LogCapture }> {
  const config = loadConfig({ DATA_DIR: ':memory:', ...env }, ROOT);
  const logs = new LogCapture();
  const service = await composeService(config, createLogger(config.logLevel, logs), () => FIXED_NOW, { keySetPolicy });
  return { ...service, logs };
}

export const QUICK_REFETCH: KeySetPolicy = { cooldownMs: 0, cacheMaxAgeMs: 600_000, timeoutMs: 2_000 };

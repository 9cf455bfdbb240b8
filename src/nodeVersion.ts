/**
 * The oldest Node.js the service and the command line run on: @medplum/core 5 and the
 * built-in `node:sqlite` need it, and an older Node fails deep inside an import with an
 * error that names neither Node nor the fix.
 */
export const MINIMUM_NODE = { major: 22, minor: 18 } as const;

/** Whether `version` (e.g. `24.21.0`) is new enough. */
export function isSupportedNode(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor);
}

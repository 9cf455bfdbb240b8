/**
 * The oldest Node.js the command line runs on: @medplum/core 5 needs it, and an older Node
 * fails deep inside that import with an error that names neither Node nor the fix.
 */
export const MINIMUM_NODE = { major: 22, minor: 18 } as const;

/** Undefined when `version` (e.g. `24.21.0`) is new enough; otherwise what to tell the user. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  if (major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor)) {
    return undefined;
  }
  return [
    `hip-triage needs Node.js ${MINIMUM_NODE.major}.${MINIMUM_NODE.minor} or newer; this is Node.js ${version}.`,
    'Either run it through npm from the project folder, which uses the node@24 dev-dependency:',
    '  npx hip-triage <command>',
    'or install Node.js 24 LTS (https://nodejs.org/) and run it again.',
    '',
  ].join('\n');
}

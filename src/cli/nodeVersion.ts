import { isSupportedNode, MINIMUM_NODE } from '../nodeVersion';

export { MINIMUM_NODE };

/** Undefined when `version` (e.g. `24.21.0`) is new enough; otherwise what to tell the user. */
export function nodeVersionProblem(version: string): string | undefined {
  if (isSupportedNode(version)) {
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

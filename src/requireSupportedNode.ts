import { isSupportedNode, MINIMUM_NODE } from './nodeVersion';

// Imported first by the server's entry point, before anything loads @medplum: on an old Node
// the operator gets one line saying what to do instead of a stack trace from a dependency.
if (!isSupportedNode(process.versions.node)) {
  process.stderr.write(
    `hip-pain-triage needs Node.js ${MINIMUM_NODE.major}.${MINIMUM_NODE.minor} or newer (this is ${process.versions.node}): start it with \`npm start\`, which uses the node@24 dev-dependency, or install Node.js 24 LTS.\n`
  );
  process.exit(1);
}

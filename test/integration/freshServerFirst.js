/**
 * The order of the integration suites on one HAPI: those that need a server which has never
 * held the content run first. remotePath.test.ts checks that push-content's `$reindex` makes
 * `due` find a Task HAPI held before the SearchParameter existed; once fhirPackage.test.ts has
 * installed the package (the SearchParameter with it), that path is no longer taken. The rest
 * run in path order.
 */
const Sequencer = require('@jest/test-sequencer').default;

const FRESH_SERVER_FIRST = ['remotePath.test.ts'];

class FreshServerFirst extends Sequencer {
  sort(tests) {
    const rank = (test) => {
      const at = FRESH_SERVER_FIRST.findIndex((name) => test.path.endsWith(`/${name}`));
      return at === -1 ? FRESH_SERVER_FIRST.length : at;
    };
    return [...tests].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  }
}

module.exports = FreshServerFirst;

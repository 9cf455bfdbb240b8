'use strict';
/**
 * Lets a child process spawned by a test `require()` the project's TypeScript sources
 * without a build: `node -r ./test/support/registerTs.js child.js`.
 *
 * Each .ts file is transpiled on load with `typescript.transpileModule` (no type check; jest
 * and tsc do that). This hook replaces Node 24's own type stripping for .ts, which needs
 * explicit extensions in imports, and adds .ts to extension-less `require` resolution.
 */
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
};

Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};

process.setSourceMapsEnabled?.(true);

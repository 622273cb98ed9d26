#!/usr/bin/env node
// The `loopstudio` command: runs the CLI as built by `npm run build` (out/cli, an esbuild bundle).
// Nothing here transpiles TypeScript or loads code from outside this package
// (docs/ARCHITECTURE.md, "Built code"). The desktop packages run this same file with the app's
// own binary as Node (ELECTRON_RUN_AS_NODE=1), as VS Code's `code` command does.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const entry = join(__dirname, '..', 'out', 'cli', 'main.mjs');
if (!existsSync(entry)) {
  process.stderr.write(
    `loopstudio: the command line is not built (${entry} is missing).\nRun \`npm run build\` in ${join(__dirname, '..')} first.\n`,
  );
  process.exit(70);
}
import(pathToFileURL(entry).href)
  .then(({ run }) => run(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`loopstudio: internal error: ${error && error.stack ? error.stack : error}\n`);
      process.exitCode = 70;
    },
  );

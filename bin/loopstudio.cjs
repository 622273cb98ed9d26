#!/usr/bin/env node
// The `loopstudio` command. It runs the TypeScript sources through tsx, so the CLI is always the
// code in this checkout, with no build step between an edit and a run.
'use strict';
const { require: tsxRequire } = require('tsx/cjs/api');
const { run } = tsxRequire('../electron/cli/main.ts', __filename);
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`loopstudio: internal error: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 70;
  },
);

#!/usr/bin/env node
// Reads jest's --json report and prints CI's closing line: "N passed, N failed"
// (suites that failed to run count as failures), after a note on skipped tests.
'use strict';
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const skipped = r.numPendingTests + r.numTodoTests;
if (skipped) console.log(`(${skipped} skipped: the CUDA parity tests need a GPU)`);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);

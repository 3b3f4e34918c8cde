#!/usr/bin/env node
// Prints one group of native/sources.json, one path per line, for binding.gyp's
// command expansion (<!@(node scripts/sources.js core)).
'use strict';
const path = require('path');
const groups = require(path.join(__dirname, '..', 'native', 'sources.json'));
const name = process.argv[2];
if (!Array.isArray(groups[name])) {
  process.stderr.write(`unknown source group: ${name}\n`);
  process.exit(2);
}
process.stdout.write(groups[name].join('\n') + '\n');

#!/usr/bin/env node
// Install hook. A published package carries prebuilt binaries, so this normally does
// nothing and downloads nothing (npm 11 blocks dependencies' install scripts by
// default anyway; the loader never needs this to have run). Only when no prebuild
// matches this platform does it build the CPU backend from source with node-gyp.
// In a source checkout (a clone, with tests/) the build is left to `npm run compile` (run by prepare).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const hasPrebuild = fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node'));
if (hasPrebuild) process.exit(0);
if (fs.existsSync(path.join(root, 'test')) || fs.existsSync(path.join(root, '.git'))) process.exit(0);

const gyp = process.env.npm_config_node_gyp;
const cmd = gyp ? process.execPath : 'node-gyp';
const args = gyp ? [gyp, 'rebuild'] : ['rebuild'];
console.log(`bitgrad: no prebuilt binary for ${process.platform}-${process.arch}; building the CPU backend from source`);
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: !gyp });
if (r.status !== 0) {
  // Do not fail the user's install: require('bitgrad') explains what is missing.
  console.warn('bitgrad: source build failed; require("bitgrad") will list the causes and fixes');
}

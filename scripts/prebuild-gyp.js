#!/usr/bin/env node
// Stands in for node-gyp when prebuildify runs (PREBUILD_NODE_GYP). Accepts node-gyp's
// `rebuild --target=... --arch=... --release` and builds with cmake-js instead, in its
// own tree (build-prebuild/), then leaves only the chosen binary in build/Release.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const target = process.env.BITGRAD_PREBUILD_TARGET || 'bitgrad_cuda';
const args = process.argv.slice(2);
if (args[0] !== 'rebuild') {
  console.error(`prebuild-gyp: only 'rebuild' is supported (got ${args.join(' ')})`);
  process.exit(2);
}
const build = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js'), ...(target === 'bitgrad' ? ['--cpu'] : [])], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BITGRAD_BUILD_DIR: 'build-prebuild' },
});
if (build.status !== 0) process.exit(build.status || 1);
const src = path.join(root, 'build-prebuild', 'Release', `${target}.node`);
if (!fs.existsSync(src)) {
  console.error(`prebuild-gyp: ${src} was not built`);
  process.exit(1);
}
const out = path.join(root, 'build', 'Release');
fs.mkdirSync(out, { recursive: true });
for (const f of fs.readdirSync(out)) if (f.endsWith('.node')) fs.rmSync(path.join(out, f));
fs.copyFileSync(src, path.join(out, `${target}.node`));

#!/usr/bin/env node
// `npm run prebuild`: puts the CUDA-capable linux-x64 binary (static cudart, CPU path
// included, so it runs on machines without a GPU) into prebuilds/<platform>-<arch>/
// under prebuildify's naming. prebuildify 6 only drives node-gyp, so its
// PREBUILD_NODE_GYP hook runs scripts/prebuild-gyp.js, which builds with cmake-js and
// leaves exactly one .node in build/Release for prebuildify to pick up.
// Env: BITGRAD_CUDA_ARCHS narrows the arch list (CI); default is the full list.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const hasNvcc = ['/usr/local/cuda/bin/nvcc', process.env.CUDACXX || ''].some((p) => p && fs.existsSync(p)) ||
  spawnSync('which', ['nvcc']).status === 0;
const name = hasNvcc ? 'bitgrad_cuda' : 'bitgrad';
const shim = path.join(__dirname, 'prebuild-gyp.js');
const prebuildify = require.resolve('prebuildify/bin.js');
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc', '--name', name], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PREBUILD_NODE_GYP: shim, BITGRAD_PREBUILD_TARGET: name },
});
process.exit(r.status === null ? 1 : r.status);

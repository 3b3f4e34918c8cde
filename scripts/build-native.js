#!/usr/bin/env node
// Builds the native addons with cmake-js into build-cmake/Release:
//   bitgrad.node       CPU backend (always)
//   bitgrad_cuda.node  CPU + CUDA backends (when nvcc is found; static cudart)
// Flags: --cpu (skip CUDA), --debug. Env: BITGRAD_CUDA_ARCHS=80,90 narrows the arch list,
// CUDACXX names nvcc, BITGRAD_BUILD_DIR overrides the build folder.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const cpuOnly = args.includes('--cpu');
const debug = args.includes('--debug');
const out = process.env.BITGRAD_BUILD_DIR || 'build-cmake';
const version = require(path.join(root, 'package.json')).version;

function findNvcc() {
  if (process.env.CUDACXX && fs.existsSync(process.env.CUDACXX)) return process.env.CUDACXX;
  for (const p of ['/usr/local/cuda/bin/nvcc', '/usr/bin/nvcc']) if (fs.existsSync(p)) return p;
  const r = spawnSync('which', ['nvcc'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const nvcc = cpuOnly ? null : findNvcc();
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const argv = [cmakeJs, 'compile', '-O', out, `--CDBITGRAD_PKG_VERSION=${version}`];
if (debug) argv.push('-D');
if (nvcc) argv.push(`--CDCMAKE_CUDA_COMPILER=${nvcc}`);
else argv.push('--CDBITGRAD_WITH_CUDA=OFF');
const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL || String(os.cpus().length) };
console.log(`bitgrad: building native addons in ${out}/ (${nvcc ? `CUDA via ${nvcc}` : 'CPU only'})`);
const r = spawnSync(process.execPath, argv, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  console.error('bitgrad: native build failed');
  process.exit(r.status || 1);
}

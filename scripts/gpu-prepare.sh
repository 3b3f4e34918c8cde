#!/usr/bin/env bash
# Prepares what `npm run gpu:check` needs on a GPU machine that has no Node.js and no
# package registry, in .gpu-carry/ (git-ignored; pass it in the device tool's `carry`):
#   node.xz          this machine's node, stripped and xz-compressed (~22 MB)
#   bitgrad_cuda.node the CUDA addon built here in build-gpu/ (sm_90 SASS + PTX by default,
#                    what the lent H200 runs; BITGRAD_CUDA_ARCHS=75,80,86,89,90 for all)
#   dist/            the compiled TypeScript
#   node_modules/    benchmark.js and its two dependencies
# Everything must stay under the 64 MiB the device tool carries.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/cuda/bin:$PATH"
BITGRAD_BUILD_DIR=build-gpu BITGRAD_CUDA_ARCHS="${BITGRAD_CUDA_ARCHS:-90}" node scripts/build-native.js
npm run build:ts
rm -rf .gpu-carry && mkdir -p .gpu-carry/node_modules
cp build-gpu/Release/bitgrad_cuda.node .gpu-carry/
strip --strip-unneeded .gpu-carry/bitgrad_cuda.node || true
cp -r dist .gpu-carry/dist
for m in benchmark lodash platform; do cp -r "node_modules/$m" .gpu-carry/node_modules/; done
cp "$(readlink -f "$(command -v node)")" /tmp/bitgrad-node && strip /tmp/bitgrad-node
xz -T0 -6 -c /tmp/bitgrad-node > .gpu-carry/node.xz && rm -f /tmp/bitgrad-node
git rev-parse --short HEAD > .gpu-carry/commit 2>/dev/null || echo unknown > .gpu-carry/commit
size=$(du -sm .gpu-carry | cut -f1)
echo "prepared .gpu-carry/ (${size} MiB): carry it with the working tree, then run: npm run gpu:check  (or bash scripts/gpu-check.sh)"
if [ "$size" -ge 60 ]; then echo "too large to carry (limit 64 MiB with the working tree)" >&2; exit 1; fi

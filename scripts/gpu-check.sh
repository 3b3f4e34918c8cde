#!/usr/bin/env bash
# The GPU check, for a machine with a GPU but no Node.js or npm (see gpu-prepare.sh).
# Runs every CUDA-vs-CPU parity case, the same cases under compute-sanitizer memcheck
# (quick sizes), the GPU benchmark and the PyTorch peer, writing JSON and logs to
# $OUT (or $BITGRAD_RESULTS, default bench/results/). Budget: under 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
C=.gpu-carry
R="${OUT:-${BITGRAD_RESULTS:-bench/results}}"
mkdir -p "$R"
log="$R/gpu-check.log"
exec > >(tee "$log") 2>&1
t0=$SECONDS
NODE="$(command -v node || true)"
if [ -f "$C/node.xz" ]; then
  python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$C/node.xz" /tmp/bitgrad-node
  chmod +x /tmp/bitgrad-node
  NODE=/tmp/bitgrad-node
fi
[ -n "$NODE" ] || { echo "no node binary: run scripts/gpu-prepare.sh first and carry .gpu-carry"; exit 1; }
if [ -d "$C/dist" ]; then
  export BITGRAD_DIST="$PWD/$C/dist/index.js" BITGRAD_BINARY="$PWD/$C/bitgrad_cuda.node" NODE_PATH="$PWD/$C/node_modules"
  export BITGRAD_COMMIT="$(cat $C/commit 2>/dev/null || echo unknown)"
  CLI="$C/dist/cli.js"
else
  CLI=dist/cli.js
fi
export BITGRAD_REQUIRE_GPU=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
"$NODE" "$CLI" info --json > "$R/info.json" || { cat "$R/info.json"; echo "backend check failed"; exit 1; }
"$NODE" "$CLI" info

echo "== parity ($((SECONDS - t0)) s)"
timeout 200 "$NODE" test/gpu/run-parity.js "$R/parity.json" --budget-s 170; parity=$?

echo "== compute-sanitizer memcheck over the quick parity cases ($((SECONDS - t0)) s)"
if command -v compute-sanitizer >/dev/null; then
  timeout 200 compute-sanitizer --tool memcheck --leak-check no --error-exitcode 3 \
    "$NODE" test/gpu/run-parity.js "$R/memcheck-parity.json" --quick --every 4 --budget-s 150 > "$R/memcheck.log" 2>&1; memcheck=$?
  tail -5 "$R/memcheck.log"
else
  echo "compute-sanitizer not found"; memcheck=127
fi

echo "== benchmarks ($((SECONDS - t0)) s)"
timeout 120 "$NODE" bench/benchmark.js --gpu --out "$R/bench-gpu.json"; bench=$?
if command -v python3 >/dev/null; then timeout 60 python3 bench/peers/torch_bce.py 1e8 > "$R/peer-torch.json" || true; cat "$R/peer-torch.json"; fi
if command -v python3 >/dev/null; then timeout 90 python3 bench/peers/torch_ce.py 16384 131072 > "$R/peer-torch-ce.json" || true; cat "$R/peer-torch-ce.json"; fi
timeout 150 "$NODE" bench/losses.js --gpu --out "$R/bench-losses-gpu.json" --torch-ce-json "$R/peer-torch-ce.json"; losses=$?

echo "== done in $((SECONDS - t0)) s: parity=$parity memcheck=$memcheck bench=$bench losses=$losses"
[ $parity -eq 0 ] && [ $memcheck -eq 0 ] && [ $bench -eq 0 ] && [ $losses -eq 0 ]

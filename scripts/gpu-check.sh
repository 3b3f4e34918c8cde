#!/usr/bin/env bash
# The GPU check, for a machine with a GPU but no Node.js or npm (see gpu-prepare.sh).
# Runs the CUDA-vs-CPU parity cases (within a time budget; the JSON counts any not run),
# a spread sample of them under compute-sanitizer memcheck, the GPU benchmarks and the
# PyTorch peers, writing JSON and logs to $OUT (or $BITGRAD_RESULTS, default
# bench/results/). Budget: under 8 minutes.
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

# Worst case by the timeouts below: 8 minutes (480 s). $OUT returns at most 8 files:
# gpu-check.log info.json parity.json memcheck.log peers.json bench-gpu.json
# bench-losses-gpu.json bench-xnor-gpu.json.
echo "== lifetimes first: frees and worker teardown under pending GPU work; a failure may be a crash ($((SECONDS - t0)) s)"
timeout 40 "$NODE" test/gpu/run-parity.js --match '^lifetimes' --budget-s 30; lifetimes=$?

echo "== parity ($((SECONDS - t0)) s)"
timeout 115 "$NODE" test/gpu/run-parity.js "$R/parity.json" --budget-s 95; parity=$?

echo "== compute-sanitizer memcheck over a spread sample of the quick parity cases ($((SECONDS - t0)) s)"
if command -v compute-sanitizer >/dev/null; then
  timeout 100 compute-sanitizer --tool memcheck --leak-check no --error-exitcode 3 \
    "$NODE" test/gpu/run-parity.js --quick --every 6 --budget-s 80 > "$R/memcheck.log" 2>&1; memcheck=$?
  tail -5 "$R/memcheck.log"
else
  echo "compute-sanitizer not found"; memcheck=127
fi

echo "== PyTorch peers on this GPU ($((SECONDS - t0)) s)"
: > "$R/peers.json"
if command -v python3 >/dev/null; then
  timeout 30 python3 bench/peers/torch_bce.py 1e8 >> "$R/peers.json" || true
  timeout 40 python3 bench/peers/torch_ce.py 16384 131072 > /tmp/bitgrad-peer-ce.json || true
  cat /tmp/bitgrad-peer-ce.json >> "$R/peers.json"
  cat "$R/peers.json"
fi

echo "== benchmarks ($((SECONDS - t0)) s)"
timeout 45 "$NODE" bench/benchmark.js --gpu --out "$R/bench-gpu.json"; bench=$?
timeout 55 "$NODE" bench/losses.js --gpu --out "$R/bench-losses-gpu.json" --torch-ce-json /tmp/bitgrad-peer-ce.json; losses=$?
timeout 55 "$NODE" bench/xnor.js --gpu --out "$R/bench-xnor-gpu.json"; xnor=$?

echo "== done in $((SECONDS - t0)) s: lifetimes=$lifetimes parity=$parity memcheck=$memcheck bench=$bench losses=$losses xnor=$xnor"
[ $lifetimes -eq 0 ] && [ $parity -eq 0 ] && [ $memcheck -eq 0 ] && [ $bench -eq 0 ] && [ $losses -eq 0 ] && [ $xnor -eq 0 ]

// `node bench/xnor.js --gpu [--size 8192] [--out file.json] [--no-peer]`: binary GEMM
// of size^3 bits on cuda:0 (int32 and float epilogues), tensor-core path
// (BITGRAD_XNOR_CUDA=mma, cuda/xnor_mma.cu) and CUDA-core path (=core), reported as
// ops/s (ops = 2 x bit-MAC, NVIDIA's "binary TOPS") and as a fraction of the 1-bit AND
// mma.sync peak, 7.6 Pops (issue 5; specs/bnn-kernels.md §3: 7,643 TOPS measured on
// GH200 = H100 silicon; the H200 has the same compute die), and against cuBLAS SGEMM of
// the same logical shape on the same GPU (bench/peers/torch_xnor.py --cuda, TF32 off).
// Times: enqueue reps calls back to back, synchronize, divide; best of 3 rounds.
'use strict';
const common = require('./common');

const { arg } = common;
const PEAK_OPS = 7.6e15;

const rand = (n, seed) => common.uniform(n, seed, -0.5, 0.5, 'numrec');

function timeGpu(b, fn, reps) {
  let best = Infinity;
  fn().dispose();
  b.synchronize('cuda:0');
  for (let round = 0; round < 3; round++) {
    const outs = [];
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) outs.push(fn());
    b.synchronize('cuda:0');
    const t = Number(process.hrtime.bigint() - t0) / 1e9 / reps;
    for (const o of outs) o.dispose();
    if (t < best) best = t;
  }
  return best;
}

async function run(b) {
  const outFile = arg('--out', common.resultPath('bench-xnor-gpu.json'));
  const report = common.requireGpu(b);
  const S = Math.round(Number(arg('--size', '8192')));
  const ops = 2 * S * S * S;
  const x = b.binarize.packSync(rand(S * S, 1), { layout: 'rows', shape: [S, S], device: 'cuda:0' });
  const w = b.binarize.packSync(rand(S * S, 2), { layout: 'rows', shape: [S, S], device: 'cuda:0' });
  const scale = new Float32Array(S).fill(0.5);
  const results = { device: report.cuda.devices[0], size: S, peakOps: PEAK_OPS, gemm: {}, peers: {} };
  const prev = process.env.BITGRAD_XNOR_CUDA;
  for (const mode of ['mma', 'core']) {
    process.env.BITGRAD_XNOR_CUDA = mode;
    for (const outputType of ['int32', 'float']) {
      const opts = outputType === 'int32' ? {} : { outputType, scale, bias: 1 };
      let r;
      try {
        const t = timeGpu(b, () => b.xnor.gemmSync(x, w, opts), mode === 'mma' ? 10 : 1);
        r = { seconds: t, opsPerS: ops / t, fractionOfPeak: ops / t / PEAK_OPS };
      } catch (e) {
        r = { error: String(e.message || e).slice(0, 300) };
      }
      results.gemm[`${mode}/${outputType}`] = r;
    }
  }
  if (prev === undefined) delete process.env.BITGRAD_XNOR_CUDA;
  else process.env.BITGRAD_XNOR_CUDA = prev;
  x.dispose();
  w.dispose();
  if (!common.flag('--no-peer')) {
    // python3 from PATH by default: on a GPU machine that is the Python with CUDA torch.
    const p = common.runPeer('torch_xnor.py', ['--cuda', '--size', String(S)], { python: common.peerPython('python3') });
    results.peers.torch = p.error ? { error: p.stderrTail } : p;
    const sg = results.peers.torch.sgemm && results.peers.torch.sgemm[`${S}x${S}x${S}`];
    if (sg) for (const [k, v] of Object.entries(results.gemm)) if (v.seconds) v.speedupVsCublasSgemm = sg / v.seconds;
  }
  for (const [k, v] of Object.entries(results.gemm))
    console.log(
      v.error
        ? `gemm ${S}^3 ${k}: ${v.error}`
        : `gemm ${S}^3 ${k}: ${(v.seconds * 1e3).toFixed(3)} ms, ${(v.opsPerS / 1e12).toFixed(0)} Tops/s, ` +
            `${(100 * v.fractionOfPeak).toFixed(1)}% of ${PEAK_OPS / 1e15} Pops` +
            (v.speedupVsCublasSgemm ? `, ${v.speedupVsCublasSgemm.toFixed(1)}x cuBLAS SGEMM` : ''),
    );
  results.date = new Date().toISOString();
  common.writeJson(outFile, results);
}

module.exports = { run };

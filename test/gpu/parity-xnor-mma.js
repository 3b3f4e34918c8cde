// CUDA-vs-CPU parity of xnor.gemm on the tensor-core paths (cuda/xnor_mma.cu,
// m16n8k256 .and.popc, sm_80+; cuda/xnor_mma75.cu, m8n8k128 .xor.popc, sm_75+) and on
// the CUDA-core path, forced in turn with BITGRAD_XNOR_CUDA=mma / mma75 / core: integers identical to the CPU, float outputs identical
// too (same explicitly rounded double expression). Shapes cover M, N, K in
// {1, 63, 64, 65, 255, 256, 257, 1000, 4096} and non-multiples of the 128 x 128 tile,
// the 512-bit stage and the 256-bit MMA step, odd word counts (8-byte cp.async) and even
// ones (16-byte). On a device below compute 8.0 only the 'core' runs are made.
'use strict';
const { rng } = require('./parity.js');

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

function values(seed, n) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

function same(name, got, want) {
  if (got.length !== want.length) throw new Error(`${name}: ${got.length} values, CPU has ${want.length}`);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) throw new Error(`${name}: element ${i} is ${got[i]} on CUDA, ${want[i]} on the CPU`);
}

function mmaCapable(b) {
  const r = b.backend();
  const d = r.cuda && r.cuda.devices && r.cuda.devices[0];
  return !!d && Number(String(d.computeCapability).split('.')[0]) >= 8;
}

function mma75Capable(b) {
  const r = b.backend();
  const d = r.cuda && r.cuda.devices && r.cuda.devices[0];
  if (!d) return false;
  const [maj, min] = String(d.computeCapability).split('.').map(Number);
  return maj > 7 || (maj === 7 && min >= 5);
}

/** Runs fn with BITGRAD_XNOR_CUDA set to mode, restoring the previous value. */
async function withMode(mode, fn) {
  const prev = process.env.BITGRAD_XNOR_CUDA;
  if (mode === undefined) delete process.env.BITGRAD_XNOR_CUDA;
  else process.env.BITGRAD_XNOR_CUDA = mode;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env.BITGRAD_XNOR_CUDA;
    else process.env.BITGRAD_XNOR_CUDA = prev;
  }
}

async function gemmCase(b, m, n, k, opts, modes) {
  const { packSync } = b.binarize;
  const xf = values(m * 7 + k, m * k);
  const wf = values(n * 13 + k + 1, n * k);
  const shapeX = { layout: 'rows', shape: [m, k] };
  const shapeW = { layout: 'rows', shape: [n, k] };
  const xc = packSync(xf, { ...shapeX, device: 'cpu' });
  const wc = packSync(wf, { ...shapeW, device: 'cpu' });
  const xg = packSync(xf, { ...shapeX, device: 'cuda:0' });
  const wg = packSync(wf, { ...shapeW, device: 'cuda:0' });
  const temps = [xc, wc, xg, wg];
  try {
    const want = b.xnor.gemmSync(xc, wc, opts);
    temps.push(want);
    const w = want.dataSync();
    for (const mode of modes) {
      if (mode === 'mma' && !mmaCapable(b)) continue;
      if (mode === 'mma75' && !mma75Capable(b)) continue;
      await withMode(mode, async () => {
        const g1 = await b.xnor.gemm(xg, wg, opts);
        temps.push(g1);
        const g2 = b.xnor.gemmSync(xg, wg, opts);
        temps.push(g2);
        if (g1.device !== 'cuda:0') throw new Error(`result on ${g1.device}`);
        same(`gemm ${m}x${n}x${k} ${mode || 'default'} (async)`, await g1.data(), w);
        same(`gemm ${m}x${n}x${k} ${mode || 'default'} (sync)`, g2.dataSync(), w);
      });
    }
  } finally {
    for (const t of temps) t.dispose();
  }
}

const SIZES = [1, 63, 64, 65, 255, 256, 257, 1000, 4096];
// mma75 forces the Turing m8n8k128 .xor.popc kernel (cuda/xnor_mma75.cu) on any
// sm_75+ device, so an sm_90 run checks its fragment layout too.
const MODES = ['mma', 'mma75', 'core'];
const shapes = [];
for (const s of SIZES) {
  shapes.push([s, 130, 257]); // M sweeps (N, K ragged)
  shapes.push([129, s, 1000]); // N sweeps
  shapes.push([65, 257, s]); // K sweeps
}
shapes.push([1, 1, 1], [1000, 1000, 4096], [4096, 256, 4096], [257, 4096, 65], [4096, 4096, 256], [1000, 4096, 63]);
// Several 512-bit stages with a partial last one (the other shapes have one stage or
// only full ones): 9, 10, 11 and 19 words, odd counts on the 8-byte cp.async variant.
shapes.push([200, 130, 520], [130, 200, 600], [300, 129, 700], [129, 257, 1153]);
for (const [m, n, k] of shapes)
  add(`xnor-mma gemm ${m}x${n}x${k} int32 (mma, mma75, core)`, (b) => gemmCase(b, m, n, k, {}, MODES));

// Float epilogue (scale, bias, residual) through both paths.
for (const [m, n, k] of [[63, 65, 257], [257, 1000, 4096], [1000, 129, 65]]) {
  add(`xnor-mma gemm ${m}x${n}x${k} float (mma, mma75, core)`, (b) => {
    const scale = values(n + 3, n);
    const bias = values(n + 4, n);
    const residual = values(m * n + 5, m * n);
    return gemmCase(b, m, n, k, { outputType: 'float', scale, bias, residual }, MODES);
  });
  add(`xnor-mma gemm ${m}x${n}x${k} float, no bias (mma)`, (b) =>
    gemmCase(b, m, n, k, { outputType: 'float', scale: Float32Array.of(-0.25) }, ['mma']));
}

// Default routing (no env): int32 and float take the MMA path on sm_80+, bits stays on
// the CUDA-core kernel; all must still match the CPU.
for (const outputType of ['int32', 'float', 'bits'])
  add(`xnor-mma gemm 300x200x777 ${outputType} (default routing)`, (b) =>
    gemmCase(b, 300, 200, 777, outputType === 'int32' ? {} : { outputType, scale: 0.5, bias: 1 }, [undefined]));

// Forcing the MMA path on a call it cannot take (bit output) fails instead of silently
// running the CUDA-core kernel.
add('xnor-mma gemm bits with BITGRAD_XNOR_CUDA=mma fails', async (b) => {
  if (!mmaCapable(b)) return;
  const { packSync } = b.binarize;
  const x = packSync(values(1, 8 * 64), { layout: 'rows', shape: [8, 64], device: 'cuda:0' });
  const w = packSync(values(2, 8 * 64), { layout: 'rows', shape: [8, 64], device: 'cuda:0' });
  try {
    let threw = false;
    await withMode('mma', async () => {
      try {
        const r = await b.xnor.gemm(x, w, { outputType: 'bits' });
        r.dispose();
      } catch {
        threw = true;
      }
    });
    if (!threw) throw new Error('expected an error for bit output with BITGRAD_XNOR_CUDA=mma');
  } finally {
    x.dispose();
    w.dispose();
  }
});

module.exports = { cases };

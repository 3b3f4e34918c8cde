// crossEntropy CUDA-vs-CPU parity: float32 (index and probability targets, weight,
// label smoothing, ignored rows, [N, C, d], every reduction, in place, a large
// vocabulary) and bfloat16 / float16 logits against the CPU on the upcast values.
// Plain JavaScript (see parity.js); registered in cases.js.
'use strict';
const { rng, uniform } = require('./parity.js');

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

function worst(a, b, rtol, atol) {
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) return Infinity;
    w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return w;
}
function close(name, a, b, rtol, atol) {
  const w = worst(Array.from(a), Array.from(b), rtol, atol);
  if (!(w <= 1)) throw new Error(`${name}: CUDA and CPU differ (worst ratio ${w})`);
}

// float32 -> bfloat16 / float16 bits (round to nearest even) and back.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toBf16(v) {
  f32[0] = v;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function fromBf16(h) {
  u32[0] = h << 16;
  return f32[0];
}
function toF16(v) {
  // via the exactly representable grid: enough for |v| < 65504 and normal results
  const s = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return s;
  let e = Math.floor(Math.log2(a));
  if (e < -14) e = -14;
  const m = Math.round(a / 2 ** e * 1024);
  if (m >= 2048) return s | ((e + 16) << 10);
  if (m < 1024) return s | m; // subnormal
  return s | ((e + 15) << 10) | (m - 1024);
}
function fromF16(h) {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

function targets(r, rows, C) {
  return Int32Array.from({ length: rows }, (_, i) => (i % 7 === 3 ? -100 : Math.floor(r() * C)));
}

const SHAPES = [[1, 1], [5, 3], [64, 1000], [33, 1024], [7, 4097], [4, 7, 9], [3, 2000, 2], [0, 10]];
for (const shape of SHAPES) {
  for (const reduction of ['none', 'mean', 'sum']) {
    add(`crossEntropy [${shape}] ${reduction}: float32, index + probability targets, weight, eps 0.1`, async (b) => {
      const r = rng(shape.reduce((a, x) => a * 31 + x, 7) + reduction.length);
      const n = shape.reduce((a, x) => a * x, 1);
      const C = shape[1];
      const rows = n / C || 0;
      const x = uniform(r, n, -8, 8);
      const y = targets(r, shape[0] * (shape[2] || 1), C);
      const w = uniform(r, C, 0.5, 1.5);
      const t = uniform(r, n, 0, 1);
      const go = uniform(r, shape[0] * (shape[2] || 1), -1, 1);
      const rowShape = [shape[0], ...shape.slice(2)];
      for (const prob of [false, true]) {
        const opts = (dev) => ({ weight: b.tensor(w, [C], { device: dev }), labelSmoothing: 0.1, reduction, gradOutput: reduction === 'none' ? b.tensor(go, rowShape, { device: dev }) : 0.5 });
        const tgt = (dev) => (prob ? b.tensor(t, shape, { device: dev }) : b.tensor(y, rowShape, { device: dev }));
        const cpu = b.losses.crossEntropySync(b.tensor(x, shape, { device: 'cpu' }), tgt('cpu'), opts('cpu'));
        const gx = b.tensor(x, shape, { device: 'cuda:0' });
        const gpu = await b.losses.crossEntropy(gx, tgt('cuda:0'), opts('cuda:0'));
        close('loss', gpu.loss.dataSync(), cpu.loss.dataSync(), 2e-5, 1e-6);
        close('grad', gpu.grad.dataSync(), cpu.grad.dataSync(), 1e-4, 1e-7);
        const sync = b.losses.crossEntropySync(gx, tgt('cuda:0'), { ...opts('cuda:0'), inPlace: true });
        if (sync.grad !== gx) throw new Error('inPlace must return the logits');
        close('in place grad', gx.dataSync(), cpu.grad.dataSync(), 1e-4, 1e-7);
        close('in place loss', sync.loss.dataSync(), cpu.loss.dataSync(), 2e-5, 1e-6);
        void rows;
      }
    });
  }
}

add('crossEntropy [16, 131072] float32 mean vs CPU; deterministic run to run', async (b) => {
  const r = rng(131072);
  const N = 16;
  const V = 131072;
  const x = uniform(r, N * V, -10, 10);
  const y = targets(r, N, V);
  const cpu = b.losses.crossEntropySync(x, y, { labelSmoothing: 0.1 });
  const gx = b.tensor(x, [N, V], { device: 'cuda:0' });
  const gy = b.tensor(y, [N], { device: 'cuda:0' });
  const g1 = await b.losses.crossEntropy(gx, gy, { labelSmoothing: 0.1 });
  const g2 = await b.losses.crossEntropy(gx, gy, { labelSmoothing: 0.1 });
  close('loss', g1.loss.dataSync(), [cpu.loss], 2e-5, 1e-6);
  close('grad', g1.grad.dataSync(), cpu.grad, 1e-4, 1e-10);
  if (g1.loss.dataSync()[0] !== g2.loss.dataSync()[0]) throw new Error('loss differs run to run');
  if (Buffer.compare(Buffer.from(g1.grad.dataSync().buffer), Buffer.from(g2.grad.dataSync().buffer)) !== 0) throw new Error('grad differs run to run');
});

for (const [dtype, enc, dec] of [['bfloat16', toBf16, fromBf16], ['float16', toF16, fromF16]]) {
  for (const shape of [[6, 5], [32, 4096], [3, 10, 4]]) {
    add(`crossEntropy [${shape}] ${dtype} logits vs the CPU on the upcast values`, async (b) => {
      const r = rng(shape[1] + dtype.length);
      const n = shape.reduce((a, x) => a * x, 1);
      const raw = uniform(r, n, -6, 6);
      const bits = Uint16Array.from(raw, enc);
      const up = Float32Array.from(bits, dec);
      const rowShape = [shape[0], ...shape.slice(2)];
      const y = targets(r, rowShape.reduce((a, x) => a * x, 1), shape[1]);
      const cpu = b.losses.crossEntropySync(b.tensor(up, shape, { device: 'cpu' }), b.tensor(y, rowShape, { device: 'cpu' }), { reduction: 'sum', labelSmoothing: 0.05 });
      const gx = b.tensor(bits, shape, { device: 'cuda:0', dtype });
      const gpu = await b.losses.crossEntropy(gx, b.tensor(y, rowShape, { device: 'cuda:0' }), { reduction: 'sum', labelSmoothing: 0.05 });
      if (gpu.grad.dtype !== dtype) throw new Error(`grad dtype ${gpu.grad.dtype}`);
      close('loss', gpu.loss.dataSync(), cpu.loss.dataSync(), 1e-5, 1e-5);
      // the gradient is rounded to the logits' dtype
      const g = Float32Array.from(gpu.grad.dataSync(), dec);
      close('grad', g, cpu.grad.dataSync(), dtype === 'bfloat16' ? 8e-3 : 1e-3, 1e-6);
    });
  }
}

add('crossEntropy CUDA: out-of-range target rejects with the row; all ignored gives NaN', async (b) => {
  const gx = b.tensor(new Float32Array(12), [4, 3], { device: 'cuda:0' });
  try {
    await b.losses.crossEntropy(gx, b.tensor(Int32Array.from([0, 1, 5, -7]), [4], { device: 'cuda:0' }));
    throw new Error('expected a rejection');
  } catch (e) {
    if (e.code !== 'BITGRAD_TARGET_OUT_OF_RANGE' || e.index !== 2 || e.value !== 5) throw new Error(`got ${e.code} ${e.index} ${e.value}: ${e.message}`);
  }
  const m = await b.losses.crossEntropy(gx, b.tensor(new Int32Array(4).fill(-100), [4], { device: 'cuda:0' }));
  if (!Number.isNaN(m.loss.dataSync()[0])) throw new Error('all ignored must be NaN');
  if (!m.grad.dataSync().every((v) => v === 0)) throw new Error('all ignored gradient must be zero');
});

module.exports = { cases };

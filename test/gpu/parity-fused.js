// CUDA-vs-CPU parity of fused binarize + pack (binarize.binarizeAndPack / Sync): the words
// must be identical to the CPU's (and to pack(rsign.forward(x)) on the device), NaN
// errors (in x, or from x - alpha) must carry the same index. Plain JavaScript, same
// conventions as parity.js.
'use strict';
const { rng } = require('./parity.js');

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

function values(seed, n) {
  const r = rng(seed);
  const out = new Float32Array(n);
  const special = [0, -0, Infinity, -Infinity, 3e38, -3e38, 1e-45];
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < 0.04 ? special[Math.floor(r() * special.length)] : r() * 3 - 1.5;
  }
  return out;
}

function alphaFor(seed, k) {
  const r = rng(seed);
  const a = new Float32Array(k);
  for (let i = 0; i < k; i++) a[i] = i % 7 === 0 ? 0 : r() - 0.5;
  return a;
}

function sameWords(name, got, want) {
  if (got.length !== want.length) throw new Error(`${name}: ${got.length} words, CPU has ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${name}: word ${i} is ${got[i].toString(16)} on CUDA, ${want[i].toString(16)} on the CPU`);
  }
}

async function expectNan(p, index) {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e.code !== 'BITGRAD_NAN_IN_PACK') throw new Error(`expected BITGRAD_NAN_IN_PACK, got ${e.code}: ${e.message}`);
    if (e.index !== index) throw new Error(`NaN index ${e.index}, expected ${index}`);
    return;
  }
  throw new Error('expected BITGRAD_NAN_IN_PACK, got success');
}

const SHAPES = [
  [[2, 5, 3, 65], 'nhwc', 'nhwc'],
  [[2, 9, 9, 513], 'weights', 'nhwc'],
  [[2, 65, 9, 11], 'nhwc', 'nchw'],
  [[8, 256, 56, 56], 'nhwc', 'nchw'],
  [[5, 130, 3, 3], 'weights', 'nchw'],
  [[1000, 1000], 'rows', 'nhwc'],
  [[7, 1], 'rows', 'nhwc'],
];

for (const [shape, layout, inputLayout] of SHAPES) {
  const k = layout === 'rows' ? shape[shape.length - 1] : inputLayout === 'nchw' ? shape[1] : shape[3];
  for (const alphaKind of ['none', 'scalar', 'perChannel']) {
    add(`binarizeAndPack ${layout} from ${inputLayout} [${shape}], alpha ${alphaKind}`, async (b) => {
      const { binarizeAndPack, binarizeAndPackSync, packSync } = b.binarize;
      const n = shape.reduce((a, c) => a * c, 1);
      const x = values(n + k, n);
      const alpha = alphaKind === 'none' ? undefined : alphaKind === 'scalar' ? 0.3 : alphaFor(k, k);
      const est = alphaKind === 'none' ? {} : { estimator: 'rsign', alpha };
      const base = { layout, inputLayout, shape };
      const cpu = binarizeAndPackSync(x, { ...base, ...est, device: 'cpu' });
      const want = cpu.dataSync();
      const xt = b.tensor(x, [n], { device: 'cuda:0' });
      const at = alpha instanceof Float32Array ? b.tensor(alpha, [k], { device: 'cuda:0' }) : undefined;
      const g1 = await binarizeAndPack(xt, { ...base, ...est, ...(at ? { alpha: at } : {}) });
      const g2 = binarizeAndPackSync(x, { ...base, ...est, device: 'cuda:0' });
      if (g1.device !== 'cuda:0' || g2.device !== 'cuda:0') throw new Error(`result on ${g1.device} / ${g2.device}`);
      sameWords('async, tensor alpha', await g1.data(), want);
      sameWords('sync, host alpha', g2.dataSync(), want);
      // Unfused on the device: rsign forward then pack.
      if (alpha !== undefined) {
        const axis = layout === 'rows' ? shape.length - 1 : inputLayout === 'nchw' ? 1 : 3;
        const xs = b.tensor(x, shape, { device: 'cuda:0' });
        const f = b.binarize.rsign.forwardSync(xs, { alpha: at ?? alpha, channelAxis: axis });
        const p = packSync(f, { layout, inputLayout });
        sameWords('pack(rsign.forward) on cuda', p.dataSync(), want);
        for (const t of [xs, f, p]) t.dispose();
      }
      for (const t of [cpu, xt, g1, g2]) t.dispose();
      if (at) at.dispose();
    });
  }
}

add('binarizeAndPack NaN on cuda: x, inf - inf, NaN alpha', async (b) => {
  const [N, C, H, W] = [2, 70, 9, 9];
  const shape = [N, C, H, W];
  const n = N * C * H * W;
  const x = values(77, n);
  x[n - 3] = NaN;
  x[4321] = NaN;
  const live = b.memory().liveTensors;
  const xt = b.tensor(x, [n], { device: 'cuda:0' });
  const opts = { layout: 'nhwc', inputLayout: 'nchw', shape, estimator: 'rsign', alpha: 0.1 };
  await expectNan(b.binarize.binarizeAndPack(xt, opts), 4321);
  await expectNan(() => b.binarize.binarizeAndPackSync(x, { ...opts, device: 'cpu' }), 4321);
  await expectNan(() => b.binarize.binarizeAndPackSync(x, { ...opts, device: 'cuda:0' }), 4321);
  xt.dispose();
  const y = Float32Array.of(0.5, Infinity, -1, 2);
  const inf = { layout: 'rows', shape: [1, 4], estimator: 'rsign', alpha: Float32Array.of(0, Infinity, 0, 0) };
  await expectNan(() => b.binarize.binarizeAndPackSync(y, { ...inf, device: 'cuda:0' }), 1);
  await expectNan(() => b.binarize.binarizeAndPackSync(y, { layout: 'rows', shape: [2, 2], estimator: 'rsign', alpha: Float32Array.of(0, NaN), device: 'cuda:0' }), 1);
  if (b.memory().liveTensors !== live) throw new Error('a failed binarizeAndPack leaked tensors');
});

module.exports = { cases };

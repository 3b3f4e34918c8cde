// CUDA-vs-CPU parity of the binary conv backward (xnor.conv2dBackwardInput / Weight,
// async and sync): both backends evaluate the same float32 operations in the same order
// (native/ops/xnor_conv_train_args.h), so the results must be identical. Plain
// JavaScript, same conventions as parity.js.
'use strict';
const { rng } = require('./parity.js');

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

function values(seed, n, scale = 1) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

function same(name, got, want) {
  if (got.length !== want.length) throw new Error(`${name}: ${got.length} values, CPU has ${want.length}`);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) throw new Error(`${name}: element ${i} is ${got[i]} on CUDA, ${want[i]} on the CPU`);
}

const SHAPES = [
  // n, h, w, c, cout, k, stride, pad, dil, groups
  [2, 5, 7, 3, 4, 3, 1, 1, 1, 1],
  [1, 9, 9, 65, 65, 3, 2, 1, 1, 1],
  [2, 8, 6, 6, 6, 3, 1, 2, 2, 3],
  [1, 14, 14, 130, 64, 3, 1, 1, 1, 2],
];

for (const [n, h, w, c, cout, k, s, p, d, groups] of SHAPES)
  for (const padMode of ['zero', 'one'])
    add(`xnor conv2dBackwardInput / Weight ${n}x${h}x${w}x${c} -> ${cout} k${k} s${s} p${p} d${d} g${groups} ${padMode}`, async (b) => {
      const { packSync } = b.binarize;
      const cg = c / groups;
      const ho = Math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1;
      const wo = Math.floor((w + 2 * p - d * (k - 1) - 1) / s) + 1;
      const xf = values(n + h + c, n * h * w * c);
      const wf = values(cout + k, cout * k * k * cg);
      const g = values(ho * wo + 1, n * ho * wo * cout, 3);
      const alpha = values(cout + 2, cout, 0.5);
      const xs = { layout: 'nhwc', shape: [n, h, w, c] };
      const ws = { layout: 'weights', shape: [cout, k, k, cg] };
      const xc = packSync(xf, { ...xs, device: 'cpu' });
      const wc = packSync(wf, { ...ws, device: 'cpu' });
      const xg = packSync(xf, { ...xs, device: 'cuda:0' });
      const wg = packSync(wf, { ...ws, device: 'cuda:0' });
      const gc = b.tensor(g, [n, ho, wo, cout]);
      const gg = b.tensor(g, [n, ho, wo, cout], { device: 'cuda:0' });
      const o = { stride: s, padding: p, dilation: d, groups, padMode };
      const wantI = b.xnor.conv2dBackwardInputSync(gc, wc, { ...o, alpha, inputSize: [h, w] });
      const wantW = b.xnor.conv2dBackwardWeightSync(gc, xc, { ...o, kernelSize: k });
      const i1 = await b.xnor.conv2dBackwardInput(gg, wg, { ...o, alpha, inputSize: [h, w] });
      const w1 = await b.xnor.conv2dBackwardWeight(gg, xg, { ...o, kernelSize: k });
      const i2 = b.xnor.conv2dBackwardInputSync(gg, wg, { ...o, alpha, inputSize: [h, w] });
      const w2 = b.xnor.conv2dBackwardWeightSync(gg, xg, { ...o, kernelSize: k });
      if (i1.device !== 'cuda:0') throw new Error(`result on ${i1.device}`);
      same('gradInput (async)', await i1.data(), wantI.dataSync());
      same('gradWeight (async)', await w1.data(), wantW.dataSync());
      same('gradInput (sync)', i2.dataSync(), wantI.dataSync());
      same('gradWeight (sync)', w2.dataSync(), wantW.dataSync());
      for (const t of [xc, wc, xg, wg, gc, gg, wantI, wantW, i1, w1, i2, w2]) t.dispose();
    });

module.exports = { cases };

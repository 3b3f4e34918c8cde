// CUDA-vs-CPU parity of the binary dense layer (xnor.linear / linearSync /
// linearBackward / linearBackwardSync): both backends evaluate the same float32
// operations in the same order (native/ops/xnor_train_args.h), so the results must be
// identical. Plain JavaScript, same conventions as parity.js.
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

for (const [m, n, k] of [[1, 1, 1], [5, 7, 63], [70, 130, 257], [256, 300, 1000]]) {
  add(`xnor linear / linearBackward ${m}x${n}x${k}`, async (b) => {
    const { packSync } = b.binarize;
    const xf = values(m + k, m * k);
    const wf = values(n + k, n * k);
    const g = values(m * n + 1, m * n, 3);
    const alpha = values(n + 2, n, 0.5);
    const bias = values(n + 3, n);
    const xc = packSync(xf, { layout: 'rows', shape: [m, k], device: 'cpu' });
    const wc = packSync(wf, { layout: 'rows', shape: [n, k], device: 'cpu' });
    const xg = packSync(xf, { layout: 'rows', shape: [m, k], device: 'cuda:0' });
    const wg = packSync(wf, { layout: 'rows', shape: [n, k], device: 'cuda:0' });
    const fc = b.xnor.linearSync(xc, wc, alpha, { bias });
    const fg = await b.xnor.linear(xg, wg, alpha, { bias });
    same('linear', await fg.data(), fc.dataSync());
    const want = b.xnor.linearBackwardSync(g, xc, wc, alpha);
    const gt = b.tensor(g, [m, n], { device: 'cuda:0' });
    const a1 = await b.xnor.linearBackward(gt, xg, wg, alpha);
    const ag = b.tensor(alpha, [n], { device: 'cuda:0' });
    const a2 = b.xnor.linearBackwardSync(g, xg, wg, ag);
    if (a1.gradInput.device !== 'cuda:0') throw new Error(`result on ${a1.gradInput.device}`);
    same('gradInput (async)', await a1.gradInput.data(), want.gradInput.dataSync());
    same('gradWeight (async)', await a1.gradWeight.data(), want.gradWeight.dataSync());
    same('gradInput (sync)', a2.gradInput.dataSync(), want.gradInput.dataSync());
    same('gradWeight (sync)', a2.gradWeight.dataSync(), want.gradWeight.dataSync());
    for (const t of [xc, wc, xg, wg, fc, fg, gt, ag, want.gradInput, want.gradWeight, a1.gradInput, a1.gradWeight, a2.gradInput, a2.gradWeight]) t.dispose();
  });
}

module.exports = { cases };

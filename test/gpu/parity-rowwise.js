// Row-wise research losses (lib/losses/rowwise.ts): CUDA (one warp per row, float32)
// against the CPU (double row math) on every loss, every reduction, small / ragged /
// wide rows, extreme logits, the ALDR-KL state and the coded check errors.
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
  if (a.length !== b.length) throw new Error(`${name}: length ${a.length} vs ${b.length}`);
  const w = worst(Array.from(a), Array.from(b), rtol, atol);
  if (!(w <= 1)) throw new Error(`${name}: CUDA and CPU differ (worst ratio ${w})`);
}
const ints = (r, n, C) => Int32Array.from({ length: n }, () => Math.floor(r() * C));
const mask = (r, N, C) => Float32Array.from({ length: N * C }, (_, k) => (k % C === 1 || r() < 0.2 ? 1 : 0));

// [fn name, inputs(r, N, C) -> arrays with kind 'x' | 't' | 'y', opts]
const LOSSES = [
  ['zLoss', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], { a: 1.5, b: 0.3 }],
  ['compSumLoss', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], { tau: 0.5 }],
  ['generalizedCrossEntropy', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], {}],
  ['rmtSymmetricCrossEntropy', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['t', uniform(r, N * C, -4, 4)]], {}],
  ['kdLoss', (r, N, C) => [['x', uniform(r, N * C, -6, 6)], ['t', uniform(r, N * C, -6, 6)]], { temperature: 2 }],
  ['decoupledSoftmax', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['t', mask(r, N, C)]], {}],
  ['plackettLuceDistillation', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['t', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], { temperature: 1.5 }],
  ['ldrKl', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], { margin: 0.1, lambda: 10 }],
  ['ldrKl', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], { scores: 'l1' }],
  ['cbcLoss', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['t', uniform(r, N * C, -6, 6)]], {}],
  ['passAtNLoss', (r, N, C) => [['x', uniform(r, N * C, -4, 4)], ['y', ints(r, N, C)]], { n: 4 }],
];

function toT(b, kind, arr, N, C, dev) {
  return kind === 'y' ? b.tensor(arr, [N], { device: dev }) : b.tensor(arr, [N, C], { device: dev });
}

for (const [fn, make, extra] of LOSSES) {
  for (const [N, C] of [[1, 2], [9, 5], [64, 33], [17, 1000], [3, 4099]]) {
    for (const reduction of ['none', 'mean', 'sum']) {
      add(`${fn} ${JSON.stringify(extra)} [${N}, ${C}] ${reduction}`, async (b) => {
        const r = rng(N * 7919 + C + reduction.length + fn.length);
        const ins = make(r, N, C);
        const go = uniform(r, N, -1, 1);
        const opts = (dev) => ({ ...extra, reduction, gradOutput: reduction === 'none' ? b.tensor(go, [N], { device: dev }) : 0.75 });
        const cpu = b.losses[`${fn}Sync`](...ins.map(([k, a]) => toT(b, k, a, N, C, 'cpu')), opts('cpu'));
        const gpu = await b.losses[fn](...ins.map(([k, a]) => toT(b, k, a, N, C, 'cuda:0')), opts('cuda:0'));
        close('loss', gpu.loss.dataSync(), cpu.loss.dataSync(), 1e-4, 1e-5);
        close('grad', gpu.grad.dataSync(), cpu.grad.dataSync(), 2e-4, 1e-6);
        const again = await b.losses[fn](...ins.map(([k, a]) => toT(b, k, a, N, C, 'cuda:0')), opts('cuda:0'));
        if (again.loss.dataSync().some((v, i) => !Object.is(v, gpu.loss.dataSync()[i]))) throw new Error('loss differs run to run');
      });
    }
  }
  add(`${fn} ${JSON.stringify(extra)}: extreme logits +-1e4 match the CPU`, async (b) => {
    const N = 6, C = 7;
    const r = rng(5);
    const ins = make(r, N, C).map(([k, a]) => [k, k === 'x' || (k === 't' && fn !== 'decoupledSoftmax') ? Float32Array.from(a, (_, i) => [1e4, -1e4, 0][i % 3]) : a]);
    const cpu = b.losses[`${fn}Sync`](...ins.map(([k, a]) => toT(b, k, a, N, C, 'cpu')), { ...extra, reduction: 'none' });
    const gpu = await b.losses[fn](...ins.map(([k, a]) => toT(b, k, a, N, C, 'cuda:0')), { ...extra, reduction: 'none' });
    close('loss', gpu.loss.dataSync(), cpu.loss.dataSync(), 1e-4, 1e-4);
    close('grad', gpu.grad.dataSync(), cpu.grad.dataSync(), 1e-4, 1e-5);
  });
}

add('AldrKl on CUDA: state moves to the device and matches the CPU over three steps', async (b) => {
  const r = rng(11);
  const cpuL = new b.losses.AldrKl({ nTrain: 50, scores: 'softplus' });
  const gpuL = new b.losses.AldrKl({ nTrain: 50, scores: 'softplus' });
  for (let step = 0; step < 3; step++) {
    const N = 16, C = 40;
    const x = uniform(r, N * C, -3, 3);
    const y = ints(r, N, C);
    const idx = Int32Array.from({ length: N }, (_, i) => (i * 3 + step) % 50);
    const c = cpuL.lossSync(x, y, idx);
    const g = await gpuL.loss(b.tensor(x, [N, C], { device: 'cuda:0' }), b.tensor(y, [N], { device: 'cuda:0' }), b.tensor(idx, [N], { device: 'cuda:0' }));
    close('loss', g.loss.dataSync(), [c.loss], 1e-4, 1e-5);
    close('grad', g.grad.dataSync(), c.grad, 2e-4, 1e-6);
    close('lambdas', gpuL.lambdas(), cpuL.lambdas(), 1e-5, 1e-6);
  }
  gpuL.dispose();
});

add('row-wise CUDA checks: bad target, sample index and mask reject with row and value', async (b) => {
  const d = { device: 'cuda:0' };
  const expectErr = async (p, index, value) => {
    try {
      await p;
    } catch (e) {
      if (e.code !== 'BITGRAD_TARGET_OUT_OF_RANGE' || e.index !== index || e.value !== value) throw new Error(`got ${e.code} ${e.index} ${e.value}: ${e.message}`);
      return;
    }
    throw new Error('expected a rejection');
  };
  const x = b.tensor(new Float32Array(12), [4, 3], d);
  await expectErr(b.losses.zLoss(x, b.tensor(Int32Array.from([0, 1, 5, -7]), [4], d)), 2, 5);
  await expectErr(b.losses.decoupledSoftmax(x, b.tensor(Float32Array.from([1, 0, 0, 0, 1, 0, 0, 2, 0, 1, 1, 1]), [4, 3], d)), 2, 1);
  const a = new b.losses.AldrKl({ nTrain: 2 });
  await expectErr(a.loss(x, b.tensor(new Int32Array(4), [4], d), b.tensor(Int32Array.from([0, 1, 9, 1]), [4], d)), 2, 9);
  const e = await b.losses.cbcLoss(b.tensor(new Float32Array(0), [0, 2], d), b.tensor(new Float32Array(0), [0, 2], d));
  if (e.loss.dataSync()[0] !== 0) throw new Error('empty cbc mean must be 0');
  const m = await b.losses.kdLoss(b.tensor(new Float32Array(0), [0, 2], d), b.tensor(new Float32Array(0), [0, 2], d));
  if (!Number.isNaN(m.loss.dataSync()[0])) throw new Error('empty mean must be NaN');
});

module.exports = { cases };

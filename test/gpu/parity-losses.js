// CUDA-vs-CPU parity of the elementwise losses (binaryCrossEntropy, sigmoidFocalLoss,
// softMarginLoss, hingeEmbeddingLoss, klDiv, marginBce): every reduction, ragged sizes,
// weights, target gradients, the range checks, async and sync forms.
'use strict';
const { rng, uniform } = require('./parity.js');

function worst(a, b, rtol, atol) {
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i]) || a[i] === b[i]) continue;
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) {
      if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
      continue;
    }
    w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return w;
}

function assertClose(name, a, b, rtol = 1e-5, atol = 1e-6) {
  const A = typeof a === 'number' ? [a] : Array.from(a);
  const B = typeof b === 'number' ? [b] : Array.from(b);
  if (A.length !== B.length) throw new Error(`${name}: length ${A.length} != ${B.length}`);
  const w = worst(A, B, rtol, atol);
  if (!(w <= 1)) throw new Error(`${name}: CUDA and CPU differ (worst ratio ${w})`);
}

// [loss, input generator, target generator, option sets]
const LOSSES = [
  ['binaryCrossEntropy', (r, n) => uniform(r, n, 0, 1), (r, n) => uniform(r, n, 0, 1), [{}, { weight: 0.5 }]],
  ['sigmoidFocalLoss', (r, n) => uniform(r, n, -20, 20), (r, n) => uniform(r, n, 0, 1), [{}, { gamma: 1.7, alpha: -1 }, { gamma: 0.5 }]],
  ['softMarginLoss', (r, n) => uniform(r, n, -20, 20), (r, n) => Float32Array.from(uniform(r, n, 0, 1), (v) => (v < 0.5 ? -1 : 1)), [{}]],
  ['hingeEmbeddingLoss', (r, n) => uniform(r, n, -3, 3), (r, n) => Float32Array.from(uniform(r, n, 0, 1), (v) => (v < 0.4 ? -1 : v < 0.9 ? 1 : 0)), [{}, { margin: 0.5 }]],
  ['klDiv', (r, n) => uniform(r, n, -8, 0), (r, n) => uniform(r, n, 0, 1), [{ targetGrad: true }, { logTarget: true, targetGrad: true }]],
  ['marginBce', (r, n) => uniform(r, n, -20, 20), (r, n) => uniform(r, n, 0, 1), [{ margin: 0.4 }, { margin: 2, weight: 0.3 }]],
];

const cases = [];
for (const n of [0, 1, 5, 1023, 1025, 300001]) {
  for (const [name, gx, gy, optSets] of LOSSES) {
    cases.push({
      name: `losses.${name} n=${n}: none / mean / sum, async and sync`,
      fn: async (b) => {
        const r = rng(n * 7 + name.length);
        const x = gx(r, n);
        const y = gy(r, n);
        if (n > 8 && name === 'sigmoidFocalLoss') x.set([1e4, -1e4, NaN], 0);
        const L = b.losses;
        for (const o of optSets) {
          for (const reduction of ['none', 'mean', 'sum']) {
            const opts = { ...o, reduction };
            const host = L[`${name}Sync`](x, y, opts);
            await b.scopeAsync(async () => {
              const xt = b.tensor(x, [n], { device: 'cuda:0' });
              const yt = b.tensor(y, [n], { device: 'cuda:0' });
              const a = await L[name](xt, yt, opts);
              const s = L[`${name}Sync`](xt, yt, opts);
              for (const [tag, dev] of [['async', a], ['sync', s]]) {
                const loss = await dev.loss.data();
                assertClose(`${name} ${tag} ${reduction} loss`, reduction === 'none' ? loss : loss[0], host.loss, 1e-5, reduction === 'sum' ? 1e-6 * Math.max(n, 1) : 1e-6);
                assertClose(`${name} ${tag} ${reduction} grad`, await dev.grad.data(), host.grad);
                if (host.gradTarget) assertClose(`${name} ${tag} ${reduction} gradTarget`, await dev.gradTarget.data(), host.gradTarget);
              }
            });
          }
        }
      },
    });
  }
}

cases.push({
  name: 'losses range checks on CUDA: binaryCrossEntropy input, marginBce targets (async rejects with the code)',
  fn: async (b) => {
    const x = new Float32Array(5000).fill(0.5);
    x[4321] = 1.5;
    const y = new Float32Array(5000).fill(1);
    await b.scopeAsync(async () => {
      const xt = b.tensor(x, [5000], { device: 'cuda:0' });
      const yt = b.tensor(y, [5000], { device: 'cuda:0' });
      let code = null;
      await b.losses.binaryCrossEntropy(xt, yt).catch((e) => (code = e.code));
      if (code !== 'BITGRAD_INPUT_OUT_OF_RANGE') throw new Error(`binaryCrossEntropy: got ${code}`);
      code = null;
      await b.losses.marginBce(yt, xt).catch((e) => (code = e.code));
      if (code !== 'BITGRAD_TARGET_OUT_OF_RANGE') throw new Error(`marginBce: got ${code}`);
    });
  },
});

// Row-wise losses (cuda/rowwise_losses.cu) at the edges the random cases miss: NaN
// teacher logits (plackettLuceDistillation ranks the classes by them and must stay a
// permutation, never an out-of-bounds index) and NaN logits in short rows (each lane then
// holds only the NaN: the warp logsumexp must not drop it) give NaN rows as on the CPU;
// all-equal zLoss rows have z = 0 exactly (a float mean's ulp residue over sigma ~ 1e-12
// would not).
cases.push({
  name: 'row-wise losses on CUDA: NaN teacher / logits give NaN rows as the CPU; constant zLoss rows',
  fn: async (b) => {
    const L = b.losses;
    const on = (dev) => (a, shape) => b.tensor(a, shape, { device: dev });
    const both = async (tag, fn, make, opts) => {
      const cpu = L[`${fn}Sync`](...make(on('cpu')), opts);
      const gpu = await L[fn](...make(on('cuda:0')), opts);
      assertClose(`${tag} loss`, await gpu.loss.data(), cpu.loss.dataSync(), 1e-4, 1e-5);
      assertClose(`${tag} grad`, await gpu.grad.data(), cpu.grad.dataSync(), 2e-4, 1e-6);
    };
    for (const C of [5, 40, 70]) {
      const N = 4;
      const x = Float32Array.from({ length: N * C }, (_, i) => 3 * Math.sin(i * 0.7));
      const t = Float32Array.from({ length: N * C }, (_, i) => 3 * Math.cos(i * 1.3));
      t.set([NaN, NaN], 1); // row 0: two NaN teachers (equal ranks without the fix)
      t[2 * C - 1] = NaN; // row 1; rows 2 and 3 stay finite
      const y = Int32Array.from({ length: N }, (_, i) => (i * 3) % C);
      await b.scopeAsync(async () => {
        for (const reduction of ['none', 'sum']) {
          await both(`pld C=${C} ${reduction}`, 'plackettLuceDistillation', (T) => [T(x, [N, C]), T(t, [N, C]), T(y, [N])], { reduction });
        }
        const xn = Float32Array.from(x);
        xn[2] = NaN;
        xn[C + C - 1] = NaN;
        await both(`compSum NaN logit C=${C}`, 'compSumLoss', (T) => [T(xn, [N, C]), T(y, [N])], { reduction: 'none', tau: 0.5 });
        const tf = Float32Array.from(t, (v) => (Number.isNaN(v) ? 0 : v));
        await both(`kd NaN logit C=${C}`, 'kdLoss', (T) => [T(xn, [N, C]), T(tf, [N, C])], { reduction: 'none', temperature: 2 });
        const xc = Float32Array.from({ length: N * C }, (_, i) => [0.1, 3.7, -2.3, 1000.3][Math.floor(i / C)]);
        await both(`zLoss constant rows C=${C}`, 'zLoss', (T) => [T(xc, [N, C]), T(y, [N])], { reduction: 'none', a: 1.5, b: 0.3 });
      });
    }
  },
});

module.exports = { cases };

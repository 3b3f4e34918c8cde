// CUDA-vs-CPU parity of the research losses (diceLoss, softIoULoss, basnetHybrid,
// anyLoss, mwLoss, paBce, triBce): every reduction, async and sync forms, ragged sizes,
// the BASNet range check.
'use strict';
const { rng, uniform } = require('./parity.js');

function assertClose(name, a, b, rtol = 1e-4, atol = 1e-6) {
  const A = typeof a === 'number' ? [a] : Array.from(a);
  const B = typeof b === 'number' ? [b] : Array.from(b);
  if (A.length !== B.length) throw new Error(`${name}: length ${A.length} != ${B.length}`);
  for (let i = 0; i < A.length; i++) {
    if (Object.is(A[i], B[i]) || (Number.isNaN(A[i]) && Number.isNaN(B[i]))) continue;
    if (!(Math.abs(A[i] - B[i]) <= atol + rtol * Math.abs(B[i]))) throw new Error(`${name}[${i}]: CUDA ${A[i]} vs CPU ${B[i]}`);
  }
}

const bin = (r, n, p = 0.5) => Float32Array.from(uniform(r, n, 0, 1), (v) => (v < p ? 1 : 0));

// [name, shape, inputs(r, n) -> arrays (trained first), option sets, reducible]
const LOSSES = [
  ['diceLoss', [3, 2, 17, 33], (r, n) => [uniform(r, n, 0, 1), bin(r, n)], [{}, { squaredPred: true }, { jaccard: true }], true],
  ['softIoULoss', [2, 3, 1000], (r, n) => [uniform(r, n, 0, 1), bin(r, n)], [{}, { smoothNr: 1, smoothDr: 1 }], true],
  ['basnetHybrid', [3, 1, 37, 70], (r, n) => [uniform(r, n, 0.01, 0.99), bin(r, n)], [{}, { epsilon: 1e-3 }], true],
  ['basnetHybrid', [2, 1, 4, 4], (r, n) => [uniform(r, n, 0.01, 0.99), bin(r, n)], [{}], true],
  ['anyLoss', [100003], (r, n) => [uniform(r, n, 0, 1), bin(r, n, 0.3)], [{ L: 10 }, { L: 4, metric: 'balancedAccuracy', epsilon: 1e-5 }, { L: 20, metric: 'gmean' }, { L: 8, metric: 'fbeta', beta: 2 }], false],
  ['mwLoss', [33, 99], (r, n) => [uniform(r, n, -1, 1)], [{}, { tau: 0.05 }], true],
  ['paBce', [501, 13], (r, n) => [uniform(r, n, -1, 1), uniform(r, n, -100, 100)], [{}, { topK: 5 }], true],
  ['triBce', [70001], (r, n) => [uniform(r, n, -5, 5), uniform(r, n, -5, 5), bin(r, n)], [{}, { detachWeights: true }], false],
];

const cases = [];
for (const [name, shape, gen, optSets, reducible] of LOSSES) {
  cases.push({
    name: `losses.${name} [${shape.join(', ')}]: CUDA matches CPU, async and sync`,
    fn: async (b) => {
      const n = shape.reduce((a, c) => a * c, 1);
      const r = rng(n + name.length);
      const arrays = gen(r, n);
      const L = b.losses;
      const call = (fn, args, opts) => (name === 'mwLoss' ? fn(args[0], opts) : fn(...args, opts));
      for (const o of optSets) {
        for (const reduction of reducible ? ['none', 'mean', 'sum'] : [undefined]) {
          const opts = reduction ? { ...o, reduction } : { ...o };
          const host = call(L[`${name}Sync`], arrays, { ...opts, shape });
          await b.scopeAsync(async () => {
            const ts = arrays.map((a) => b.tensor(a, shape, { device: 'cuda:0' }));
            const a = await call(L[name], ts, opts);
            const s = call(L[`${name}Sync`], ts, opts);
            for (const [tag, dev] of [['async', a], ['sync', s]]) {
              const loss = await dev.loss.data();
              assertClose(`${name} ${tag} ${reduction} loss`, reduction === 'none' ? loss : loss[0], host.loss, 1e-4, 1e-5);
              if (name === 'triBce') {
                assertClose(`${name} ${tag} gradD`, await dev.gradD.data(), host.gradD);
                assertClose(`${name} ${tag} gradS`, await dev.gradS.data(), host.gradS);
              } else {
                assertClose(`${name} ${tag} ${reduction} grad`, await dev.grad.data(), host.grad, 1e-4, 1e-6);
              }
            }
          });
        }
      }
    },
  });
}

cases.push({
  name: 'losses.basnetHybrid on CUDA: P outside [0, 1] rejects with BITGRAD_INPUT_OUT_OF_RANGE (async)',
  fn: async (b) => {
    const p = new Float32Array(64).fill(0.5);
    p[17] = -0.25;
    const g = new Float32Array(64).fill(1);
    await b.scopeAsync(async () => {
      const pt = b.tensor(p, [1, 1, 8, 8], { device: 'cuda:0' });
      const gt = b.tensor(g, [1, 1, 8, 8], { device: 'cuda:0' });
      let code = null;
      await b.losses.basnetHybrid(pt, gt).catch((e) => (code = e.code));
      if (code !== 'BITGRAD_INPUT_OUT_OF_RANGE') throw new Error(`basnetHybrid: got ${code}`);
    });
  },
});

module.exports = { cases };

// CUDA-vs-CPU parity of the scaling ops and row-statistic binarizers
// (binarize.magnitudeAwareSign / xnor / dorefa, ternaryWeights, libraPB, recu,
// bivitWeights, multiBasis, recuActivation, elastic, xnorK, xnorPlusPlus): forward values, the scales,
// gradients, learnable-scale gradients (deterministic run to run), async and sync.
'use strict';
const { rng, uniform } = require('./parity.js');

function assertClose(name, a, b, rtol = 2e-5, atol = 2e-6) {
  if (a.length !== b.length) throw new Error(`${name}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (!(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i])))
      throw new Error(`${name}: element ${i}: CUDA ${a[i]} vs CPU ${b[i]}`);
  }
}
const same = (a, b) => Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)) === 0;

const cases = [];
const add = (name, fn) => cases.push({ name, fn });

const ROW = [
  ['magnitudeAwareSign', {}], ['xnor', { scaleGrad: 'full' }], ['dorefa', { perChannel: false, steBoundary: 'exclusive' }],
  ['ternaryWeights', {}], ['ternaryWeights', { levels: 2 }], ['libraPB', { t: 2 }], ['recu', { tau: 0.9 }],
  ['bivitWeights', {}], ['multiBasis', { bases: 1 }], ['multiBasis', { bases: 4 }],
  ['recuActivation', {}], ['recuActivation', { training: false, zeroMode: 'zero' }],
];
for (const shape of [[1, 5], [3, 4, 3, 3], [64, 33000]]) {
  for (const [name, o] of ROW) {
    add(`binarize.${name} ${JSON.stringify(o)} [${shape}]`, async (b) => {
      const n = shape.reduce((a, d) => a * d, 1);
      const r = rng(n + name.length);
      const x = uniform(r, n, -1.5, 1.5);
      x[0] = 0;
      const g = uniform(r, n, -1, 1);
      const e = b.binarize[name];
      const hf = e.forwardSync(x, { ...o, shape });
      const hb = e.backwardSync(x, g, { ...o, shape });
      await b.scopeAsync(async () => {
        const xt = b.tensor(x, shape, { device: 'cuda:0' });
        const gt = b.tensor(g, shape, { device: 'cuda:0' });
        const fa = await e.forward(xt, o);
        const fs = e.forwardSync(xt, o);
        assertClose('alpha', await fa.alpha.data(), hf.alpha);
        assertClose('forward', await fa.out.data(), hf.out);
        assertClose('forwardSync', await fs.out.data(), hf.out);
        const ba = await e.backward(xt, gt, o);
        const bs = e.backwardSync(xt, gt, o);
        assertClose('backward', await ba.grad.data(), hb.grad, 1e-4, 1e-5);
        assertClose('backwardSync', await bs.grad.data(), hb.grad, 1e-4, 1e-5);
        if (hb.alphaGrad) {
          const a1 = await ba.alphaGrad.data();
          assertClose('alphaGrad', a1, hb.alphaGrad, 1e-4, 1e-4);
          if (!same(a1, await bs.alphaGrad.data())) throw new Error('alphaGrad not deterministic');
        }
      });
    });
  }
}

add('binarize.elastic ternary / binary with a learnable scale', async (b) => {
  const n = 70001;
  const r = rng(5);
  const x = uniform(r, n, -2, 2);
  const g = uniform(r, n, -1, 1);
  for (const mode of ['binary', 'ternary', 'unsignedBinary']) {
    const o = { alpha: 0.6, mode };
    const hf = b.binarize.elastic.forwardSync(x, o);
    const hb = b.binarize.elastic.backwardSync(x, g, o);
    await b.scopeAsync(async () => {
      const xt = b.tensor(x, [n], { device: 'cuda:0' });
      const gt = b.tensor(g, [n], { device: 'cuda:0' });
      assertClose('forward', await b.binarize.elastic.forwardSync(xt, o).data(), hf, 0, 0);
      const d = await b.binarize.elastic.backward(xt, gt, o);
      assertClose('dx', await d.grad.data(), hb.grad, 0, 0);
      assertClose('dalpha', await d.alphaGrad.data(), hb.alphaGrad, 1e-4, 1e-5);
    });
  }
});

for (const [shape, opts] of [[[1, 2, 3, 3], { kernel: 2 }], [[2, 16, 9, 11], { kernel: 3, stride: 2, padding: 1 }]]) {
  add(`binarize.xnorK [${shape}] ${JSON.stringify(opts)} and xnorPlusPlus`, async (b) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const r = rng(n);
    const x = uniform(r, n, -2, 2);
    const g = uniform(r, n, -1, 1);
    const [, C, H, W] = shape;
    const o = uniform(r, C, 0.5, 1.5), h = uniform(r, H, 0.5, 1.5), w = uniform(r, W, 0.5, 1.5);
    const hk = b.binarize.xnorKSync(x, { ...opts, shape });
    const hp = b.binarize.xnorPlusPlus.backwardSync(x, g, { shape, o, h, w });
    const hpf = b.binarize.xnorPlusPlus.forwardSync(x, { shape, o, h, w });
    await b.scopeAsync(async () => {
      const xt = b.tensor(x, shape, { device: 'cuda:0' });
      const gt = b.tensor(g, shape, { device: 'cuda:0' });
      assertClose('K', await (await b.binarize.xnorK(xt, opts)).data(), hk);
      const dev = { o: b.tensor(o, [C], { device: 'cuda:0' }), h: b.tensor(h, [H], { device: 'cuda:0' }), w: b.tensor(w, [W], { device: 'cuda:0' }) };
      assertClose('xnor++ forward', await b.binarize.xnorPlusPlus.forwardSync(xt, dev).data(), hpf);
      const d = await b.binarize.xnorPlusPlus.backward(xt, gt, dev);
      assertClose('xnor++ grad', await d.grad.data(), hp.grad);
      assertClose('xnor++ oGrad', await d.oGrad.data(), hp.oGrad, 1e-4, 1e-4);
      assertClose('xnor++ hGrad', await d.hGrad.data(), hp.hGrad, 1e-4, 1e-4);
      assertClose('xnor++ wGrad', await d.wGrad.data(), hp.wGrad, 1e-4, 1e-4);
    });
  });
}

module.exports = { cases };

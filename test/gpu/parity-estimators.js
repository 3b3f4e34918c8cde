// CUDA-vs-CPU parity of the straight-through estimators (binarize.ste ... fda, rsign):
// forward and backward on sizes with ragged tails, boundary values, per-channel rsign
// thresholds with their (deterministic) gradient, async and sync forms.
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

function assertClose(name, a, b, rtol = 2e-6, atol = 1e-6) {
  if (a.length !== b.length) throw new Error(`${name}: length ${a.length} != ${b.length}`);
  const w = worst(Array.from(a), Array.from(b), rtol, atol);
  if (!(w <= 1)) throw new Error(`${name}: CUDA and CPU differ (worst ratio ${w})`);
}

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

const OPTS = {
  ste: [{}, { clip: 0.5, steBoundary: 'exclusive' }],
  approxSign: [{}],
  swishSign: [{ beta: 5 }],
  reste: [{ o: 3 }, { o: 1 }],
  biper: [{ omega0: 20 }],
  ede: [{ t: 1 }, { t: 10, k: 1 }],
  fda: [{ n: 9 }, { n: 18 }],
};

for (const n of [0, 1, 5, 1023, 1025, 65537]) {
  for (const name of Object.keys(OPTS)) {
    add(`binarize.${name} n=${n} forward + backward, async and sync`, async (b) => {
      const r = rng(n + name.length);
      const x = uniform(r, n, -2, 2);
      if (n > 6) x.set([0, -0, Infinity, -Infinity, NaN, 1, -1], 0);
      const g = uniform(r, n, -1, 1);
      for (const o of OPTS[name]) {
        const e = b.binarize[name];
        const hf = e.forwardSync(x, o);
        const hb = e.backwardSync(x, g, o).grad;
        await b.scopeAsync(async () => {
          const xt = b.tensor(x, [n], { device: 'cuda:0' });
          const gt = b.tensor(g, [n], { device: 'cuda:0' });
          const fa = await e.forward(xt, o);
          const fs = e.forwardSync(xt, o);
          assertClose('forward', await fa.data(), hf, 0, 0);
          assertClose('forwardSync', await fs.data(), hf, 0, 0);
          const ba = await e.backward(xt, gt, o);
          const bs = e.backwardSync(xt, gt, o);
          assertClose('backward', await ba.grad.data(), hb);
          assertClose('backwardSync', await bs.grad.data(), hb);
        });
      }
    });
  }
}

for (const [N, C, H, W] of [[2, 3, 5, 7], [4, 64, 16, 16], [1, 1, 1, 1]]) {
  add(`binarize.rsign NCHW [${N},${C},${H},${W}]: dx and deterministic dalpha`, async (b) => {
    const n = N * C * H * W;
    const r = rng(n);
    const x = uniform(r, n, -1.5, 1.5);
    const g = uniform(r, n, -1, 1);
    const alpha = uniform(r, C, -0.3, 0.3);
    const shape = [N, C, H, W];
    const host = b.binarize.rsign.backwardSync(x, g, { alpha, shape });
    const hf = b.binarize.rsign.forwardSync(x, { alpha, shape });
    await b.scopeAsync(async () => {
      const xt = b.tensor(x, shape, { device: 'cuda:0' });
      const gt = b.tensor(g, shape, { device: 'cuda:0' });
      const at = b.tensor(alpha, [C], { device: 'cuda:0' });
      assertClose('forward', await b.binarize.rsign.forwardSync(xt, { alpha: at }).data(), hf, 0, 0);
      const d1 = await b.binarize.rsign.backward(xt, gt, { alpha: at });
      const d2 = b.binarize.rsign.backwardSync(xt, gt, { alpha: at });
      assertClose('dx', await d1.grad.data(), host.grad);
      const a1 = await d1.alphaGrad.data();
      const a2 = await d2.alphaGrad.data();
      assertClose('dalpha', a1, host.alphaGrad, 1e-5, 1e-5);
      if (Buffer.compare(Buffer.from(a1.buffer), Buffer.from(a2.buffer)) !== 0) throw new Error('dalpha not deterministic');
      // channel-last
      const xl = b.tensor(x, [N, H, W, C], { device: 'cuda:0' });
      const hl = b.binarize.rsign.backwardSync(x, g, { alpha, shape: [N, H, W, C], channelAxis: -1 });
      const dl = await b.binarize.rsign.backward(xl, b.tensor(g, [N, H, W, C], { device: 'cuda:0' }), { alpha: at, channelAxis: -1 });
      assertClose('dalpha NHWC', await dl.alphaGrad.data(), hl.alphaGrad, 1e-5, 1e-5);
    });
  });
}

add('binarize estimators: device mismatch is coded', async (b) => {
  await b.scopeAsync(async () => {
    const xt = b.tensor(Float32Array.of(1, 2), [2], { device: 'cuda:0' });
    const gt = b.tensor(Float32Array.of(1, 2), [2], { device: 'cpu' });
    try {
      b.binarize.ste.backwardSync(xt, gt);
    } catch (e) {
      if (e.code !== 'BITGRAD_DEVICE_MISMATCH') throw e;
      return;
    }
    throw new Error('expected BITGRAD_DEVICE_MISMATCH');
  });
});

module.exports = { cases };

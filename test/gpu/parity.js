// CUDA-vs-CPU parity cases, in plain JavaScript so they run both under jest
// (test/cuda.test.ts, skipped without a GPU) and on a GPU machine that has no npm
// (scripts/gpu-check.sh runs test/gpu/run-parity.js with a carried node binary).
// Each case gets the bitgrad module and throws on failure.
'use strict';

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(r, n, lo, hi) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

// Returns the largest |a - b| / (atol + rtol |b|); <= 1 passes.
function worst(a, b, rtol, atol) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) {
      if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
      continue;
    }
    w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return w;
}

function assertClose(name, a, b, rtol = 2e-6, atol = 1e-7) {
  const w = worst(Array.from(a), Array.from(b), rtol, atol);
  if (!(w <= 1)) throw new Error(`${name}: CUDA and CPU differ (worst ratio ${w})`);
  return w;
}

async function expectCode(promiseOrFn, code) {
  try {
    const p = typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn;
    await p;
  } catch (e) {
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    return;
  }
  throw new Error(`expected ${code}, got success`);
}

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

add('round trip of every dtype through cuda:0', async (b) => {
  const datas = [Float32Array.from([1.5, -2, NaN, Infinity, -0]), Int32Array.from([1, -2, 2147483647]), Uint8Array.from([0, 255, 7])];
  for (const d of datas) {
    const t = b.tensor(d, undefined, { device: 'cuda:0' });
    const s = Array.from(t.dataSync());
    const a = Array.from(await t.data());
    const back = t.to('cpu');
    const c = Array.from(back.dataSync());
    for (const got of [s, a, c]) if (JSON.stringify(got) !== JSON.stringify(Array.from(d))) throw new Error(`${d.constructor.name}: ${got}`);
    t.dispose();
    back.dispose();
  }
});

const SIZES = [0, 1, 3, 4, 5, 1023, 1024, 1025, 4099, 65537, (1 << 20) + 3];
for (const n of SIZES) {
  for (const reduction of ['none', 'mean', 'sum']) {
    add(`bceWithLogits n=${n} ${reduction}, weight + posWeight, async and sync`, async (b) => {
      const r = rng(n * 7 + reduction.length);
      const C = 5;
      const x = uniform(r, n, -20, 20);
      const y = uniform(r, n, 0, 1);
      const w = uniform(r, n, 0, 2);
      const pw = uniform(r, C, 0.5, 3);
      const go = uniform(r, n, -1, 1);
      const host = b.losses.bceWithLogitsSync(x, y, {
        reduction, weight: w, posWeight: n % C === 0 && n > 0 ? pw : 1.7, shape: n % C === 0 && n > 0 ? [n / C, C] : [n],
        gradOutput: reduction === 'none' ? go : 0.5,
      });
      await b.scopeAsync(async () => {
        const shape = n % C === 0 && n > 0 ? [n / C, C] : [n];
        const opts = {
          reduction,
          weight: b.tensor(w, shape, { device: 'cuda:0' }),
          posWeight: n % C === 0 && n > 0 ? b.tensor(pw, [C], { device: 'cuda:0' }) : 1.7,
          gradOutput: reduction === 'none' ? b.tensor(go, shape, { device: 'cuda:0' }) : 0.5,
        };
        const xt = b.tensor(x, shape, { device: 'cuda:0' });
        const yt = b.tensor(y, shape, { device: 'cuda:0' });
        const a = await b.losses.bceWithLogits(xt, yt, opts);
        const s = b.losses.bceWithLogitsSync(xt, yt, opts);
        for (const out of [a, s]) {
          const loss = await out.loss.data();
          if (reduction === 'none') assertClose('loss', loss, host.loss);
          else assertClose('loss', [loss[0]], [host.loss], 1e-5, 1e-6);
          assertClose('grad', await out.grad.data(), host.grad);
        }
        // Deterministic: the same call twice gives the same bits.
        const again = await b.losses.bceWithLogits(xt, yt, opts);
        const l1 = await a.loss.data();
        const l2 = await again.loss.data();
        if (Buffer.compare(Buffer.from(l1.buffer), Buffer.from(l2.buffer)) !== 0) throw new Error('not deterministic');
      });
    });
  }
}

add('bceWithLogits broadcasts: per-row weight [N,1], scalar weight, no gradient', async (b) => {
  const r = rng(3);
  const N = 37;
  const C = 129;
  const x = uniform(r, N * C, -8, 8);
  const y = uniform(r, N * C, 0, 1);
  const w = uniform(r, N, 0, 2);
  const host = b.losses.bceWithLogitsSync(x, y, { reduction: 'none', weight: w, weightShape: [N, 1], shape: [N, C] });
  await b.scopeAsync(async () => {
    const out = await b.losses.bceWithLogits(b.tensor(x, [N, C], { device: 'cuda' }), b.tensor(y, [N, C], { device: 'cuda' }), {
      reduction: 'none', weight: b.tensor(w, [N, 1], { device: 'cuda' }),
    });
    assertClose('loss', await out.loss.data(), host.loss);
    assertClose('grad', await out.grad.data(), host.grad);
    const ng = await b.losses.bceWithLogits(b.tensor(x, [N, C], { device: 'cuda' }), b.tensor(y, [N, C], { device: 'cuda' }), {
      weight: 0.25, grad: false,
    });
    if (ng.grad !== null) throw new Error('grad should be null');
    const hm = b.losses.bceWithLogitsSync(x, y, { weight: 0.25, grad: false });
    assertClose('mean', await ng.loss.data(), [hm.loss], 1e-5, 1e-6);
  });
});

add('bceWithLogits extreme logits and NaN on cuda', async (b) => {
  const x = Float32Array.from([1e4, -1e4, 88, -88, 0, -0, NaN, 30]);
  const y = Float32Array.from([0, 1, 1, 0, 0.5, 1, 1, 0.25]);
  const host = b.losses.bceWithLogitsSync(x, y, { reduction: 'none', posWeight: 3 });
  await b.scopeAsync(async () => {
    const out = await b.losses.bceWithLogits(b.tensor(x, [8], { device: 'cuda' }), b.tensor(y, [8], { device: 'cuda' }), { reduction: 'none', posWeight: 3 });
    assertClose('loss', await out.loss.data(), host.loss);
    assertClose('grad', await out.grad.data(), host.grad);
  });
});

add('bad targets reject on cuda (async), are skipped when checkTargets is false', async (b) => {
  const y = new Float32Array(5000).fill(0.5);
  y[4321] = 1.01;
  await b.scopeAsync(async () => {
    const xt = b.tensor(new Float32Array(5000), [5000], { device: 'cuda' });
    const yt = b.tensor(y, [5000], { device: 'cuda' });
    await expectCode(b.losses.bceWithLogits(xt, yt), 'BITGRAD_TARGET_OUT_OF_RANGE');
    await b.losses.bceWithLogits(xt, yt, { checkTargets: false });
  });
});

add('memory: cuda bytes return to baseline, cap and device OOM are coded', async (b) => {
  const m0 = b.memory().devices['cuda:0'] || { liveBytes: 0 };
  const t = b.tensor(new Float32Array(1 << 20), undefined, { device: 'cuda:0' });
  const m1 = b.memory().devices['cuda:0'];
  if (m1.liveBytes !== m0.liveBytes + 4 * (1 << 20)) throw new Error(`liveBytes ${m1.liveBytes}`);
  t.dispose();
  b.synchronize('cuda:0');
  if (b.memory().devices['cuda:0'].liveBytes !== m0.liveBytes) throw new Error('liveBytes did not return');
  b.emptyCache();
  b.setMemoryCap('cuda:0', m0.liveBytes + 1024);
  try {
    await expectCode(() => b.tensor(new Float32Array(1000), undefined, { device: 'cuda:0' }), 'BITGRAD_OUT_OF_MEMORY');
  } finally {
    b.setMemoryCap('cuda:0', 0);
  }
  // 64 TiB cannot exist: the pool must report it as a coded error with the numbers.
  try {
    b.tensor(new Float32Array(0), [2 ** 44], { device: 'cuda:0' });
    throw new Error('64 TiB allocation succeeded');
  } catch (e) {
    if (e.code !== 'BITGRAD_OUT_OF_MEMORY' && e.code !== 'BITGRAD_SHAPE_MISMATCH') throw e;
  }
});

add('async GPU work does not block the event loop', async (b) => {
  const n = 1 << 24;
  await b.scopeAsync(async () => {
    const xt = b.tensor(new Float32Array(n).fill(0.3), [n], { device: 'cuda' });
    const yt = b.tensor(new Float32Array(n).fill(0.5), [n], { device: 'cuda' });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const ps = [];
    for (let i = 0; i < 20; i++) ps.push(b.losses.bceWithLogits(xt, yt));
    await Promise.all(ps);
    clearInterval(timer);
    if (ticks < 1) throw new Error('no timer tick while 20 kernels ran: the loop was blocked');
  });
});

module.exports = { cases, rng, uniform, assertClose };

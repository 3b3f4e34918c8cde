// nllLoss and multiMarginLoss CUDA-vs-CPU parity: every option the CPU takes (weight,
// ignoreIndex incl. a valid class index and all-ignored batches, every reduction with
// its upstream gradient, p = 1 / 2, margin, grad: false, the sync form), [C] / [N, C] /
// [N, C, d] layouts, both multi-margin block widths, empty input, out-of-range targets
// and run-to-run determinism. Plain JavaScript (see parity.js); registered in cases.js.
'use strict';
const { rng, uniform } = require('./parity.js');

// Largest |a - b| / (atol + rtol |b|) over the elements (equal NaNs match); <= 1 passes.
function assertClose(name, a, b, rtol, atol) {
  const x = Array.from(a);
  const e = Array.from(b);
  if (x.length !== e.length) throw new Error(`${name}: length ${x.length} != ${e.length}`);
  let w = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === e[i] || (Number.isNaN(x[i]) && Number.isNaN(e[i]))) continue;
    if (Number.isNaN(x[i]) || Number.isNaN(e[i])) w = Infinity;
    else w = Math.max(w, Math.abs(x[i] - e[i]) / (atol + rtol * Math.abs(e[i])));
  }
  if (!(w <= 1)) throw new Error(`${name}: CUDA and CPU differ (worst ratio ${w})`);
}

async function expectCode(promise, code) {
  try {
    await promise;
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

function rowShapeOf(shape) {
  return shape.length === 1 ? [] : [shape[0], ...shape.slice(2)];
}
function size(shape) {
  return shape.reduce((a, x) => a * x, 1);
}
function classes(shape) {
  return shape.length === 1 ? shape[0] : shape[1];
}

// Runs the same call on the CPU and on cuda:0 (async and sync) and compares.
async function compare(b, fn, x, shape, y, opts, tol) {
  const rowShape = rowShapeOf(shape);
  const C = classes(shape);
  const make = (dev) => {
    const o = { ...opts };
    if (opts.weight) o.weight = b.tensor(opts.weight, [C], { device: dev });
    if (opts.gradOutput instanceof Float32Array) o.gradOutput = b.tensor(opts.gradOutput, rowShape, { device: dev });
    return { x: b.tensor(x, shape, { device: dev }), y: b.tensor(y, rowShape, { device: dev }), o };
  };
  const c = make('cpu');
  const g = make('cuda:0');
  const cpu = b.losses[`${fn}Sync`](c.x, c.y, c.o);
  const gpu = await b.losses[fn](g.x, g.y, g.o);
  const sync = b.losses[`${fn}Sync`](g.x, g.y, g.o);
  for (const [what, res] of [['async', gpu], ['sync', sync]]) {
    if (res.loss.device !== 'cuda:0') throw new Error(`${what}: loss on ${res.loss.device}`);
    assertClose(`${what} loss`, res.loss.dataSync(), cpu.loss.dataSync(), tol.loss, tol.atol);
    if (opts.grad === false) {
      if (res.grad !== null) throw new Error(`${what}: grad: false must give null`);
    } else {
      assertClose(`${what} grad`, res.grad.dataSync(), cpu.grad.dataSync(), tol.grad, tol.atol);
    }
  }
  return { cpu, gpu };
}

const NLL_TOL = { loss: 1e-6, grad: 1e-6, atol: 1e-7 };
const MM_TOL = { loss: 1e-6, grad: 1e-6, atol: 1e-7 };

// ---- nllLoss -------------------------------------------------------------------------

const NLL_SHAPES = [[6], [1, 1], [5, 4], [3, 7, 5], [2, 3, 4, 2], [64, 1000], [4099, 10], [0, 3]];
for (const shape of NLL_SHAPES) {
  for (const reduction of ['none', 'mean', 'sum']) {
    add(`nllLoss [${shape}] ${reduction}: weight / none, ignored rows, upstream gradient`, async (b) => {
      const r = rng(size(shape) * 13 + reduction.length);
      const C = classes(shape);
      const rows = size(shape) / C || 0;
      const x = uniform(r, size(shape), -5, 0);
      const y = Int32Array.from({ length: rows }, (_, i) => (i % 5 === 3 ? -100 : Math.floor(r() * C)));
      const w = uniform(r, C, 0.5, 2);
      const gradOutput = reduction === 'none' ? uniform(r, rows, -1, 1) : 1.5;
      for (const weight of [w, undefined]) await compare(b, 'nllLoss', x, shape, y, { weight, reduction, gradOutput }, NLL_TOL);
    });
  }
}

add('nllLoss: ignoreIndex that is a class index, custom negative ignoreIndex, grad: false', async (b) => {
  const r = rng(71);
  const shape = [40, 6, 3];
  const x = uniform(r, size(shape), -4, 0);
  const y = Int32Array.from({ length: 120 }, () => Math.floor(r() * 6));
  const w = uniform(r, 6, 0.25, 3);
  for (const reduction of ['none', 'mean', 'sum']) {
    await compare(b, 'nllLoss', x, shape, y, { weight: w, ignoreIndex: 2, reduction }, NLL_TOL);
    const y2 = Int32Array.from(y, (v, i) => (i % 4 === 0 ? -7 : v));
    await compare(b, 'nllLoss', x, shape, y2, { ignoreIndex: -7, reduction }, NLL_TOL);
    await compare(b, 'nllLoss', x, shape, y, { weight: w, reduction, grad: false }, NLL_TOL);
  }
});

add('nllLoss: all targets ignored: mean NaN with a zero gradient, sum 0, none zeros', async (b) => {
  const x = uniform(rng(5), 12, -3, 0);
  const y = new Int32Array(4).fill(-100);
  for (const weight of [Float32Array.of(0.5, 1, 2), undefined]) {
    for (const reduction of ['mean', 'sum', 'none']) {
      const { gpu } = await compare(b, 'nllLoss', x, [4, 3], y, { weight, reduction }, NLL_TOL);
      const l = gpu.loss.dataSync();
      if (reduction === 'mean' && !Number.isNaN(l[0])) throw new Error('all ignored mean must be NaN');
      if (reduction !== 'mean' && !l.every((v) => v === 0)) throw new Error(`all ignored ${reduction} must be 0`);
      if (!gpu.grad.dataSync().every((v) => v === 0)) throw new Error('all ignored gradient must be zero');
    }
  }
});

add('nllLoss CUDA: spec vector (PyTorch 1.13) and run-to-run determinism', async (b) => {
  const lp = Float32Array.from([
    -2.4076059644, -1.4076059644, -0.4076059644, -0.7989161848, -0.7989161848, -2.2989161848, -0.1698460196, -3.1698460196,
    -2.1698460196, -1.0986122887, -1.0986122887, -1.0986122887,
  ]);
  const gx = b.tensor(lp, [4, 3], { device: 'cuda:0' });
  const gy = b.tensor(Int32Array.from([2, 0, -100, 1]), [4], { device: 'cuda:0' });
  const weight = b.tensor(Float32Array.of(0.5, 1, 2), [3], { device: 'cuda:0' });
  const m = await b.losses.nllLoss(gx, gy, { weight });
  assertClose('mean', m.loss.dataSync(), [0.6609378029], 1e-6, 1e-7);
  const g = new Float32Array(12);
  g[2] = -0.5714285714;
  g[3] = -0.1428571429;
  g[10] = -0.2857142857;
  assertClose('grad', m.grad.dataSync(), g, 1e-6, 1e-8);
  const r = rng(9);
  const N = 50000;
  const C = 100;
  const x = b.tensor(uniform(r, N * C, -6, 0), [N, C], { device: 'cuda:0' });
  const y = b.tensor(Int32Array.from({ length: N }, (_, i) => (i % 9 === 0 ? -100 : Math.floor(r() * C))), [N], { device: 'cuda:0' });
  const w = b.tensor(uniform(r, C, 0.5, 2), [C], { device: 'cuda:0' });
  const a1 = await b.losses.nllLoss(x, y, { weight: w });
  const a2 = await b.losses.nllLoss(x, y, { weight: w });
  if (a1.loss.dataSync()[0] !== a2.loss.dataSync()[0]) throw new Error('loss differs run to run');
});

add('nllLoss CUDA: out-of-range target rejects with the row and value', async (b) => {
  const gx = b.tensor(new Float32Array(12), [4, 3], { device: 'cuda:0' });
  try {
    await b.losses.nllLoss(gx, b.tensor(Int32Array.from([0, 1, 3, -5]), [4], { device: 'cuda:0' }));
    throw new Error('expected a rejection');
  } catch (e) {
    if (e.code !== 'BITGRAD_TARGET_OUT_OF_RANGE' || e.index !== 2 || e.value !== 3) throw new Error(`got ${e.code} ${e.index} ${e.value}: ${e.message}`);
  }
  await expectCode(b.losses.nllLoss(gx, b.tensor(Int32Array.from([0, -5, 1, 2]), [4], { device: 'cuda:0' })), 'BITGRAD_TARGET_OUT_OF_RANGE');
});

// ---- multiMarginLoss -----------------------------------------------------------------

const MM_SHAPES = [[4], [1, 1], [37, 11], [64, 1000], [9, 1024], [5, 3001], [2000, 7], [0, 5]];
for (const shape of MM_SHAPES) {
  for (const reduction of ['none', 'mean', 'sum']) {
    add(`multiMarginLoss [${shape}] ${reduction}: p 1 / 2, margins, weight / none, upstream gradient`, async (b) => {
      const r = rng(size(shape) * 17 + reduction.length);
      const C = classes(shape);
      const rows = size(shape) / C || 0;
      const x = uniform(r, size(shape), -1, 1);
      const y = Int32Array.from({ length: rows }, () => Math.floor(r() * C));
      const w = uniform(r, C, 0.5, 2);
      const gradOutput = reduction === 'none' ? uniform(r, rows, -1, 1) : 2;
      for (const p of [1, 2])
        for (const margin of [1, 0.5, 0, -0.25])
          for (const weight of [w, undefined]) await compare(b, 'multiMarginLoss', x, shape, y, { p, margin, weight, reduction, gradOutput }, MM_TOL);
    });
  }
}

add('multiMarginLoss: integer-valued inputs (hinges exactly at 0), grad: false', async (b) => {
  const r = rng(23);
  const shape = [50, 8];
  const x = Float32Array.from({ length: 400 }, () => Math.floor(r() * 5) - 2);
  const y = Int32Array.from({ length: 50 }, () => Math.floor(r() * 8));
  for (const p of [1, 2]) {
    await compare(b, 'multiMarginLoss', x, shape, y, { p }, MM_TOL);
    await compare(b, 'multiMarginLoss', x, shape, y, { p, reduction: 'sum', grad: false }, MM_TOL);
  }
});

add('multiMarginLoss CUDA: spec vectors, empty mean NaN, deterministic run to run', async (b) => {
  const X = Float32Array.from([0.1, 0.2, 0.4, 0.8]);
  const gx = b.tensor(X, [4], { device: 'cuda:0' });
  const r3 = await b.losses.multiMarginLoss(gx, b.tensor(Int32Array.of(3), [], { device: 'cuda:0' }));
  assertClose('y = 3', r3.loss.dataSync(), [0.325], 1e-6, 1e-7);
  const r0 = await b.losses.multiMarginLoss(gx, b.tensor(Int32Array.of(0), [], { device: 'cuda:0' }));
  assertClose('y = 0', r0.loss.dataSync(), [1.025], 1e-6, 1e-7);
  assertClose('y = 0 grad', r0.grad.dataSync(), [-0.75, 0.25, 0.25, 0.25], 1e-6, 1e-7);
  const e = await b.losses.multiMarginLoss(b.tensor(new Float32Array(0), [0, 4], { device: 'cuda:0' }), b.tensor(new Int32Array(0), [0], { device: 'cuda:0' }));
  if (!Number.isNaN(e.loss.dataSync()[0])) throw new Error('empty mean must be NaN');
  const r = rng(31);
  const x = b.tensor(uniform(r, 300 * 4096, -1, 1), [300, 4096], { device: 'cuda:0' });
  const y = b.tensor(Int32Array.from({ length: 300 }, () => Math.floor(r() * 4096)), [300], { device: 'cuda:0' });
  const a1 = await b.losses.multiMarginLoss(x, y, { p: 2, margin: 0.3 });
  const a2 = await b.losses.multiMarginLoss(x, y, { p: 2, margin: 0.3 });
  if (a1.loss.dataSync()[0] !== a2.loss.dataSync()[0]) throw new Error('loss differs run to run');
  if (Buffer.compare(Buffer.from(a1.grad.dataSync().buffer), Buffer.from(a2.grad.dataSync().buffer)) !== 0) throw new Error('grad differs run to run');
});

add('multiMarginLoss CUDA: out-of-range target (ignoreIndex does not apply) rejects with the row', async (b) => {
  const gx = b.tensor(new Float32Array(12), [3, 4], { device: 'cuda:0' });
  for (const [bad, at] of [[4, 1], [-100, 2]]) {
    const y = Int32Array.from([0, 1, 2]);
    y[at] = bad;
    try {
      await b.losses.multiMarginLoss(gx, b.tensor(y, [3], { device: 'cuda:0' }));
      throw new Error('expected a rejection');
    } catch (e) {
      if (e.code !== 'BITGRAD_TARGET_OUT_OF_RANGE' || e.index !== at || e.value !== bad) throw new Error(`got ${e.code} ${e.index} ${e.value}: ${e.message}`);
    }
  }
});

module.exports = { cases };

// bceWithLogits on the CPU: PyTorch's spec vectors, a float64 reference, finite
// differences, reductions, broadcasting, edge cases, SIMD paths and threads.
import * as bitgrad from '../lib';
import { bceRef, expectClose, rejected, rng, thrown, uniform } from './helpers';

const { bceWithLogits, bceWithLogitsSync } = bitgrad.losses;

// losses.md §1.2, verified with PyTorch 1.13 float64.
const X = Float32Array.from([1.5, -0.5, 3.0, -2.0]);
const Y = Float32Array.from([1, 0, 0.5, 1]);
const W = Float32Array.from([1, 1, 1, 0.5]);

describe('spec vectors (PyTorch 1.13)', () => {
  test('none with weight and posWeight', () => {
    const r = bceWithLogitsSync(X, Y, { weight: W, posWeight: 2, reduction: 'none' });
    expectClose(r.loss as Float32Array, [0.402826556, 0.4740769842, 1.5728810274, 2.126928011], 1e-6);
    expectClose(r.grad!, [-0.3648510476, 0.3775406688, 0.4288611902, -0.880797078], 1e-6);
  });
  test('sum and mean', () => {
    expectClose(bceWithLogitsSync(X, Y, { weight: W, posWeight: 2, reduction: 'sum' }).loss as number, 4.5767125785, 1e-6);
    const m = bceWithLogitsSync(X, Y, { weight: W, posWeight: 2 });
    expectClose(m.loss as number, 1.1441781446, 1e-6);
    expectClose(m.grad!, [-0.0912127619, 0.0943851672, 0.1072152976, -0.2201992695], 1e-6);
  });
  test('no weight, no posWeight', () => {
    const r = bceWithLogitsSync(X, Y, { reduction: 'none' });
    expectClose(r.loss as Float32Array, [0.201413278, 0.4740769842, 1.5485873516, 2.126928011], 1e-6);
  });
  test('async gives the same numbers', async () => {
    const a = await bceWithLogits(X, Y, { weight: W, posWeight: 2, reduction: 'none' });
    const s = bceWithLogitsSync(X, Y, { weight: W, posWeight: 2, reduction: 'none' });
    expect(Array.from(a.loss as Float32Array)).toEqual(Array.from(s.loss as Float32Array));
    expect(Array.from(a.grad!)).toEqual(Array.from(s.grad!));
  });
});

// Float32 evaluation of (1 - y) x + lw softplus(-x) cancels terms of size |x| (as
// PyTorch's float32 kernel does), so the loss is compared with an absolute tolerance
// that scales with |x|; the gradient's terms are bounded by 1 + posWeight.
function expectLoss(actual: Float32Array, x: Float32Array, ref: ArrayLike<number>, scale = 1): void {
  for (let i = 0; i < x.length; i++) {
    const tol = (4e-7 * (Math.abs(x[i]) + 1) + 2e-6 * Math.abs(ref[i])) * scale;
    if (!(Math.abs(actual[i] - ref[i]) <= tol) && !(Number.isNaN(actual[i]) && Number.isNaN(ref[i])))
      throw new Error(`loss element ${i}: got ${actual[i]}, expected ${ref[i]} (x = ${x[i]}, tol ${tol})`);
  }
}

function reference(x: Float32Array, y: Float32Array, w?: (i: number) => number, p?: (i: number) => number) {
  const loss = new Float64Array(x.length);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const r = bceRef(x[i], y[i], w ? w(i) : 1, p ? p(i) : 1);
    loss[i] = r.loss;
    grad[i] = r.grad;
  }
  return { loss, grad, sum: loss.reduce((a, b) => a + b, 0) };
}

describe('float64 reference', () => {
  const r = rng(7);
  for (const n of [1, 3, 15, 16, 17, 63, 64, 65, 1000, 16385, 70000]) {
    test(`n = ${n}, all reductions`, async () => {
      const x = uniform(r, n, -12, 12);
      const y = uniform(r, n, 0, 1);
      const ref = reference(x, y);
      const none = bceWithLogitsSync(x, y, { reduction: 'none' });
      expectLoss(none.loss as Float32Array, x, ref.loss);
      expectClose(none.grad!, ref.grad, 2e-6, 3e-7);
      const sum = await bceWithLogits(x, y, { reduction: 'sum' });
      expectClose(sum.loss as number, ref.sum, 1e-5, 1e-6 * n);
      expectClose(sum.grad!, ref.grad, 2e-6, 3e-7);
      const mean = await bceWithLogits(x, y);
      expectClose(mean.loss as number, ref.sum / n, 1e-5, 1e-6);
      expectClose(mean.grad!, Array.from(ref.grad, (g) => g / n), 2e-6, 3e-7 / n);
    });
  }

  test('extreme logits (+-1e4, +-88, +-0) stay finite and exact', () => {
    const x = Float32Array.from([1e4, -1e4, 88, -88, 0, -0, 1e-30, -1e-30, 30, -30]);
    const y = Float32Array.from([0, 1, 1, 0, 0.5, 1, 0, 1, 0.25, 0.75]);
    const ref = reference(x, y, undefined, () => 3);
    const out = bceWithLogitsSync(x, y, { reduction: 'none', posWeight: 3 });
    for (const v of out.loss as Float32Array) expect(Number.isFinite(v)).toBe(true);
    expectLoss(out.loss as Float32Array, x, ref.loss);
    expectClose(out.grad!, ref.grad, 1e-6, 3e-7);
  });

  test('central finite differences agree with the gradient', () => {
    const x = uniform(rng(3), 32, -4, 4);
    const y = uniform(rng(4), 32, 0, 1);
    const w = uniform(rng(5), 32, 0.5, 2);
    const opts = { reduction: 'none' as const, weight: w, posWeight: 1.7 };
    const g = bceWithLogitsSync(x, y, opts).grad!;
    const h = 1e-2;
    for (let i = 0; i < x.length; i++) {
      const xp = x.slice();
      const xm = x.slice();
      xp[i] += h;
      xm[i] -= h;
      const lp = (bceWithLogitsSync(xp, y, opts).loss as Float32Array)[i];
      const lm = (bceWithLogitsSync(xm, y, opts).loss as Float32Array)[i];
      expectClose(g[i], (lp - lm) / ((xp[i] - xm[i])), 2e-3, 2e-4);
    }
  });
});

describe('weights and broadcasting', () => {
  const N = 5;
  const C = 7;
  const r = rng(11);
  const x = uniform(r, N * C, -5, 5);
  const y = uniform(r, N * C, 0, 1);

  test('posWeight [C] over [N, C]', () => {
    const pw = uniform(r, C, 0.5, 3);
    const ref = reference(x, y, undefined, (i) => pw[i % C]);
    const out = bceWithLogitsSync(x, y, { reduction: 'none', posWeight: pw, shape: [N, C] });
    expectLoss(out.loss as Float32Array, x, ref.loss, 3);
    expectClose(out.grad!, ref.grad, 2e-6, 1e-6);
  });
  test('weight [N, 1] over [N, C] (per row)', () => {
    const w = uniform(r, N, 0, 2);
    const ref = reference(x, y, (i) => w[Math.floor(i / C)]);
    const out = bceWithLogitsSync(x, y, { reduction: 'none', weight: w, weightShape: [N, 1], shape: [N, C] });
    expectLoss(out.loss as Float32Array, x, ref.loss, 2);
    expectClose(out.grad!, ref.grad, 2e-6, 6e-7);
  });
  test('full weight and scalar posWeight; mean does not divide by the weights', () => {
    const w = uniform(r, N * C, 0, 2);
    const ref = reference(x, y, (i) => w[i], () => 0.3);
    const out = bceWithLogitsSync(x, y, { weight: w, posWeight: 0.3, shape: [N, C] });
    expectClose(out.loss as number, ref.sum / (N * C), 1e-5, 1e-6);
    expectClose(out.grad!, Array.from(ref.grad, (g) => g / (N * C)), 2e-6, 6e-7 / (N * C));
  });
  test('non-contiguous broadcast [B, 1, W] over [B, C, W] is expanded', () => {
    const B = 2;
    const Wd = 3;
    const Cc = 4;
    const xs = uniform(r, B * Cc * Wd, -3, 3);
    const ys = uniform(r, B * Cc * Wd, 0, 1);
    const w = uniform(r, B * Wd, 0, 2);
    const ref = reference(xs, ys, (i) => {
      const b = Math.floor(i / (Cc * Wd));
      const k = i % Wd;
      return w[b * Wd + k];
    });
    const out = bceWithLogitsSync(xs, ys, { reduction: 'none', weight: w, weightShape: [B, 1, Wd], shape: [B, Cc, Wd] });
    expectLoss(out.loss as Float32Array, xs, ref.loss, 2);
  });
  test('upstream gradient for none; scalar upstream for sum', () => {
    const go = uniform(r, N * C, -2, 2);
    const ref = reference(x, y);
    const out = bceWithLogitsSync(x, y, { reduction: 'none', gradOutput: go });
    expectClose(out.grad!, Array.from(ref.grad, (g, i) => g * go[i]), 2e-6, 6e-7);
    const s = bceWithLogitsSync(x, y, { reduction: 'sum', gradOutput: 0.25 });
    expectClose(s.grad!, Array.from(ref.grad, (g) => g * 0.25), 2e-6, 1e-7);
  });
  test('grad: false skips the gradient', () => {
    const out = bceWithLogitsSync(x, y, { grad: false });
    expect(out.grad).toBeNull();
    expectClose(out.loss as number, reference(x, y).sum / (N * C), 1e-5, 1e-6);
  });
  test('broadcast errors are coded', () => {
    expect(thrown(() => bceWithLogitsSync(x, y, { posWeight: new Float32Array(3), shape: [N, C] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => bceWithLogitsSync(x, y, { weight: new Float32Array(C), weightShape: [C, 1], shape: [N, C] })).code).toBe(
      'BITGRAD_SHAPE_MISMATCH',
    );
  });
});

describe('edge cases (documented behaviour)', () => {
  test('empty input: mean is NaN, sum is 0, none is empty (PyTorch parity)', () => {
    const e = new Float32Array(0);
    expect(Number.isNaN(bceWithLogitsSync(e, e).loss as number)).toBe(true);
    expect(bceWithLogitsSync(e, e, { reduction: 'sum' }).loss).toBe(0);
    expect((bceWithLogitsSync(e, e, { reduction: 'none' }).loss as Float32Array).length).toBe(0);
  });
  test('NaN logits propagate to loss and gradient', () => {
    const out = bceWithLogitsSync(Float32Array.from([NaN, 1]), Float32Array.from([1, 0]), { reduction: 'none' });
    expect(Number.isNaN((out.loss as Float32Array)[0])).toBe(true);
    expect(Number.isNaN(out.grad![0])).toBe(true);
    expect(Number.isFinite((out.loss as Float32Array)[1])).toBe(true);
  });
  test('targets outside [0, 1] or NaN are rejected with the first bad index', async () => {
    const x = new Float32Array(100000);
    const y = new Float32Array(100000).fill(0.5);
    y[70001] = 1.5;
    y[90000] = NaN;
    const e = thrown(() => bceWithLogitsSync(x, y));
    expect(e).toBeInstanceOf(bitgrad.ValidationError);
    expect(e.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(e.index).toBe(70001);
    const ea = await rejected(bceWithLogits(x, y));
    expect(ea.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    const small = thrown(() => bceWithLogitsSync(Float32Array.of(0), Float32Array.of(NaN)));
    expect(small.index).toBe(0);
  });
  test('checkTargets: false computes PyTorch values for any target', () => {
    const ref = bceRef(0.5, 2);
    const out = bceWithLogitsSync(Float32Array.of(0.5), Float32Array.of(2), { reduction: 'none', checkTargets: false });
    expectClose(out.loss as Float32Array, [ref.loss], 1e-6);
  });
});

describe('determinism, SIMD paths and threads', () => {
  const r = rng(99);
  const n = 300001;
  const x = uniform(r, n, -30, 30);
  const y = uniform(r, n, 0, 1);
  afterAll(() => {
    bitgrad.setSimd('auto');
    bitgrad.setNumThreads(require('os').cpus().length);
  });

  test('every SIMD path matches the float64 reference and the scalar path', () => {
    const xs = x.subarray(0, 20011);
    const ys = y.subarray(0, 20011);
    const ref = reference(xs, ys, undefined, () => 1.5);
    const results: Record<string, { loss: Float32Array; grad: Float32Array }> = {};
    for (const path of ['scalar', 'avx2', 'avx512'] as const) {
      const info = bitgrad.setSimd(path);
      const out = bceWithLogitsSync(xs, ys, { reduction: 'none', posWeight: 1.5 });
      expectLoss(out.loss as Float32Array, xs, ref.loss, 1.5);
      expectClose(out.grad!, ref.grad, 2e-6, 5e-7);
      results[info.simd] = { loss: out.loss as Float32Array, grad: out.grad! };
    }
    expect(Object.keys(results)).toContain('scalar');
    // Each vector path against the scalar one (std::exp/log1p): a few float32 ulps apart.
    for (const [path, r] of Object.entries(results)) {
      if (path === 'scalar') continue;
      expectLoss(r.loss, xs, results.scalar.loss, 1.5);
      expectClose(r.grad, results.scalar.grad, 1e-6, 3e-7);
    }
  });

  test('1 and 2 threads give bit-identical sums; sync and async agree', async () => {
    bitgrad.setSimd('auto');
    bitgrad.setNumThreads(1);
    const one = bceWithLogitsSync(x, y, { posWeight: 1.5, reduction: 'sum' });
    bitgrad.setNumThreads(2);
    const two = bceWithLogitsSync(x, y, { posWeight: 1.5, reduction: 'sum' });
    const asy = await bceWithLogits(x, y, { posWeight: 1.5, reduction: 'sum' });
    expect(two.loss).toBe(one.loss);
    expect(asy.loss).toBe(one.loss);
    expect(Buffer.from(two.grad!.buffer).equals(Buffer.from(one.grad!.buffer))).toBe(true);
    expectClose(one.loss as number, reference(x, y, undefined, () => 1.5).sum, 1e-5, 1e-6 * n);
  });
});

describe('tensor inputs on the CPU', () => {
  test('same results as Float32Array inputs; outputs are tensors', async () => {
    const r = rng(5);
    const x = uniform(r, 60, -3, 3);
    const y = uniform(r, 60, 0, 1);
    const pw = uniform(r, 6, 0.5, 2);
    const host = bceWithLogitsSync(x, y, { reduction: 'none', posWeight: pw, shape: [10, 6] });
    await bitgrad.scopeAsync(async () => {
      const xt = bitgrad.tensor(x, [10, 6], { device: 'cpu' });
      const yt = bitgrad.tensor(y, [10, 6], { device: 'cpu' });
      const pt = bitgrad.tensor(pw, [6], { device: 'cpu' });
      const out = await bceWithLogits(xt, yt, { reduction: 'none', posWeight: pt });
      expect(out.loss.shape).toEqual([10, 6]);
      expect(Array.from(await out.loss.data())).toEqual(Array.from(host.loss as Float32Array));
      expect(Array.from(out.grad!.dataSync())).toEqual(Array.from(host.grad!));
      const mean = bceWithLogitsSync(xt, yt, { posWeight: pt });
      expect(mean.loss.shape).toEqual([]);
      expectClose(mean.loss.dataSync()[0], bceWithLogitsSync(x, y, { posWeight: pw, shape: [10, 6] }).loss as number, 1e-6);
    });
  });
  test('tensor argument errors are coded', () => {
    bitgrad.scope(() => {
      const a = bitgrad.tensor(new Float32Array(6), [2, 3], { device: 'cpu' });
      const b = bitgrad.tensor(new Float32Array(6), [3, 2], { device: 'cpu' });
      const i = bitgrad.tensor(new Int32Array(6), [2, 3], { device: 'cpu' });
      expect(thrown(() => bceWithLogitsSync(a, b)).code).toBe('BITGRAD_SHAPE_MISMATCH');
      expect(thrown(() => bceWithLogitsSync(a, i as never)).code).toBe('BITGRAD_INVALID_DTYPE');
      expect(thrown(() => bceWithLogitsSync(a, new Float32Array(6) as never)).code).toBe('BITGRAD_INVALID_DTYPE');
      b.dispose();
      expect(thrown(() => bceWithLogitsSync(a, b)).code).toBe('BITGRAD_SHAPE_MISMATCH');
      const c = bitgrad.tensor(new Float32Array(6), [2, 3], { device: 'cpu' });
      c.dispose();
      expect(thrown(() => bceWithLogitsSync(a, c)).code).toBe('BITGRAD_DISPOSED');
    });
  });
});

describe('gradInto', () => {
  test('writes into the given array or tensor, also in place over the logits', async () => {
    const r = rng(21);
    const x = uniform(r, 1000, -5, 5);
    const y = uniform(r, 1000, 0, 1);
    const want = bceWithLogitsSync(x, y).grad!;
    const into = new Float32Array(1000);
    const out = await bceWithLogits(x, y, { gradInto: into });
    expect(out.grad).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(want));
    const xs = x.slice();
    const inPlace = bceWithLogitsSync(xs, y, { gradInto: xs });
    expect(Array.from(inPlace.grad!)).toEqual(Array.from(want));
    bitgrad.scope(() => {
      const xt = bitgrad.tensor(x, [1000], { device: 'cpu' });
      const yt = bitgrad.tensor(y, [1000], { device: 'cpu' });
      const gt = bitgrad.tensor(new Float32Array(1000), [1000], { device: 'cpu' });
      const res = bceWithLogitsSync(xt, yt, { gradInto: gt });
      expect(res.grad).toBe(gt);
      expect(Array.from(gt.dataSync())).toEqual(Array.from(want));
      expect(thrown(() => bceWithLogitsSync(xt, yt, { gradInto: bitgrad.tensor(new Float32Array(3), [3], { device: 'cpu' }) })).code).toBe(
        'BITGRAD_SHAPE_MISMATCH',
      );
      gt.dispose();
      expect(thrown(() => bceWithLogitsSync(xt, yt, { gradInto: gt })).code).toBe('BITGRAD_DISPOSED');
    });
    expect(thrown(() => bceWithLogitsSync(x, y, { gradInto: new Float32Array(3) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
});

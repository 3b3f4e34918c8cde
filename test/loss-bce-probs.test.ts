// binaryCrossEntropy (probabilities): PyTorch binary_cross_entropy, specs/losses.md 1.1.
import * as bitgrad from '../lib';
import { expectClose, rejected, rng, thrown, uniform } from './helpers';
import { Ref, checkEmpty, checkFiniteDiff, checkKernelFiniteDiff, checkReductions, checkSimdPaths, f32 } from './loss-helpers';

const L = bitgrad.losses;
const EPS = Math.fround(1e-12);
const ref: Ref = (x, y, w) => ({
  loss: w * ((y - 1) * Math.max(Math.log1p(-x), -100) - y * Math.max(Math.log(x), -100)),
  grad: (w * (x - y)) / Math.max(x * (1 - x), EPS),
});

describe('binaryCrossEntropy', () => {
  const x = f32([0.2, 0.9, 0.0, 1.0, 0.6]);
  const y = f32([0, 1, 1, 0, 0.3]);
  const w = f32([1, 2, 1, 1, 0.5]);

  test('spec vector 1.1 (none, sum, mean, gradients with the float32 EPSILON)', () => {
    const none = L.binaryCrossEntropySync(x, y, { weight: w, reduction: 'none' });
    expectClose(none.loss as Float32Array, [0.2231435513, 0.2107210313, 100, 100, 0.3973255997], 1e-6);
    expectClose(none.grad!, [1.25, -2.2222222222, -1.000000004e12, 1.000000004e12, 0.625], 1e-6);
    expect(none.grad![2]).toBe(-999999995904);
    expectClose(L.binaryCrossEntropySync(x, y, { weight: w, reduction: 'sum' }).loss as number, 200.8311901824, 1e-6);
    const mean = L.binaryCrossEntropySync(x, y, { weight: w });
    expectClose(mean.loss as number, 40.1662380365, 1e-6);
    expectClose(mean.grad!, [0.25, -0.4444444444, -2.000000008e11, 2.000000008e11, 0.125], 1e-6);
  });

  test('edge cases: (0,0) and (1,1) give loss 0 and gradient 0', () => {
    const r = L.binaryCrossEntropySync(f32([0, 1]), f32([0, 1]), { reduction: 'none' });
    // (1, 1) gives -0 (0 * -100 - 1 * 0), as PyTorch's formula does.
    expect(Array.from(r.loss as Float32Array).map((v) => v === 0)).toEqual([true, true]);
    expect(Array.from(r.grad!).map((v) => v === 0)).toEqual([true, true]);
  });

  test('all reductions against a float64 reference, random inputs and soft targets', () => {
    const r = rng(11);
    const n = 777;
    const xi = uniform(r, n, 0.001, 0.999);
    const yi = uniform(r, n, 0, 1);
    checkReductions(L.binaryCrossEntropySync, xi, yi, ref, {}, { rtol: 2e-5, atol: 2e-6 });
    const wi = uniform(r, n, 0, 2);
    checkReductions(L.binaryCrossEntropySync, xi, yi, ref, { weight: wi }, { rtol: 2e-5, atol: 2e-6 }, wi);
  });

  test('weight broadcasting: scalar, last dim, per row (shape), tensor', async () => {
    const r = rng(12);
    const xi = uniform(r, 12, 0.05, 0.95);
    const yi = uniform(r, 12, 0, 1);
    const full = (wf: (i: number) => number) => Array.from(xi, (v, i) => ref(v, yi[i], wf(i)).loss);
    expectClose(L.binaryCrossEntropySync(xi, yi, { weight: 0.5, reduction: 'none' }).loss as Float32Array, full(() => 0.5), 1e-5);
    const col = f32([1, 2, 3, 4]);
    expectClose(L.binaryCrossEntropySync(xi, yi, { weight: col, shape: [3, 4], reduction: 'none' }).loss as Float32Array, full((i) => col[i % 4]), 1e-5);
    const row = f32([1, 2, 3]);
    expectClose(
      L.binaryCrossEntropySync(xi, yi, { weight: row, weightShape: [3, 1], shape: [3, 4], reduction: 'none' }).loss as Float32Array,
      full((i) => row[Math.floor(i / 4)]),
      1e-5,
    );
    const xt = bitgrad.tensor(xi, [3, 4]);
    const yt = bitgrad.tensor(yi, [3, 4]);
    const wt = bitgrad.tensor(col, [4]);
    const res = await L.binaryCrossEntropy(xt, yt, { weight: wt, reduction: 'none' });
    expectClose((await res.loss.data()) as Float32Array, full((i) => col[i % 4]), 1e-5);
    expect(res.loss.shape).toEqual([3, 4]);
    for (const t of [xt, yt, wt, res.loss, res.grad!]) t.dispose();
  });

  test('central finite differences of the reference and of the kernel', () => {
    checkFiniteDiff(ref, [[0.3, 0], [0.3, 1], [0.7, 0.4], [0.05, 0.9], [0.95, 0.2]], 1e-7, 1e-5);
    checkKernelFiniteDiff(L.binaryCrossEntropySync, f32([0.3, 0.7, 0.5, 0.2]), f32([0, 1, 0.4, 0.9]), {}, 1e-3, 2e-2);
  });

  test('input outside [0, 1] or NaN: BITGRAD_INPUT_OUT_OF_RANGE, like PyTorch; checkInput: false gives NaN', async () => {
    const e = thrown(() => L.binaryCrossEntropySync(f32([0.5, 1.2]), f32([0, 1])));
    expect(e.code).toBe('BITGRAD_INPUT_OUT_OF_RANGE');
    expect(e.index).toBe(1);
    const big = new Float32Array(100000).fill(0.5);
    big[77777] = NaN;
    const e2 = await rejected(L.binaryCrossEntropy(big, new Float32Array(100000)));
    expect(e2.code).toBe('BITGRAD_INPUT_OUT_OF_RANGE');
    expect(e2.index).toBe(77777);
    const r = L.binaryCrossEntropySync(f32([NaN, -0.5]), f32([1, 1]), { checkInput: false, reduction: 'none' });
    expect(Array.from(r.loss as Float32Array).every(Number.isNaN)).toBe(true);
    const nt = L.binaryCrossEntropySync(f32([0.5]), f32([NaN]), { reduction: 'none' });
    expect((nt.loss as Float32Array)[0]).toBeNaN();
  });

  test('empty input: none [], sum 0, mean NaN', () => checkEmpty(L.binaryCrossEntropySync));

  test('every SIMD path matches scalar (ragged sizes)', () => {
    const r = rng(13);
    for (const n of [1, 15, 17, 1037, 70001]) {
      const xi = uniform(r, n, 0, 1);
      if (n > 4) xi.set([0, 1, 1e-30, 1 - 2 ** -24], 0);
      checkSimdPaths(L.binaryCrossEntropySync, xi, uniform(r, n, 0, 1), { weight: 0.7 }, 2e-6, 1e-6);
    }
  });

  test('async, tensors, gradInto', async () => {
    const r = rng(14);
    const xi = uniform(r, 50000, 0.01, 0.99);
    const yi = uniform(r, 50000, 0, 1);
    const s = L.binaryCrossEntropySync(xi, yi);
    const into = new Float32Array(50000);
    const a = await L.binaryCrossEntropy(xi, yi, { gradInto: into });
    expect(a.loss).toBe(s.loss);
    expect(a.grad).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(s.grad!));
    const xt = bitgrad.tensor(xi, [50000]);
    const yt = bitgrad.tensor(yi, [50000]);
    const t = L.binaryCrossEntropySync(xt, yt, { grad: false });
    expect(t.grad).toBeNull();
    expect(((await t.loss.data()) as Float32Array)[0]).toBe(s.loss);
    for (const v of [xt, yt, t.loss]) v.dispose();
  });
});

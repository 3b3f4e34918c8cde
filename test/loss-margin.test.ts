// softMarginLoss, hingeEmbeddingLoss (specs/losses.md 1.7) and marginBce (GridFormer, 2.1).
import * as bitgrad from '../lib';
import { bceRef, expectClose, rng, sigmoid, softplus, thrown, uniform } from './helpers';
import { Ref, checkEmpty, checkFiniteDiff, checkKernelFiniteDiff, checkReductions, checkSimdPaths, f32 } from './loss-helpers';

const L = bitgrad.losses;
const softRef: Ref = (x, y) => ({ loss: softplus(-y * x), grad: -y * sigmoid(-y * x) });
const hingeRef = (m: number): Ref => (x, y) => ({
  loss: (y !== 1 ? Math.max(0, m - x) : 0) + (y !== -1 ? x : 0),
  grad: (y !== 1 && m - x >= 0 ? -1 : 0) + (y !== -1 ? 1 : 0),
});
const marginRef = (m: number): Ref => (x, y, w) => {
  const r = bceRef(x - m * (2 * y - 1), y, w);
  return { loss: r.loss, grad: r.grad };
};

describe('softMarginLoss', () => {
  const x = f32([0.8, -0.4, 2.0, -1.5]);
  const y = f32([1, 1, -1, -1]);
  test('spec vector 1.7', () => {
    const none = L.softMarginLossSync(x, y, { reduction: 'none' });
    expectClose(none.loss as Float32Array, [0.3711006659, 0.9130152524, 2.126928011, 0.201413278], 1e-6);
    const mean = L.softMarginLossSync(x, y);
    expectClose(mean.loss as number, 0.9031143018, 1e-6);
    expectClose(mean.grad!, [-0.0775063797, -0.149671915, 0.2201992695, 0.045606381], 1e-6);
  });
  test('reductions, finite differences, extreme logits, NaN, empty, SIMD', () => {
    const r = rng(31);
    const xi = uniform(r, 513, -8, 8);
    const yi = Float32Array.from(xi, () => (r() < 0.5 ? -1 : 1));
    checkReductions(L.softMarginLossSync, xi, yi, softRef);
    checkFiniteDiff(softRef, [[0.8, 1], [-0.4, -1], [3, -1]]);
    checkKernelFiniteDiff(L.softMarginLossSync, f32([0.8, -0.4, 3]), f32([1, -1, -1]));
    // PyTorch's log1p(exp(-yx)) overflows here; the stable form is exact.
    const e = L.softMarginLossSync(f32([1e4, -1e4, 1e4]), f32([-1, 1, 1]), { reduction: 'none' });
    expect(Array.from(e.loss as Float32Array)).toEqual([1e4, 1e4, 0]);
    expect(Array.from(e.grad!)).toEqual([1, -1, 0]);
    expect((L.softMarginLossSync(f32([NaN]), f32([1]), { reduction: 'none' }).loss as Float32Array)[0]).toBeNaN();
    checkEmpty(L.softMarginLossSync);
    for (const n of [5, 1037, 70001]) checkSimdPaths(L.softMarginLossSync, uniform(r, n, -30, 30), uniform(r, n, -1, 1));
  });
});

describe('hingeEmbeddingLoss', () => {
  const x = f32([0.8, -0.4, 2.0, -1.5]);
  const y = f32([1, 1, -1, -1]);
  test('spec vector 1.7; targets outside {-1, 1} get both terms', () => {
    const none = L.hingeEmbeddingLossSync(x, y, { reduction: 'none' });
    expectClose(none.loss as Float32Array, [0.8, -0.4, 0, 2.5], 1e-7);
    expect(Array.from(none.grad!)).toEqual([1, 1, 0, -1]);
    expectClose(L.hingeEmbeddingLossSync(x, y).loss as number, 0.725, 1e-7);
    const both = L.hingeEmbeddingLossSync(f32([-0.4]), f32([0]), { reduction: 'none' });
    expectClose(both.loss as Float32Array, [1.0], 1e-7);
    expect(Array.from(both.grad!)).toEqual([0]); // -1 (hinge) + 1 (identity)
  });
  test('margin, boundary gradient, reductions, NaN, empty, SIMD', () => {
    const r = rng(32);
    const xi = uniform(r, 400, -3, 3);
    const yi = Float32Array.from(xi, () => [-1, 1, 0, 2][Math.floor(r() * 4)]);
    for (const m of [1, 0.5, 2]) checkReductions(L.hingeEmbeddingLossSync, xi, yi, hingeRef(m), { margin: m }, { rtol: 1e-6, atol: 1e-6 });
    // margin - x == 0: the gradient passes (clamp_min backward), as PyTorch.
    expect(Array.from(L.hingeEmbeddingLossSync(f32([1]), f32([-1]), { reduction: 'none' }).grad!)).toEqual([-1]);
    checkFiniteDiff(hingeRef(1), [[0.3, -1], [0.3, 1], [2, -1], [-0.5, 0]]);
    checkKernelFiniteDiff(L.hingeEmbeddingLossSync, f32([0.3, 0.3, 2, -0.5]), f32([-1, 1, -1, 0]));
    const nan = L.hingeEmbeddingLossSync(f32([NaN, NaN]), f32([1, -1]), { reduction: 'none' });
    expect(Array.from(nan.loss as Float32Array).every(Number.isNaN)).toBe(true);
    expect(Array.from(nan.grad!)).toEqual([1, 0]);
    checkEmpty(L.hingeEmbeddingLossSync);
    for (const n of [5, 1037, 70001]) checkSimdPaths(L.hingeEmbeddingLossSync, uniform(r, n, -3, 3), Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1)));
  });
});

describe('marginBce', () => {
  const z = f32([1.0, -0.3, 0.2]);
  const y = f32([1, 0, 1]);
  test.each([
    [0, [0.3132616875, 0.5543552445, 0.5981388694], 1.4657558014, [-0.2689414214, 0.4255574832, -0.4501660027]],
    [0.4, [0.4374879505, 0.7443966601, 0.7981388694], 1.9800234799, [-0.3543436938, 0.5249791875, -0.5498339973]],
    [2.0, [1.3132616875, 1.8677860294, 1.9529776105], 5.1340253274, [-0.7310585786, 0.8455347349, -0.8581489351]],
  ])('spec vector 2.1, margin %p', (m, none, sum, grad) => {
    const r = L.marginBceSync(z, y, { margin: m as number, reduction: 'none' });
    expectClose(r.loss as Float32Array, none as number[], 1e-6);
    expectClose(r.grad!, grad as number[], 1e-6);
    expectClose(L.marginBceSync(z, y, { margin: m as number, reduction: 'sum' }).loss as number, sum as number, 1e-6);
  });
  test('margin 0 equals bceWithLogits; weights; finite differences; extreme logits', () => {
    const r = rng(33);
    const xi = uniform(r, 300, -6, 6);
    const yi = uniform(r, 300, 0, 1);
    const a = L.marginBceSync(xi, yi, { reduction: 'none' });
    const b = L.bceWithLogitsSync(xi, yi, { reduction: 'none' });
    expectClose(a.loss as Float32Array, b.loss as Float32Array, 1e-6, 1e-7);
    const w = uniform(r, 300, 0, 2);
    checkReductions(L.marginBceSync, xi, yi, marginRef(0.4), { margin: 0.4, weight: w }, { rtol: 2e-5, atol: 2e-6 }, w);
    checkFiniteDiff(marginRef(2), [[1, 1], [-0.3, 0], [0.2, 0.5]]);
    checkKernelFiniteDiff(L.marginBceSync, f32([1, -0.3, 0.2]), f32([1, 0, 0.5]), { margin: 2 });
    const e = L.marginBceSync(f32([1e4, -1e4, 1e4, -1e4]), f32([1, 1, 0, 0]), { margin: 2, reduction: 'none' });
    expectClose(e.loss as Float32Array, [0, 1e4 + 2, 1e4 + 2, 0], 1e-6);
    expect(Array.from(e.grad!)).toEqual([0, -1, 1, 0]);
  });
  test('targets outside [0, 1] are rejected unless checkTargets: false; margin < 0 rejected; NaN; empty; SIMD', () => {
    expect(thrown(() => L.marginBceSync(z, f32([1, 2, 0]))).code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(() => L.marginBceSync(z, f32([1, 2, 0]), { checkTargets: false })).not.toThrow();
    expect(thrown(() => L.marginBceSync(z, y, { margin: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect((L.marginBceSync(f32([NaN]), f32([1]), { reduction: 'none' }).loss as Float32Array)[0]).toBeNaN();
    checkEmpty(L.marginBceSync);
    const r = rng(34);
    for (const n of [5, 1037, 70001]) checkSimdPaths(L.marginBceSync, uniform(r, n, -20, 20), uniform(r, n, 0, 1), { margin: 0.4, weight: 0.5 }, 2e-6, 1e-6);
  });
});

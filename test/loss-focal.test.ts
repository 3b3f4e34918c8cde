// sigmoidFocalLoss: torchvision sigmoid_focal_loss, specs/losses.md 1.6.
import * as bitgrad from '../lib';
import { expectClose, rng, sigmoid, softplus, uniform } from './helpers';
import { Ref, checkEmpty, checkFiniteDiff, checkKernelFiniteDiff, checkReductions, checkSimdPaths, f32 } from './loss-helpers';

const L = bitgrad.losses;

// torchvision's formula in float64, with the spec's analytic gradient.
function focalRef(alpha: number, gamma: number): Ref {
  return (x, y) => {
    const p = sigmoid(x);
    const ce = softplus(-x) + (1 - y) * x;
    const q = p * (1 - y) + sigmoid(-x) * y;
    const at = alpha >= 0 ? alpha * y + (1 - alpha) * (1 - y) : 1;
    const mod = gamma === 0 ? 1 : q ** gamma;
    const t2 = gamma === 0 || q === 0 ? 0 : gamma * ce * q ** (gamma - 1) * p * (1 - p) * (2 * y - 1);
    return { loss: at * ce * mod, grad: at * ((p - y) * mod - t2) };
  };
}

describe('sigmoidFocalLoss', () => {
  const x = f32([2, -1, 0.5, -3]);
  const y = f32([1, 1, 0, 0]);

  test("spec vector 1.6; default reduction is 'none'", () => {
    const r = L.sigmoidFocalLossSync(x, y);
    expectClose(r.loss as Float32Array, [4.5089070881e-4, 1.7546707585e-1, 2.8305870064e-1, 8.1962493373e-5], 2e-6);
    expectClose(r.grad!, [-1.2177350488e-3, -1.920586808e-1, 3.9461386641e-1, 2.3615388487e-4], 2e-6);
    expectClose(L.sigmoidFocalLossSync(x, y, { reduction: 'sum' }).loss as number, 0.4590586297, 2e-6);
    const m = L.sigmoidFocalLossSync(x, y, { reduction: 'mean' });
    expectClose(m.loss as number, 0.1147646574, 2e-6);
    expectClose(m.grad!, Array.from(r.grad!, (g) => g / 4), 2e-6);
    const na = L.sigmoidFocalLossSync(x, y, { alpha: -1 });
    expectClose(na.loss as Float32Array, [1.8035628352e-3, 7.0186830341e-1, 3.7741160086e-1, 1.092833245e-4], 2e-6);
  });

  test.each([
    [0.25, 2],
    [-1, 2],
    [0.4, 1.7],
    [0.25, 0],
    [0.25, 1],
    [0.6, 0.5],
  ])('alpha %p gamma %p: reductions vs float64 reference, finite differences, soft targets', (alpha, gamma) => {
    const r = rng(21 + gamma);
    const xi = uniform(r, 301, -6, 6);
    const yi = uniform(r, 301, 0, 1);
    yi.set([0, 1, 1, 0], 0);
    const ref = focalRef(alpha, gamma);
    checkReductions(L.sigmoidFocalLossSync, xi, yi, ref, { alpha, gamma }, { rtol: 1e-4, atol: 2e-6 });
    checkFiniteDiff(ref, [[0.3, 1], [-2, 0], [1.5, 0.3], [-0.7, 0.8]], 1e-6, 1e-6);
    checkKernelFiniteDiff(L.sigmoidFocalLossSync, f32([0.3, -2, 1.5, -0.7]), f32([1, 0, 0.3, 0.8]), { alpha, gamma }, 1e-2, 2e-2);
  });

  test('extreme logits +-1e4 stay finite (gamma 2, 1.7 and 0.5)', () => {
    const xe = f32([1e4, -1e4, 1e4, -1e4]);
    const ye = f32([1, 0, 0, 1]);
    for (const gamma of [2, 1.7, 0.5]) {
      const r = L.sigmoidFocalLossSync(xe, ye, { gamma, reduction: 'none' });
      const ref = focalRef(0.25, gamma);
      expectClose(r.loss as Float32Array, Array.from(xe, (v, i) => ref(v, ye[i], 1).loss), 1e-6);
      expectClose(r.grad!, Array.from(xe, (v, i) => ref(v, ye[i], 1).grad), 1e-6);
      expect(Array.from(r.grad!).every(Number.isFinite)).toBe(true);
    }
  });

  test('NaN logits or targets give NaN; gamma < 0 is rejected', () => {
    const r = L.sigmoidFocalLossSync(f32([NaN, 0.5]), f32([1, NaN]));
    expect(Array.from(r.loss as Float32Array).every(Number.isNaN)).toBe(true);
    expect(() => L.sigmoidFocalLossSync(x, y, { gamma: -1 })).toThrow(expect.objectContaining({ code: 'BITGRAD_INVALID_ARGUMENT' }));
  });

  test('empty input', () => checkEmpty(L.sigmoidFocalLossSync));

  test('every SIMD path matches scalar', () => {
    const r = rng(23);
    for (const n of [3, 17, 1037, 70001])
      for (const gamma of [2, 1.7])
        checkSimdPaths(L.sigmoidFocalLossSync, uniform(r, n, -20, 20), uniform(r, n, 0, 1), { gamma }, 2e-5, 1e-6);
  });

  test('async and tensors agree with sync', async () => {
    const r = rng(24);
    const xi = uniform(r, 40000, -5, 5);
    const yi = uniform(r, 40000, 0, 1);
    const s = L.sigmoidFocalLossSync(xi, yi, { reduction: 'mean' });
    const a = await L.sigmoidFocalLoss(xi, yi, { reduction: 'mean' });
    expect(a.loss).toBe(s.loss);
    const xt = bitgrad.tensor(xi, [200, 200]);
    const yt = bitgrad.tensor(yi, [200, 200]);
    const t = await L.sigmoidFocalLoss(xt, yt, { reduction: 'mean' });
    expect(((await t.loss.data()) as Float32Array)[0]).toBe(s.loss);
    expect(Array.from((await t.grad!.data()) as Float32Array)).toEqual(Array.from(s.grad!));
    for (const v of [xt, yt, t.loss, t.grad!]) v.dispose();
  });
});

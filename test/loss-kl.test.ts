// klDiv: PyTorch kl_div, specs/losses.md 1.5.
import * as bitgrad from '../lib';
import { expectClose, rng, uniform } from './helpers';
import { Ref, checkEmpty, checkFiniteDiff, checkKernelFiniteDiff, checkReductions, checkSimdPaths, f32 } from './loss-helpers';

const L = bitgrad.losses;
const klRef: Ref = (x, t) => ({
  loss: (t === 0 ? 0 : t * Math.log(t)) - t * x,
  grad: -t,
  gradT: t === 0 ? NaN : Math.log(t) + 1 - x,
});
const klLogRef: Ref = (x, t) => ({ loss: Math.exp(t) * (t - x), grad: -Math.exp(t), gradT: Math.exp(t) * (t - x + 1) });

describe('klDiv', () => {
  const input = f32([0.25, 0.25, 0.5, 0.1, 0.6, 0.3].map(Math.log));
  const target = f32([0.5, 0.5, 0, 0.2, 0.5, 0.3]);
  const shape = [2, 3];

  test('spec vector 1.5: none, sum, mean, batchmean, grad = -target', () => {
    const none = L.klDivSync(input, target, { shape, reduction: 'none' });
    expectClose(none.loss as Float32Array, [0.3465735903, 0.3465735903, 0, 0.1386294361, -0.0911607784, 0], 1e-6, 1e-7);
    expectClose(none.grad!, Array.from(target, (t) => -t), 0);
    expect(none.gradTarget).toBeNull();
    expectClose(L.klDivSync(input, target, { shape, reduction: 'sum' }).loss as number, 0.7406158383, 1e-6);
    expectClose(L.klDivSync(input, target, { shape }).loss as number, 0.123435973, 1e-6);
    const bm = L.klDivSync(input, target, { shape, reduction: 'batchmean' });
    expectClose(bm.loss as number, 0.3703079191, 1e-6);
    expectClose(bm.grad!, Array.from(target, (t) => -t / 2), 1e-7);
  });

  test('spec vector 1.5 with logTarget', () => {
    const lt = f32([0.5, 0.4, 0.1, 0.2, 0.5, 0.3].map(Math.log));
    const none = L.klDivSync(input, lt, { shape, reduction: 'none', logTarget: true });
    expectClose(none.loss as Float32Array, [0.3465735903, 0.1880014517, -0.1609437912, 0.1386294361, -0.0911607784, 0], 1e-6, 1e-7);
    expectClose(none.grad!, Array.from(lt, (t) => -Math.exp(t)), 1e-6);
    expectClose(L.klDivSync(input, lt, { shape, reduction: 'batchmean', logTarget: true }).loss as number, 0.2105499542, 1e-6);
    expectClose(L.klDivSync(input, lt, { shape, reduction: 'sum', logTarget: true }).loss as number, 0.4210999084, 1e-6);
    expectClose(L.klDivSync(input, lt, { shape, reduction: 'mean', logTarget: true }).loss as number, 0.0701833181, 1e-6);
  });

  test('target gradient: log t + 1 - input, NaN at t = 0 (PyTorch 1.13), exp(t)(t - input + 1) for log targets', () => {
    const r = L.klDivSync(input, target, { reduction: 'none', targetGrad: true });
    expectClose(r.gradTarget!, Array.from(input, (x, i) => klRef(x, target[i], 1).gradT!), 1e-6);
    expect(r.gradTarget![2]).toBeNaN();
    const into = new Float32Array(6);
    const lt = f32([-0.5, -1, -2, -0.1, -3, -0.7]);
    const s = L.klDivSync(input, lt, { logTarget: true, reduction: 'sum', gradTargetInto: into, gradOutput: 3 });
    expect(s.gradTarget).toBe(into);
    expectClose(into, Array.from(input, (x, i) => 3 * klLogRef(x, lt[i], 1).gradT!), 1e-6);
  });

  test('reductions vs float64 reference, finite differences for both gradients', () => {
    const r = rng(41);
    const xi = uniform(r, 600, -5, 0);
    const ti = uniform(r, 600, 0, 1);
    ti.set([0, 0], 0);
    checkReductions(L.klDivSync, xi, ti, klRef, { targetGrad: true });
    checkReductions(L.klDivSync, xi, uniform(r, 600, -5, 0), klLogRef, { logTarget: true, targetGrad: true });
    checkFiniteDiff(klRef, [[-1, 0.3], [-0.2, 0.9], [-3, 0.05]], 1e-6, 1e-6, true);
    checkFiniteDiff(klLogRef, [[-1, -0.3], [-0.2, -2], [-3, -0.05]], 1e-6, 1e-6, true);
    checkKernelFiniteDiff(L.klDivSync, f32([-1, -0.2, -3]), f32([0.3, 0.9, 0.05]));
  });

  test('NaN and edge results: t < 0 NaN, t = 0 with input -inf NaN (0 * inf), extreme inputs', () => {
    const r = L.klDivSync(f32([-1, -Infinity, NaN, -1e4, 1e4]), f32([-0.5, 0, 0.5, 0.5, 0.5]), { reduction: 'none' });
    const l = Array.from(r.loss as Float32Array);
    expect(l[0]).toBeNaN();
    expect(l[1]).toBeNaN();
    expect(l[2]).toBeNaN();
    expectClose([l[3], l[4]], [0.5 * Math.log(0.5) + 5000, 0.5 * Math.log(0.5) - 5000], 1e-6);
  });

  test("'batchmean' of a 0-d shape is rejected; empty inputs", () => {
    expect(() => L.klDivSync(f32([-1]), f32([0.5]), { shape: [], reduction: 'batchmean' })).toThrow(expect.objectContaining({ code: 'BITGRAD_SHAPE_MISMATCH' }));
    checkEmpty(L.klDivSync);
    const e = new Float32Array(0);
    expect(L.klDivSync(e, e, { shape: [0, 3], reduction: 'batchmean' }).loss).toBeNaN();
    expect(L.klDivSync(e, e, { shape: [2, 0], reduction: 'batchmean' }).loss).toBe(0);
  });

  test('every SIMD path matches scalar', () => {
    const r = rng(42);
    for (const n of [5, 1037, 70001]) {
      checkSimdPaths(L.klDivSync, uniform(r, n, -8, 0), uniform(r, n, 0.001, 1), { targetGrad: true }, 2e-6, 1e-6);
      checkSimdPaths(L.klDivSync, uniform(r, n, -8, 0), uniform(r, n, -8, 0), { logTarget: true, targetGrad: true }, 2e-6, 1e-6);
    }
  });

  test('tensors: batchmean from the shape, async, target gradient tensor', async () => {
    const r = rng(43);
    const xi = uniform(r, 64 * 500, -4, 0);
    const ti = uniform(r, 64 * 500, 0, 1);
    const s = L.klDivSync(xi, ti, { shape: [64, 500], reduction: 'batchmean', targetGrad: true });
    const xt = bitgrad.tensor(xi, [64, 500]);
    const tt = bitgrad.tensor(ti, [64, 500]);
    const a = await L.klDiv(xt, tt, { reduction: 'batchmean', targetGrad: true });
    expect(((await a.loss.data()) as Float32Array)[0]).toBe(s.loss);
    expect(Array.from((await a.gradTarget!.data()) as Float32Array)).toEqual(Array.from(s.gradTarget!));
    for (const v of [xt, tt, a.loss, a.grad!, a.gradTarget!]) v.dispose();
  });
});

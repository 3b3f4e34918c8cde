// anyLoss (specs/losses.md 2.8) and triBce (2.11): spec vectors, float64 references,
// central finite differences, empty inputs, coded errors.
import * as bitgrad from '../lib';
import { expectClose, rng, thrown } from './helpers';
import { anyRef, fdGrad, triParts, triRef } from './research-ref';

const L = bitgrad.losses;
const f32 = (a: number[]) => Float32Array.from(a);

describe('anyLoss', () => {
  const p = f32([0.9, 0.6, 0.3, 0.2]);
  const y = f32([1, 1, 0, 1]);
  test.each([
    [73, 'f1', 0.2001621147, [-3.649660765e-12, -1.1822656866e-2, 5.3298329334e-6, -5.4025925629e-9]],
    [73, 'accuracy', 0.2501688847, [-3.8007035562e-12, -1.2311942639e-2, 8.32842802e-6, -5.6261811955e-9]],
    [73, 'balancedAccuracy', 0.1667794086, [-2.5338023708e-12, -8.2079617596e-3, 1.665685604e-5, -3.7507874637e-9]],
    [10, 'f1', 0.278440141, [-0.0462747858, -0.5151065182, 0.1552536808, -0.1183590005]],
    [10, 'accuracy', 0.33967617, [-0.0441567655, -0.4915298331, 0.2624839635, -0.1129416493]],
    [10, 'balancedAccuracy', 0.2661850874, [-0.0294378437, -0.3276865554, 0.524967927, -0.0752944329]],
  ])('spec vector 2.8: L %p %s', (Lv, metric, loss, grad) => {
    const r = L.anyLossSync(p, y, { L: Lv as number, metric: metric as never });
    expectClose(r.loss as number, loss as number, 2e-6);
    // relative check: the tiny entries at L = 73 are exact in the spec
    expectClose(r.grad!, grad as number[], 1e-4, 0);
  });
  test.each([['f1'], ['fbeta'], ['accuracy'], ['balancedAccuracy'], ['gmean']])('%s: float64 reference and finite differences, epsilon, gradOutput', (metric) => {
    const r = rng(metric.length * 7);
    const n = 300;
    const x = Float32Array.from({ length: n }, () => r());
    const t = Float32Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
    for (const [Lv, eps, beta] of [[10, 0, 2], [4, 1e-5, 0.5]]) {
      const o = { L: Lv, metric: metric as never, epsilon: eps, beta };
      const b = metric === 'fbeta' ? beta : 1;
      const got = L.anyLossSync(x, t, { ...o, gradOutput: -2 });
      expectClose(got.loss as number, anyRef(x, t, Lv, metric, b, eps), 1e-5, 1e-7);
      expectClose(got.grad!, fdGrad((xx) => -2 * anyRef(xx, t, Lv, metric, b, eps), x), 1e-4, 1e-7);
    }
  });
  test('large batch on the worker pool; tensors; empty; errors', async () => {
    const r = rng(3);
    const n = 100003;
    const x = Float32Array.from({ length: n }, () => r());
    const t = Float32Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
    const a = await L.anyLoss(x, t, { L: 20 });
    const s = L.anyLossSync(x, t, { L: 20 });
    expect(a.loss).toBe(s.loss);
    expect(Array.from(a.grad!)).toEqual(Array.from(s.grad!));
    expectClose(s.loss as number, anyRef(x, t, 20, 'f1'), 1e-5);
    const xt = bitgrad.tensor(p, [2, 2], { device: 'cpu' });
    const yt = bitgrad.tensor(y, [2, 2], { device: 'cpu' });
    const tr = L.anyLossSync(xt, yt, { L: 10 });
    expect(tr.loss.shape).toEqual([]);
    expect(tr.grad!.shape).toEqual([2, 2]);
    xt.dispose();
    yt.dispose();
    const e = new Float32Array(0);
    expect(L.anyLossSync(e, e, { L: 10 }).loss).toBeNaN(); // 0 / 0
    expectClose(L.anyLossSync(e, e, { L: 10, epsilon: 1e-5 }).loss as number, 1, 0); // metric 0
    expect(thrown(() => L.anyLossSync(p, y, {} as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.anyLossSync(p, y, { L: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.anyLossSync(p, y, { L: 10, metric: 'auc' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.anyLossSync(p, y, { L: 10, gradOutput: f32([1]) as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.anyLossSync(p, f32([1]), { L: 10 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
});

describe('triBce', () => {
  const zD = f32([1, -0.5]);
  const zS = f32([0.2, 0.3]);
  const y = f32([1, 0]);
  test('spec vector 2.11, both gradient variants', () => {
    const parts = triParts(zD, zS, y);
    expectClose([parts.L, parts.LD, parts.LS], [0.5409423053, 0.3936693358, 0.7262470569], 1e-9);
    const r = L.triBceSync(zD, zS, y);
    expectClose(r.loss, 0.6755193358, 1e-6);
    expectClose(r.gradD!, [-0.0242506573, 0.0325095864], 1e-5, 1e-8);
    expectClose(r.gradS!, [-0.2294254742, 0.2943266439], 1e-5, 1e-8);
    const d = L.triBceSync(zD, zS, y, { detachWeights: true });
    expectClose(d.loss, 0.6755193358, 1e-6);
    expectClose(d.gradD!, [-0.0885859234, 0.1187552031], 1e-5, 1e-8);
    expectClose(d.gradS!, [-0.1302948731, 0.1719786671], 1e-5, 1e-8);
  });
  test('float64 reference and finite differences (attached and detached weights)', () => {
    const r = rng(11);
    const n = 257;
    const a = Float32Array.from({ length: n }, () => 6 * r() - 3);
    const b = Float32Array.from({ length: n }, () => 6 * r() - 3);
    const t = Float32Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
    const got = L.triBceSync(a, b, t, { gradOutput: 1.5 });
    expectClose(got.loss, triRef(a, b, t), 1e-5);
    expectClose(got.gradD!, fdGrad((x) => 1.5 * triRef(x, b, t), a), 1e-4, 1e-8);
    expectClose(got.gradS!, fdGrad((x) => 1.5 * triRef(a, x, t), b), 1e-4, 1e-8);
    const P = triParts(a, b, t);
    const w = { wD: Math.max(0, P.LD - P.L), wS: Math.max(0, P.LS - P.L) };
    const det = L.triBceSync(a, b, t, { detachWeights: true });
    expectClose(det.gradD!, fdGrad((x) => triRef(x, b, t, w), a), 1e-4, 1e-8);
    expectClose(det.gradS!, fdGrad((x) => triRef(a, x, t, w), b), 1e-4, 1e-8);
    // extreme logits stay finite (logit form)
    const e = L.triBceSync(f32([1e4, -1e4]), f32([-1e4, 1e4]), f32([1, 0]));
    expect(Number.isFinite(e.loss)).toBe(true);
    expect(Array.from(e.gradD!).every(Number.isFinite)).toBe(true);
  });
  test('worker pool, tensors, empty, errors', async () => {
    const r = rng(12);
    const n = 50001;
    const a = Float32Array.from({ length: n }, () => 4 * r() - 2);
    const b = Float32Array.from({ length: n }, () => 4 * r() - 2);
    const t = Float32Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
    const x = await L.triBce(a, b, t);
    const s = L.triBceSync(a, b, t);
    expect(x.loss).toBe(s.loss);
    expect(Array.from(x.gradS!)).toEqual(Array.from(s.gradS!));
    const [at, bt, tt] = [zD, zS, y].map((v) => bitgrad.tensor(v, [2], { device: 'cpu' }));
    const tr = L.triBceSync(at, bt, tt);
    expectClose(tr.loss.dataSync() as Float32Array, [0.6755193358], 1e-6);
    expectClose(tr.gradS!.dataSync() as Float32Array, [-0.2294254742, 0.2943266439], 1e-5, 1e-8);
    [at, bt, tt].forEach((v) => v.dispose());
    const e = new Float32Array(0);
    expect(L.triBceSync(e, e, e).loss).toBeNaN();
    expect(L.triBceSync(zD, zS, y, { grad: false }).gradD).toBeNull();
    expect(thrown(() => L.triBceSync(zD, f32([1]), y)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.triBceSync(zD, zS, y, { detachWeights: 1 as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
});

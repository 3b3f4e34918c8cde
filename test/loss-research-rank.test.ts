// mwLoss (specs/losses.md 2.3) and paBce (2.9): spec vectors, float64 references,
// central finite differences, every reduction, empty inputs, coded errors.
import * as bitgrad from '../lib';
import { expectClose, rng, thrown } from './helpers';
import { fdGrad, mwRef, paRef } from './research-ref';

const L = bitgrad.losses;
const f32 = (a: number[]) => Float32Array.from(a);
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

describe('mwLoss', () => {
  const S = f32([0.8, 0.3, 0.5, 0.6]);
  test.each([
    [1.0, 1.1135920666, [-0.401549076, 0.401549076, 0.4502891479, -0.4502891479]],
    [0.1, 0.2085758696, [-0.2705936205, 0.2705936205, 1.5818364727, -1.5818364727]],
  ])('spec vector 2.3, tau %p', (tau, loss, grad) => {
    const r = L.mwLossSync(S, { shape: [2, 2], tau: tau as number });
    expectClose(r.loss as number, loss as number, 1e-6);
    expectClose(r.grad!, grad as number[], 1e-5, 1e-7);
  });
  test('float64 reference with hard negatives, finite differences, every reduction', () => {
    const r = rng(21);
    const B = 5, C = 15;
    const s = Float32Array.from({ length: B * C }, () => 2 * r() - 1);
    for (const tau of [1, 0.05]) {
      const ref = mwRef(s, B, C, tau);
      const go = [1, -2, 0.5, 0, 3];
      const none = L.mwLossSync(s, { shape: [B, C], tau, reduction: 'none', gradOutput: f32(go) });
      expectClose(none.loss as Float32Array, ref, 1e-5, 1e-5);
      expectClose(none.grad!, fdGrad((x) => sum(mwRef(x, B, C, tau).map((v, i) => v * go[i])), s), 1e-4, 1e-5);
      const mean = L.mwLossSync(s, { shape: [B, C], tau });
      expectClose(mean.loss as number, sum(ref) / B, 1e-5);
      expectClose(mean.grad!, fdGrad((x) => sum(mwRef(x, B, C, tau)) / B, s), 1e-4, 1e-5);
      const su = L.mwLossSync(s, { shape: [B, C], tau, reduction: 'sum', gradOutput: 2 });
      expectClose(su.loss as number, sum(ref), 1e-5);
      expectClose(su.grad!, Float64Array.from(mean.grad!, (v) => 2 * B * v), 1e-5, 1e-6);
    }
  });
  test('larger batch: async on the worker pool equals sync; tensors; empty; errors', async () => {
    const r = rng(22);
    const B = 64, C = 640;
    const s = Float32Array.from({ length: B * C }, () => 2 * r() - 1);
    const a = await L.mwLoss(s, { shape: [B, C], tau: 0.1 });
    const y = L.mwLossSync(s, { shape: [B, C], tau: 0.1 });
    expect(a.loss).toBe(y.loss);
    expect(Array.from(a.grad!)).toEqual(Array.from(y.grad!));
    const t = bitgrad.tensor(S, [2, 2], { device: 'cpu' });
    expectClose(L.mwLossSync(t).loss.dataSync() as Float32Array, [1.1135920666], 1e-6);
    t.dispose();
    const e = new Float32Array(0);
    expect(L.mwLossSync(e, { shape: [0, 0] }).loss).toBeNaN();
    expect(L.mwLossSync(e, { shape: [0, 3], reduction: 'sum' }).loss).toBe(0);
    expect(L.mwLossSync(f32([0.5]), { shape: [1, 1] }).loss).toBe(0); // no negatives
    expect(thrown(() => L.mwLossSync(S, {} as never)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.mwLossSync(S, { shape: [4, 1] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.mwLossSync(S, { shape: [2, 2], tau: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
});

describe('paBce', () => {
  test('spec vector 2.9', () => {
    const r = L.paBceSync(f32([0.5, 0.2, -0.1, 0.4]), f32([100, 50, 10, -20]));
    expectClose(r.loss as number, 0.8992375584, 1e-6);
    expectClose(r.grad!, [-0.4736144099, 0.0134456758, 0.4601687341, 0], 1e-5, 1e-8);
  });
  test('float64 reference, finite differences, every reduction, zero-loss lists dropped from the mean', () => {
    const r = rng(31);
    const Q = 7, M = 9;
    const s = Float32Array.from({ length: Q * M }, () => 2 * r() - 1);
    const pnl = Float32Array.from({ length: Q * M }, () => Math.round(200 * r() - 100));
    for (let i = 0; i < M; i++) pnl[3 * M + i] = 5; // all gaps 0: list 3 has zero loss
    for (const k of [3, 5, 20]) {
      const ref = paRef(s, pnl, Q, M, k);
      expect(ref[3]).toBe(0);
      const go = [1, 2, -1, 4, 0.5, 0, 1];
      const none = L.paBceSync(s, pnl, { shape: [Q, M], topK: k, reduction: 'none', gradOutput: f32(go) });
      expectClose(none.loss as Float32Array, ref, 1e-5, 1e-6);
      expectClose(none.grad!, fdGrad((x) => sum(paRef(x, pnl, Q, M, k).map((v, i) => v * go[i])), s), 1e-4, 1e-6);
      const nz = ref.filter((v) => v !== 0).length;
      const mean = L.paBceSync(s, pnl, { shape: [Q, M], topK: k });
      expectClose(mean.loss as number, sum(ref) / nz, 1e-5);
      expectClose(mean.grad!, fdGrad((x) => sum(paRef(x, pnl, Q, M, k)) / nz, s), 1e-4, 1e-6);
      const su = L.paBceSync(s, pnl, { shape: [Q, M], topK: k, reduction: 'sum' });
      expectClose(su.loss as number, sum(ref), 1e-5);
    }
  });
  test('async, tensors, empty and all-zero batches, errors', async () => {
    const r = rng(32);
    const Q = 2000, M = 20;
    const s = Float32Array.from({ length: Q * M }, () => 2 * r() - 1);
    const pnl = Float32Array.from({ length: Q * M }, () => 100 * r());
    const a = await L.paBce(s, pnl, { shape: [Q, M] });
    const y = L.paBceSync(s, pnl, { shape: [Q, M] });
    expect(a.loss).toBe(y.loss);
    expect(Array.from(a.grad!)).toEqual(Array.from(y.grad!));
    const st = bitgrad.tensor(f32([0.5, 0.2, -0.1, 0.4]), [1, 4], { device: 'cpu' });
    const pt = bitgrad.tensor(f32([100, 50, 10, -20]), [1, 4], { device: 'cpu' });
    expectClose(L.paBceSync(st, pt).loss.dataSync() as Float32Array, [0.8992375584], 1e-6);
    st.dispose();
    pt.dispose();
    const e = new Float32Array(0);
    expect(L.paBceSync(e, e, { shape: [0, 4] }).loss).toBe(0); // no non-zero list: 0
    const flat = L.paBceSync(f32([0.3, 0.1]), f32([7, 7]));
    expect(flat.loss).toBe(0);
    expect(Array.from(flat.grad!)).toEqual([0, 0]);
    expect(thrown(() => L.paBceSync(s, pnl, { topK: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.paBceSync(s, pnl, { topK: 2.5 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.paBceSync(s, pnl, { shape: [2, 2, 10000] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
});

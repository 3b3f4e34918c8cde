// diceLoss, softIoULoss (specs/losses.md 2.15) and basnetHybrid (2.2): spec vectors,
// float64 references, central finite differences, reductions, empty inputs, errors.
import * as bitgrad from '../lib';
import { expectClose, rng, thrown } from './helpers';
import { basnetRef, fdGrad, overlapRef } from './research-ref';

const L = bitgrad.losses;
const f32 = (a: number[]) => Float32Array.from(a);
const u = (r: () => number, n: number, lo = 0, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());

describe('diceLoss / softIoULoss', () => {
  const p = f32([0.9, 0.8, 0.2, 0.1]);
  const g = f32([1, 1, 0, 0]);
  test('spec vectors 2.15', () => {
    const d = L.diceLossSync(p, g);
    expectClose(d.loss as number, 0.149999625, 1e-6);
    expectClose(d.grad!, [-0.2874991875, -0.2874991875, 0.2124995625, 0.2124995625], 1e-6);
    expectClose(L.diceLossSync(p, g, { squaredPred: true }).loss as number, 0.0285713469, 1e-5);
    const i = L.softIoULossSync(p, g);
    expectClose(i.loss as number, 0.2608695652, 1e-6);
    expectClose(i.grad!, [-0.4347826087, -0.4347826087, 0.3213610586, 0.3213610586], 1e-6);
  });
  test.each([
    ['dice', {}, { dice: true, snr: 1e-5, sdr: 1e-5 }],
    ['dice squared', { squaredPred: true }, { dice: true, sq: true, snr: 1e-5, sdr: 1e-5 }],
    ['dice jaccard', { jaccard: true, smoothNr: 0.5, smoothDr: 0.25 }, { dice: true, jaccard: true, snr: 0.5, sdr: 0.25 }],
    ['iou', {}, { snr: 0, sdr: 0 }],
    ['iou smoothed squared', { smoothNr: 1, smoothDr: 1, squaredPred: true }, { sq: true, snr: 1, sdr: 1 }],
  ])('%s: float64 reference, finite differences, every reduction', (name, opts, ro) => {
    const fn = (name as string).startsWith('dice') ? L.diceLossSync : L.softIoULossSync;
    const r = rng(name.length * 13);
    const shape = [3, 2, 5, 7];
    const rows = 6, cols = 35;
    const x = u(r, rows * cols);
    const y = Float32Array.from(u(r, rows * cols), (v) => (v < 0.4 ? 1 : 0));
    const ref = overlapRef(x, y, rows, cols, ro as any);
    const none = fn(x, y, { ...opts, shape, reduction: 'none', gradOutput: f32([1, -1, 2, 0.5, 0, 3]) });
    expectClose(none.loss as Float32Array, ref, 1e-5, 1e-6);
    const go = [1, -1, 2, 0.5, 0, 3];
    const fd = fdGrad((xx) => overlapRef(xx, y, rows, cols, ro as any).reduce((a, v, k) => a + go[k] * v, 0), x);
    expectClose(none.grad!, fd, 1e-4, 1e-6);
    const sum = fn(x, y, { ...opts, shape, reduction: 'sum', gradOutput: 2 });
    expectClose(sum.loss as number, ref.reduce((a, b) => a + b, 0), 1e-5);
    expectClose(sum.grad!, fdGrad((xx) => 2 * overlapRef(xx, y, rows, cols, ro as any).reduce((a, b) => a + b, 0), x), 1e-4, 1e-6);
    const mean = fn(x, y, { ...opts, shape });
    expectClose(mean.loss as number, ref.reduce((a, b) => a + b, 0) / rows, 1e-5);
    expectClose(mean.grad!, fdGrad((xx) => overlapRef(xx, y, rows, cols, ro as any).reduce((a, b) => a + b, 0) / rows, x), 1e-4, 1e-7);
  });
  test('large input on the worker pool matches the sync form; tensors on the CPU', async () => {
    const r = rng(5);
    const x = u(r, 4 * 3 * 5000);
    const y = Float32Array.from(u(r, x.length), (v) => (v < 0.3 ? 1 : 0));
    const a = await L.diceLoss(x, y, { shape: [4, 3, 5000] });
    const s = L.diceLossSync(x, y, { shape: [4, 3, 5000] });
    expect(a.loss).toBe(s.loss);
    expect(Array.from(a.grad!)).toEqual(Array.from(s.grad!));
    const xt = bitgrad.tensor(x, [4, 3, 5000], { device: 'cpu' });
    const yt = bitgrad.tensor(y, [4, 3, 5000], { device: 'cpu' });
    const t = L.diceLossSync(xt, yt, { reduction: 'none' });
    expect(t.loss.shape).toEqual([12]);
    expect(t.grad!.shape).toEqual([4, 3, 5000]);
    expectClose(t.grad!.dataSync() as Float32Array, L.diceLossSync(x, y, { shape: [4, 3, 5000], reduction: 'none' }).grad!, 0, 0);
    xt.dispose();
    yt.dispose();
  });
  test('empty and degenerate inputs; errors', () => {
    const e = new Float32Array(0);
    expect(L.diceLossSync(e, e, { shape: [0, 2, 3] }).loss).toBeNaN();
    expect(L.diceLossSync(e, e, { shape: [0, 2, 3], reduction: 'sum' }).loss).toBe(0);
    // A row with no elements: 1 - smoothNr / smoothDr (0 by default), NaN without smoothing.
    expect(L.diceLossSync(e, e, { shape: [2, 1, 0] }).loss).toBe(0);
    expect(L.softIoULossSync(e, e, { shape: [1, 1, 0] }).loss).toBeNaN();
    // All-zero prediction and target: Dice is 0 with smoothing; soft IoU 0/0 = NaN.
    expect(L.diceLossSync(f32([0, 0]), f32([0, 0])).loss).toBe(0);
    expect(L.softIoULossSync(f32([0, 0]), f32([0, 0])).loss).toBeNaN();
    expect(thrown(() => L.diceLossSync(p, f32([1]))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.diceLossSync(p, g, { shape: [3] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.diceLossSync(p, g, { reduction: 'bogus' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.diceLossSync(p, g, { smoothNr: NaN })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.diceLossSync(p, g, { reduction: 'none', gradOutput: 2 as never })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.softIoULossSync(p, new Float64Array(4) as never)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(L.diceLossSync(p, g, { grad: false }).grad).toBeNull();
  });
});

describe('basnetHybrid', () => {
  const P = f32([0.9, 0.8, 0.1, 0.2, 0.7, 0.6, 0.3, 0.1, 0.2, 0.3, 0.7, 0.8, 0.1, 0.2, 0.9, 0.6]);
  const G = f32([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
  test('spec vector 2.2 (value, parts via the reference, gradient)', () => {
    const ref = basnetRef(P, G, 1, 4, 4);
    expectClose(ref.bce[0], 0.2556794599, 1e-9);
    expectClose(ref.ssim[0], 0.8877114459, 1e-9);
    expectClose(ref.iou[0], 0.6315789474, 1e-9);
    const r = L.basnetHybridSync(P, G, { shape: [1, 1, 4, 4] });
    expectClose(r.loss as number, 0.7363890666, 1e-6);
    expectClose(
      r.grad!,
      [-0.2058835326, -0.2430824523, 0.1597953776, 0.1809145643, -0.2736611093, -0.3355122102, 0.2358763375, 0.1596374202, 0.1893103472, 0.2363262933, -0.2964108098, -0.2441688534, 0.1568011202, 0.1892066403, -0.2157709195, -0.2866773752],
      1e-5,
      1e-7,
    );
  });
  test('float64 reference and finite differences on random maps, every reduction, epsilon', () => {
    const r = rng(77);
    const N = 2, H = 9, W = 13;
    const p = u(r, N * H * W, 0.02, 0.98);
    const g = Float32Array.from(u(r, p.length), (v) => (v < 0.5 ? 1 : 0));
    for (const eps of [0, 0.5]) {
      const ref = basnetRef(p, g, N, H, W, eps);
      const none = L.basnetHybridSync(p, g, { shape: [N, 1, H, W], reduction: 'none', epsilon: eps, gradOutput: f32([1.5, -0.5]) });
      expectClose(none.loss as Float32Array, ref.loss, 1e-5, 1e-6);
      const fd = fdGrad((x) => { const l = basnetRef(x, g, N, H, W, eps).loss; return 1.5 * l[0] - 0.5 * l[1]; }, p);
      expectClose(none.grad!, fd, 1e-4, 1e-6);
      const mean = L.basnetHybridSync(p, g, { shape: [N, H, W], epsilon: eps });
      expectClose(mean.loss as number, (ref.loss[0] + ref.loss[1]) / 2, 1e-5);
      expectClose(mean.grad!, Float64Array.from(fd, (v, i) => (i < H * W ? v / 1.5 : -v / 0.5) / 2), 1e-4, 1e-6);
      const sum = L.basnetHybridSync(p, g, { shape: [N, 1, H, W], reduction: 'sum', gradOutput: 3, epsilon: eps });
      expectClose(sum.loss as number, ref.loss[0] + ref.loss[1], 1e-5);
      expectClose(sum.grad!, Float64Array.from(mean.grad!, (v) => 6 * v), 1e-5, 1e-6);
    }
  });
  test('larger maps on the worker pool, image smaller and larger than the window', async () => {
    const r = rng(78);
    const p = u(r, 3 * 64 * 200);
    const g = Float32Array.from(u(r, p.length), (v) => (v < 0.5 ? 1 : 0));
    const a = await L.basnetHybrid(p, g, { shape: [3, 1, 64, 200] });
    const s = L.basnetHybridSync(p, g, { shape: [3, 1, 64, 200] });
    expect(a.loss).toBe(s.loss);
    expect(Array.from(a.grad!)).toEqual(Array.from(s.grad!));
    const one = L.basnetHybridSync(f32([0.3]), f32([1]), { shape: [1, 1] });
    expectClose(one.loss as number, basnetRef([0.3], [1], 1, 1, 1).loss[0], 1e-6);
  });
  test('errors, range check, empty and degenerate inputs', async () => {
    expect(thrown(() => L.basnetHybridSync(P, G)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.basnetHybridSync(P, G, { shape: [1, 2, 2, 4] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    const bad = Float32Array.from(P);
    bad[5] = 1.5;
    const e = thrown(() => L.basnetHybridSync(bad, G, { shape: [4, 4] }));
    expect(e.code).toBe('BITGRAD_INPUT_OUT_OF_RANGE');
    expect(e.index).toBe(5);
    await expect(L.basnetHybrid(bad, G, { shape: [4, 4] })).rejects.toMatchObject({ code: 'BITGRAD_INPUT_OUT_OF_RANGE' });
    expect(Number.isFinite(L.basnetHybridSync(bad, G, { shape: [4, 4], checkInput: false }).loss as number)).toBe(true);
    expect(thrown(() => L.basnetHybridSync(P, G, { shape: [4, 4], epsilon: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    // All-zero P and G: IoU 0/0 gives NaN without epsilon (the authors'), finite with it.
    const z = new Float32Array(16);
    expect(L.basnetHybridSync(z, z, { shape: [4, 4] }).loss).toBeNaN();
    expectClose(L.basnetHybridSync(z, z, { shape: [4, 4], epsilon: 1e-6 }).loss as number, 0, 0, 1e-6);
    const e0 = new Float32Array(0);
    expect(L.basnetHybridSync(e0, e0, { shape: [0, 1, 4, 4] }).loss).toBeNaN();
    expect(L.basnetHybridSync(e0, e0, { shape: [0, 1, 4, 4], reduction: 'sum' }).loss).toBe(0);
  });
});

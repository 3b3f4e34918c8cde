// nllLoss on the CPU: losses.md §1.4 vector (PyTorch 1.13), a float64 reference on
// random shapes (incl. [N, C, d]), finite differences, ignored rows, empty input,
// threads and coded errors.
import * as bitgrad from '../lib';
import { nllRef } from './class-loss-ref';
import { expectClose, rejected, rng, thrown, uniform } from './helpers';

const { nllLoss, nllLossSync } = bitgrad.losses;

const LP = Float32Array.from([
  -2.4076059644, -1.4076059644, -0.4076059644, -0.7989161848, -0.7989161848, -2.2989161848, -0.1698460196, -3.1698460196, -2.1698460196,
  -1.0986122887, -1.0986122887, -1.0986122887,
]);
const Y = Int32Array.from([2, 0, -100, 1]);
const W = Float32Array.from([0.5, 1, 2]);

describe('spec vector (PyTorch 1.13)', () => {
  test('none, sum, mean and the mean gradient', async () => {
    expectClose(nllLossSync(LP, Y, { weight: W, reduction: 'none' }).loss as Float32Array, [0.8152119289, 0.3994580924, 0, 1.0986122887], 1e-6);
    expectClose(nllLossSync(LP, Y, { weight: W, reduction: 'sum' }).loss as number, 2.31328231, 1e-6);
    const m = await nllLoss(LP, Y, { weight: W });
    expectClose(m.loss as number, 0.6609378029, 1e-6);
    const g = new Array(12).fill(0);
    g[2] = -0.5714285714;
    g[3] = -0.1428571429;
    g[10] = -0.2857142857;
    expectClose(m.grad!, g, 1e-6, 1e-9);
  });
  test('all targets ignored + mean: NaN, zero gradient; with and without weight', () => {
    for (const weight of [W, undefined]) {
      const m = nllLossSync(LP, new Int32Array(4).fill(-100), { weight });
      expect(Number.isNaN(m.loss as number)).toBe(true);
      expect(Array.from(m.grad!).every((v) => v === 0)).toBe(true);
    }
  });
});

describe('float64 reference, random shapes', () => {
  const r = rng(3);
  for (const shape of [[6], [5, 4], [3, 7, 5], [2, 3, 4, 2], [64, 1000]]) {
    for (const reduction of ['none', 'sum', 'mean'] as const) {
      test(`[${shape}] ${reduction}, weight, ignored rows, upstream gradient`, () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const C = shape.length === 1 ? shape[0] : shape[1];
        const rows = n / C;
        const x = uniform(r, n, -5, 0);
        const y = Int32Array.from({ length: rows }, (_, i) => (i % 5 === 3 ? -100 : Math.floor(r() * C)));
        const w = uniform(r, C, 0.5, 2);
        const gradOutput = reduction === 'none' ? uniform(r, rows, -1, 1) : 1.5;
        const got = nllLossSync(x, y, { shape, weight: w, reduction, gradOutput });
        const ref = nllRef(x, shape, y, { weight: w, reduction, gradOutput });
        if (reduction === 'none') expectClose(got.loss as Float32Array, ref.loss as Float64Array, 1e-6, 1e-7);
        else expectClose(got.loss as number, ref.loss as number, 1e-6);
        expectClose(got.grad!, ref.grad, 1e-6, 1e-9);
      });
    }
  }
  test('central finite differences', () => {
    const x = uniform(r, 15, -3, 0);
    const y = Int32Array.from([1, -100, 4]);
    const g = nllLossSync(x, y, { weight: Float32Array.of(1, 2, 3, 4, 5) }).grad!;
    for (let i = 0; i < 15; i++) {
      const a = Float32Array.from(x);
      const b = Float32Array.from(x);
      a[i] += 0.01;
      b[i] -= 0.01;
      const fd = ((nllLossSync(a, y, { weight: Float32Array.of(1, 2, 3, 4, 5) }).loss as number) - (nllLossSync(b, y, { weight: Float32Array.of(1, 2, 3, 4, 5) }).loss as number)) / (a[i] - b[i]);
      expect(Math.abs(fd - g[i])).toBeLessThan(1e-4);
    }
  });
  test('1 and 2 threads are bit-identical', () => {
    const x = uniform(r, 300 * 1000, -5, 0);
    const y = Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 1000);
    bitgrad.setNumThreads(1);
    const one = nllLossSync(x, y);
    bitgrad.setNumThreads(2);
    const two = nllLossSync(x, y);
    bitgrad.setNumThreads(require('os').cpus().length);
    expect(one.loss).toBe(two.loss);
    expect(Array.from(one.grad!)).toEqual(Array.from(two.grad!));
  });
  test('empty input and tensors', () => {
    expect(Number.isNaN(nllLossSync(new Float32Array(0), new Int32Array(0), { shape: [0, 3] }).loss as number)).toBe(true);
    const xt = bitgrad.tensor(LP, [4, 3]);
    const yt = bitgrad.tensor(Y, [4]);
    const m = nllLossSync(xt, yt);
    expectClose(m.loss.dataSync()[0], (0.4076059644 + 0.7989161848 + 1.0986122887) / 3, 1e-6);
    for (const t of [xt, yt, m.loss, m.grad!]) t.dispose();
  });
});

describe('coded errors', () => {
  test('out of range, probability targets, bad shapes', async () => {
    const e = thrown(() => nllLossSync(LP, Int32Array.from([2, 0, 3, 1])));
    expect(e.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(e.index).toBe(2);
    expect(e.value).toBe(3);
    expect((await rejected(nllLoss(LP, Int32Array.from([2, 0, -5, 1])))).code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(thrown(() => nllLossSync(LP, LP as never)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => nllLossSync(LP, Y, { weight: Float32Array.of(1) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
});

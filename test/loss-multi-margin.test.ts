// multiMarginLoss on the CPU: losses.md §1.7 vectors (PyTorch 1.13), a float64
// reference (p = 1, 2, margin, weight), finite differences, threads, coded errors.
import * as bitgrad from '../lib';
import { multiMarginRef } from './class-loss-ref';
import { expectClose, rejected, rng, thrown, uniform } from './helpers';

const { multiMarginLoss, multiMarginLossSync } = bitgrad.losses;
const X = Float32Array.from([0.1, 0.2, 0.4, 0.8]);

describe('spec vectors (PyTorch 1.13)', () => {
  test('y = 3 gives 0.325; y = 0 gives 1.025 with grad [-0.75, 0.25, 0.25, 0.25]', async () => {
    expectClose(multiMarginLossSync(X, Int32Array.of(3)).loss as number, 0.325, 1e-6);
    const r = await multiMarginLoss(X, Int32Array.of(0));
    expectClose(r.loss as number, 1.025, 1e-6);
    expectClose(r.grad!, [-0.75, 0.25, 0.25, 0.25], 1e-6);
  });
  test('p = 2, margin and weight follow the formula', () => {
    const w = Float32Array.of(0.5, 1, 2, 3);
    const r = multiMarginLossSync(X, Int32Array.of(1), { p: 2, margin: 0.7, weight: w });
    const ref = multiMarginRef(X, [1, 4], Int32Array.of(1), { p: 2, margin: 0.7, weight: w });
    expectClose(r.loss as number, ref.loss as number, 1e-6);
    expectClose(r.grad!, ref.grad, 1e-6, 1e-8);
  });
});

describe('float64 reference', () => {
  const r = rng(17);
  for (const p of [1, 2] as const)
    for (const reduction of ['none', 'sum', 'mean'] as const)
      test(`[37, 11] p=${p} ${reduction}, weight, margin 0.5`, () => {
        const x = uniform(r, 37 * 11, -1, 1);
        const y = Int32Array.from({ length: 37 }, () => Math.floor(r() * 11));
        const w = uniform(r, 11, 0.5, 2);
        const gradOutput = reduction === 'none' ? uniform(r, 37, -1, 1) : 2;
        const got = multiMarginLossSync(x, y, { p, margin: 0.5, weight: w, reduction, gradOutput });
        const ref = multiMarginRef(x, [37, 11], y, { p, margin: 0.5, weight: w, reduction, gradOutput });
        if (reduction === 'none') expectClose(got.loss as Float32Array, ref.loss as Float64Array, 1e-5, 1e-7);
        else expectClose(got.loss as number, ref.loss as number, 1e-5);
        expectClose(got.grad!, ref.grad, 1e-5, 1e-7);
      });
  test('central finite differences (p = 2)', () => {
    const x = uniform(r, 3 * 5, -1, 1);
    const y = Int32Array.from([0, 4, 2]);
    const g = multiMarginLossSync(x, y, { p: 2 }).grad!;
    for (let i = 0; i < 15; i++) {
      const a = Float32Array.from(x);
      const b = Float32Array.from(x);
      a[i] += 1e-3;
      b[i] -= 1e-3;
      const fd = ((multiMarginLossSync(a, y, { p: 2 }).loss as number) - (multiMarginLossSync(b, y, { p: 2 }).loss as number)) / (a[i] - b[i]);
      expect(Math.abs(fd - g[i])).toBeLessThan(2e-3);
    }
  });
  test('1 and 2 threads are bit-identical; empty input; tensors', () => {
    const x = uniform(r, 500 * 300, -1, 1);
    const y = Int32Array.from({ length: 500 }, (_, i) => i % 300);
    bitgrad.setNumThreads(1);
    const one = multiMarginLossSync(x, y);
    bitgrad.setNumThreads(2);
    const two = multiMarginLossSync(x, y);
    bitgrad.setNumThreads(require('os').cpus().length);
    expect(one.loss).toBe(two.loss);
    expect(Array.from(one.grad!)).toEqual(Array.from(two.grad!));
    expect(Number.isNaN(multiMarginLossSync(new Float32Array(0), new Int32Array(0), { shape: [0, 4] }).loss as number)).toBe(true);
    const xt = bitgrad.tensor(X, [4]);
    const yt = bitgrad.tensor(Int32Array.of(0), []);
    const t = multiMarginLossSync(xt, yt);
    expectClose(t.loss.dataSync()[0], 1.025, 1e-6);
    for (const v of [xt, yt, t.loss, t.grad!]) v.dispose();
  });
});

describe('coded errors', () => {
  test('targets, p, shapes', async () => {
    const e = thrown(() => multiMarginLossSync(X, Int32Array.of(4)));
    expect(e.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(e.index).toBe(0);
    expect(e.value).toBe(4);
    expect((await rejected(multiMarginLoss(X, Int32Array.of(-100)))).code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(thrown(() => multiMarginLossSync(X, Int32Array.of(0), { p: 3 as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => multiMarginLossSync(X, Int32Array.of(0), { margin: NaN })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => multiMarginLossSync(new Float32Array(8), Int32Array.of(0, 1), { shape: [4, 2] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => multiMarginLossSync(new Float32Array(8), Int32Array.of(0, 1), { shape: [2, 2, 2] })).code).toBe('BITGRAD_INVALID_SHAPE');
  });
});

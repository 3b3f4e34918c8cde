// binarize.recuActivation (ReCU / BiPer activations as in BiBench's
// ReCuActivationQuantization; specs/binarize-mst.md §5): a float64 reference of the
// per-sample normalization and its non-detached gradient, central finite differences
// through the normalization, eval mode against ApproxSign, the one-element sample, NaN,
// every SIMD path and thread count against the scalar one, coded errors.
import * as os from 'os';
import * as bitgrad from '../lib';
import { expectClose, rng, thrown, uniform } from './helpers';

const B = bitgrad.binarize;
const f = (a: number[]) => Float32Array.from(a);

/** float64 reference of one sample: s, and dL/dx for upstream g (training mode). */
function refSample(x: number[], g: number[]): { s: number; dx: number[] } {
  const n = x.length;
  const m = x.reduce((a, v) => a + v, 0) / n;
  const v = x.reduce((a, t) => a + (t - m) ** 2, 0) / (n - 1);
  const s = Math.sqrt(v + 1e-5);
  const gA = x.map((t, i) => g[i] * Math.max(0, 2 - 2 * Math.abs(t / s)));
  const sgx = gA.reduce((a, t, i) => a + t * x[i], 0);
  return { s, dx: x.map((t, i) => gA[i] / s - ((t - m) / (s ** 3 * (n - 1))) * sgx) };
}

/** ApproxSign's forward surrogate, whose derivative is max(0, 2 - 2|a|). */
const psi = (a: number) => (a > 1 ? 1 : a < -1 ? -1 : 2 * a - a * Math.abs(a));

/** sum_i g_i psi(x_i / sqrt(Var(x) + 1e-5)) in float64: what the backward differentiates. */
function surrogateLoss(x: number[], g: number[]): number {
  const n = x.length;
  const m = x.reduce((a, v) => a + v, 0) / n;
  const s = Math.sqrt(x.reduce((a, t) => a + (t - m) ** 2, 0) / (n - 1) + 1e-5);
  return x.reduce((a, t, i) => a + g[i] * psi(t / s), 0);
}

function rows(v: ArrayLike<number>, R: number): number[][] {
  const K = v.length / R;
  return Array.from({ length: R }, (_, r) => Array.from(v).slice(r * K, (r + 1) * K));
}

describe('recuActivation: training mode (BiBench normalization, variance not detached)', () => {
  const R = 4;
  const K = 37;
  const x = uniform(rng(101), R * K, -1.5, 1.5);
  const g = uniform(rng(102), R * K, -1, 1);
  test('forward is sign(x) per element; alpha is sqrt(unbiased Var + 1e-5) per sample', async () => {
    const r = await B.recuActivation.forward(x, { shape: [R, 1, K] });
    expect(Array.from(r.out)).toEqual(Array.from(x, (v) => (v >= 0 ? 1 : -1)));
    expectClose(r.alpha, rows(x, R).map((row, i) => refSample(row, rows(g, R)[i]).s), 1e-6, 0);
    const z = B.recuActivation.forwardSync(f([0, -0, 1, -2]), { zeroMode: 'zero' });
    expect(Array.from(z.out)).toEqual([0, 0, 1, -1]);
    expect(Array.from(B.recuActivation.forwardSync(f([0, -0, 1, -2])).out)).toEqual([1, 1, 1, -1]);
  });
  test('backward matches the float64 reference', async () => {
    const got = (await B.recuActivation.backward(x, g, { shape: [R, K] })).grad;
    const want = rows(x, R).flatMap((row, r) => refSample(row, rows(g, R)[r]).dx);
    expectClose(got, want, 1e-5, 1e-6);
  });
  test('backward = d/dx of sum g psi(x / s(x)) by central finite differences', () => {
    const got = B.recuActivation.backwardSync(x, g, { shape: [R, K] }).grad;
    const gr = rows(g, R);
    rows(x, R).forEach((row, r) => {
      const h = 1e-6;
      const fd = row.map((_, i) => {
        const p = row.slice();
        const q = row.slice();
        p[i] += h;
        q[i] -= h;
        return (surrogateLoss(p, gr[r]) - surrogateLoss(q, gr[r])) / (2 * h);
      });
      expectClose(got.subarray(r * K, (r + 1) * K), fd, 1e-4, 1e-5);
    });
    // The coupling term matters: the detached-variance gradient is measurably different.
    const detached = rows(x, R).flatMap((row, r) => {
      const { s } = refSample(row, gr[r]);
      return row.map((t, i) => (gr[r][i] * Math.max(0, 2 - 2 * Math.abs(t / s))) / s);
    });
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - detached[i])))).toBeGreaterThan(1e-3);
  });
  test('samples are independent: the first axis of shape is the sample', () => {
    const all = B.recuActivation.backwardSync(x, g, { shape: [R, K] }).grad;
    const one = B.recuActivation.backwardSync(x.slice(K, 2 * K), g.slice(K, 2 * K)).grad;
    expect(Array.from(all.subarray(K, 2 * K))).toEqual(Array.from(one));
  });
});

describe('recuActivation: eval mode, edge cases', () => {
  test('training: false is ApproxSign on x itself, alpha 1', () => {
    const x = uniform(rng(7), 300, -2, 2);
    const g = uniform(rng(8), 300, -1, 1);
    const o = { shape: [3, 100], training: false };
    expect(Array.from(B.recuActivation.backwardSync(x, g, o).grad)).toEqual(Array.from(B.approxSign.backwardSync(x, g).grad));
    const r = B.recuActivation.forwardSync(x, o);
    expect(Array.from(r.alpha)).toEqual([1, 1, 1]);
    expect(Array.from(r.out)).toEqual(Array.from(B.approxSign.forwardSync(x)));
  });
  test('one element per sample: rejected in training (PyTorch gives NaN), fine in eval', () => {
    const x = f([0.5, -0.25]);
    for (const fn of [() => B.recuActivation.forwardSync(x, { shape: [2, 1] }), () => B.recuActivation.backwardSync(f([3]), f([1]))])
      expect(thrown(fn).code).toBe('BITGRAD_SHAPE_MISMATCH');
    const e = B.recuActivation.backwardSync(x, f([1, 1]), { shape: [2, 1], training: false });
    expectClose(e.grad, [1, 1.5], 0, 0);
  });
  test('NaN: forward NaN at the element, the whole sample gradient NaN in training', () => {
    const x = f([0.3, NaN, -0.7, 0.1, 0.9, -0.4, 0.2, -1.1]);
    const g = new Float32Array(8).fill(1);
    const r = B.recuActivation.forwardSync(x, { shape: [2, 4] });
    expect(Array.from(r.out)).toEqual([1, NaN, -1, 1, 1, -1, 1, -1]);
    expect(Number.isNaN(r.alpha[0])).toBe(true);
    expect(Number.isFinite(r.alpha[1])).toBe(true);
    const b = B.recuActivation.backwardSync(x, g, { shape: [2, 4] }).grad;
    expect(Array.from(b.subarray(0, 4)).every(Number.isNaN)).toBe(true);
    expectClose(b.subarray(4), refSample([0.9, -0.4, 0.2, -1.1].map(Math.fround), [1, 1, 1, 1]).dx, 1e-5, 1e-6);
    const e = B.recuActivation.backwardSync(x, g, { shape: [2, 4], training: false }).grad;
    expect(Array.from(e, Number.isNaN)).toEqual([false, true, false, false, false, false, false, false]);
  });
  test('a constant sample: s = sqrt(1e-5), gradient gA / s (the coupling term is 0)', () => {
    const b = B.recuActivation.backwardSync(f([0.001, 0.001, 0.001]), f([1, 2, 3]));
    const s = Math.sqrt(1e-5);
    const a = 0.001 / s;
    expectClose(b.grad, [1, 2, 3].map((gi) => (gi * Math.max(0, 2 - 2 * a)) / s - 0), 1e-5, 1e-6);
  });
  test('coded errors and tensors on the CPU', async () => {
    expect(thrown(() => B.recuActivation.forwardSync(f([1, 2]), { training: 'yes' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => B.recuActivation.forwardSync(new Float32Array(0))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    const x = uniform(rng(3), 24, -1, 1);
    const g = uniform(rng(4), 24, -1, 1);
    await bitgrad.scopeAsync(async () => {
      const xt = bitgrad.tensor(x, [2, 3, 2, 2], { device: 'cpu' });
      const gt = bitgrad.tensor(g, [2, 3, 2, 2], { device: 'cpu' });
      const r = await B.recuActivation.backward(xt, gt);
      expect(r.grad.shape).toEqual([2, 3, 2, 2]);
      expect(Array.from(await r.grad.data())).toEqual(Array.from(B.recuActivation.backwardSync(x, g, { shape: [2, 12] }).grad));
    });
  });
});

describe('recuActivation: SIMD paths and threads', () => {
  afterAll(() => {
    bitgrad.setSimd('auto');
    bitgrad.setNumThreads(Math.min(1024, os.cpus().length || 1));
  });
  test('avx2 / avx512 match scalar; any thread count is bit-identical', async () => {
    const paths = (['avx2', 'avx512'] as const).filter((p) => p === 'avx2' || bitgrad.backend().cpu.simdBest === 'avx512');
    const R = 3;
    const K = 20011; // more than one chunk, ragged
    const x = uniform(rng(31), R * K, -3, 3);
    x[5] = 0;
    const g = uniform(rng(32), R * K, -1, 1);
    for (const training of [true, false]) {
      const o = { shape: [R, K], training };
      bitgrad.setSimd('scalar');
      const fs = B.recuActivation.forwardSync(x, o);
      const bs = B.recuActivation.backwardSync(x, g, o);
      for (const p of paths) {
        bitgrad.setSimd(p);
        const fp = await B.recuActivation.forward(x, o);
        expect(Array.from(fp.out)).toEqual(Array.from(fs.out));
        expect(Array.from(fp.alpha)).toEqual(Array.from(fs.alpha));
        expectClose((await B.recuActivation.backward(x, g, o)).grad, bs.grad, 1e-5, 1e-6);
      }
      bitgrad.setSimd('scalar');
      for (const t of [1, 3]) {
        bitgrad.setNumThreads(t);
        expectClose(B.recuActivation.backwardSync(x, g, o).grad, bs.grad, 0, 0);
      }
    }
  });
});

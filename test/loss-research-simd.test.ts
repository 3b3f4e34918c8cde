// Research losses (diceLoss / softIoULoss, basnetHybrid, mwLoss, triBce, anyLoss): every
// forced SIMD path (bitgrad.setSimd) against the scalar float64 path, on sizes that hit
// the vector bodies, the tails, several mwLoss tiles and basnet row bands, and images
// narrower than the window; 1 and 2 threads bit-identical on every path (basnet switches
// between splitting images and splitting row bands with the thread count).
import * as bitgrad from '../lib';
import { expectClose, rng } from './helpers';

const L = bitgrad.losses;
type Out = { loss: number | Float32Array; grads: Float32Array[] };

function paths(): string[] {
  const best = bitgrad.backend().cpu.simdBest;
  return ['avx2', 'avx512'].filter((p) => best === 'avx512' || (best === 'avx2' && p === 'avx2'));
}

function withPath<T>(p: string, threads: number, f: () => T): T {
  bitgrad.setSimd(p as never);
  bitgrad.setNumThreads(threads);
  return f();
}

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

const u = (r: () => number, n: number, lo = 0, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
const bin = (r: () => number, n: number, p = 0.5) => Float32Array.from({ length: n }, () => (r() < p ? 1 : 0));
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Runs one case on scalar (1 thread) and on every SIMD path with 1 and 2 threads. The
 * gradient's atol is gtol[1] times its largest magnitude: several of these gradients are
 * sums of terms of both signs (gradOutput weights, triBce's coefficients), whose
 * cancellation leaves small entries with an error of the scale of the terms. */
function check(run: () => Out, rtol: number, atol: number, gtol: [number, number] = [rtol, atol]): void {
  const ref = withPath('scalar', 1, run);
  for (const p of paths()) {
    const one = withPath(p, 1, run);
    const two = withPath(p, 2, run);
    expect(one.loss).toEqual(two.loss);
    one.grads.forEach((g, i) => expect(bits(g).equals(bits(two.grads[i]))).toBe(true));
    expectClose(one.loss as never, ref.loss as never, rtol, atol);
    one.grads.forEach((g, i) => {
      const scale = ref.grads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expectClose(g, ref.grads[i], gtol[0], gtol[1] * scale);
    });
  }
}

describe('diceLoss / softIoULoss', () => {
  test.each([[6, 35], [3, 1], [4, 17], [5, 1000], [2, 40003]])('[%i, %i]', (rows, cols) => {
    const r = rng(rows * 31 + cols);
    const x = u(r, rows * cols);
    const y = bin(r, rows * cols, 0.4);
    const go = u(r, rows, -2, 2);
    for (const opts of [{}, { squaredPred: true }, { jaccard: true, smoothNr: 0.5, smoothDr: 0.25 }]) {
      for (const reduction of ['none', 'mean'] as const) {
        const o = { ...opts, shape: [rows, 1, cols], reduction, ...(reduction === 'none' ? { gradOutput: go } : {}) };
        check(() => { const d = L.diceLossSync(x, y, o); return { loss: d.loss, grads: [d.grad!] }; }, 1e-6, 1e-7, [1e-6, 1e-8]);
      }
    }
    check(() => { const d = L.softIoULossSync(x, y, { shape: [rows, 1, cols], reduction: 'none' }); return { loss: d.loss, grads: [d.grad!] }; }, 1e-6, 1e-7, [1e-6, 1e-8]);
  });
});

describe('basnetHybrid', () => {
  test.each([[1, 4, 4], [2, 9, 13], [1, 1, 1], [3, 17, 3], [1, 40, 37], [2, 64, 200], [1, 33, 8]])('[%i, %i, %i]', (N, H, W) => {
    const r = rng(N * 1000 + H * 31 + W);
    const p = u(r, N * H * W, 0.001, 0.999);
    const g = bin(r, p.length);
    for (const eps of [0, 0.5]) {
      const go = u(r, N, -2, 2);
      check(() => { const b = L.basnetHybridSync(p, g, { shape: [N, 1, H, W], epsilon: eps, reduction: 'none', gradOutput: go }); return { loss: b.loss, grads: [b.grad!] }; }, 2e-6, 1e-7, [2e-5, 1e-6]);
      check(() => { const b = L.basnetHybridSync(p, g, { shape: [N, 1, H, W], epsilon: eps }); return { loss: b.loss, grads: [b.grad!] }; }, 2e-6, 1e-7, [2e-5, 1e-6]);
    }
    // Out-of-range inputs without the check: NaN logs keep the scalar path's clamps.
    const bad = Float32Array.from(p);
    bad[0] = 1.5;
    bad[bad.length - 1] = -0.25;
    check(() => { const b = L.basnetHybridSync(bad, g, { shape: [N, 1, H, W], checkInput: false, reduction: 'none' }); return { loss: b.loss, grads: [b.grad!] }; }, 2e-6, 1e-7, [2e-5, 1e-6]);
  });
});

describe('mwLoss', () => {
  test.each([[2, 2], [5, 15], [2, 1], [3, 100], [40, 60], [64, 640], [33, 33]])('[%i, %i]', (B, C) => {
    if (C < B) return; // positives on the diagonal
    const r = rng(B * 977 + C);
    const s = u(r, B * C, -1, 1);
    const go = u(r, B, -2, 2);
    for (const tau of [1, 0.05]) {
      check(() => { const m = L.mwLossSync(s, { shape: [B, C], tau, reduction: 'none', gradOutput: go }); return { loss: m.loss, grads: [m.grad!] }; }, 2e-5, 1e-6, [2e-5, 2e-5]);
      check(() => { const m = L.mwLossSync(s, { shape: [B, C], tau }); return { loss: m.loss, grads: [m.grad!] }; }, 2e-5, 1e-6, [2e-5, 2e-5]);
    }
  });
  test('no gradient', () => {
    const s = u(rng(5), 48 * 70, -3, 3);
    check(() => ({ loss: L.mwLossSync(s, { shape: [48, 70], tau: 0.2, reduction: 'none', grad: false }).loss, grads: [] }), 2e-5, 1e-6);
  });
});

describe('triBce / anyLoss', () => {
  test.each([[2], [7], [33], [257], [16384 + 19], [50001]])('n = %i', (n) => {
    const r = rng(n);
    const a = u(r, n, -6, 6);
    const b = u(r, n, -6, 6);
    const y = bin(r, n);
    const p = u(r, n);
    for (const detachWeights of [false, true])
      check(() => { const t = L.triBceSync(a, b, y, { detachWeights, gradOutput: 1.5 }); return { loss: t.loss, grads: [t.gradD!, t.gradS!] }; }, 1e-5, 1e-7, [1e-5, 1e-6]);
    for (const metric of ['f1', 'accuracy', 'balancedAccuracy', 'gmean'] as const)
      for (const Lv of [10, 73])
        check(() => { const t = L.anyLossSync(p, y, { L: Lv, metric }); return { loss: t.loss, grads: [t.grad!] }; }, 1e-5, 1e-7, [1e-4, 1e-6]);
  });
});

// Shared checks of the elementwise-loss tests: float64 references, central finite
// differences, every reduction, the SIMD paths against scalar.
import * as bitgrad from '../lib';
import { expectClose } from './helpers';

export type Ref = (x: number, y: number, w: number) => { loss: number; grad: number; gradT?: number };
type SyncFn = (x: Float32Array, y: Float32Array, o?: any) => { loss: number | Float32Array; grad: Float32Array | null; gradTarget?: Float32Array | null };

/** Checks none / sum / mean values and gradients of `fn` against the float64 `ref`. */
export function checkReductions(fn: SyncFn, x: Float32Array, y: Float32Array, ref: Ref, opts: Record<string, unknown> = {}, tol = { rtol: 2e-5, atol: 1e-6 }, w?: Float32Array): void {
  const n = x.length;
  const refs = Array.from(x, (xi, i) => ref(xi, y[i], w ? w[i] : 1));
  const none = fn(x, y, { ...opts, reduction: 'none' });
  expectClose(none.loss as Float32Array, refs.map((r) => r.loss), tol.rtol, tol.atol);
  expectClose(none.grad!, refs.map((r) => r.grad), tol.rtol, tol.atol);
  if (none.gradTarget) expectClose(none.gradTarget, refs.map((r) => r.gradT!), tol.rtol, tol.atol);
  const total = refs.reduce((a, r) => a + r.loss, 0);
  const sum = fn(x, y, { ...opts, reduction: 'sum', gradOutput: 2 });
  expectClose(sum.loss as number, total, tol.rtol, tol.atol * n);
  expectClose(sum.grad!, refs.map((r) => 2 * r.grad), tol.rtol, tol.atol);
  const mean = fn(x, y, { ...opts, reduction: 'mean' });
  expectClose(mean.loss as number, total / n, tol.rtol, tol.atol);
  expectClose(mean.grad!, refs.map((r) => r.grad / n), tol.rtol, tol.atol / n);
  // upstream gradient for 'none'
  const go = Float32Array.from(x, (_, i) => (i % 3) - 1);
  const up = fn(x, y, { ...opts, reduction: 'none', gradOutput: go });
  expectClose(up.grad!, refs.map((r, i) => r.grad * go[i]), tol.rtol, tol.atol);
}

/** Central differences of the float64 reference loss agree with its analytic gradient (and so with the kernel). */
export function checkFiniteDiff(ref: Ref, points: Array<[number, number]>, h = 1e-6, tol = 1e-6, target = false): void {
  for (const [x, y] of points) {
    const fd = (ref(x + h, y, 1).loss - ref(x - h, y, 1).loss) / (2 * h);
    const g = ref(x, y, 1).grad;
    if (!(Math.abs(fd - g) <= tol * (1 + Math.abs(g)))) throw new Error(`d/dx at (${x}, ${y}): fd ${fd} vs ${g}`);
    if (target) {
      const fdt = (ref(x, y + h, 1).loss - ref(x, y - h, 1).loss) / (2 * h);
      const gt = ref(x, y, 1).gradT!;
      if (!(Math.abs(fdt - gt) <= tol * (1 + Math.abs(gt)))) throw new Error(`d/dy at (${x}, ${y}): fd ${fdt} vs ${gt}`);
    }
  }
}

/** Central differences of the float32 kernel's own summed loss (loose: float32 noise). */
export function checkKernelFiniteDiff(fn: SyncFn, x: Float32Array, y: Float32Array, opts: Record<string, unknown> = {}, h = 1e-2, rtol = 2e-2): void {
  const g = fn(x, y, { ...opts, reduction: 'none' }).grad!;
  for (let i = 0; i < x.length; i++) {
    const xp = Float64Array.from(x);
    const lossAt = (v: number) => {
      const xx = Float32Array.from(x);
      xx[i] = v;
      return (fn(xx, y, { ...opts, reduction: 'none' }).loss as Float32Array)[i];
    };
    const fd = (lossAt(xp[i] + h) - lossAt(xp[i] - h)) / (2 * h);
    if (!(Math.abs(fd - g[i]) <= rtol * (1 + Math.abs(g[i])))) throw new Error(`kernel d/dx[${i}] at ${x[i]}: fd ${fd} vs ${g[i]}`);
  }
}

/** Every SIMD path gives the scalar path's results (ragged sizes, every reduction). */
export function checkSimdPaths(fn: SyncFn, x: Float32Array, y: Float32Array, opts: Record<string, unknown> = {}, rtol = 2e-6, atol = 1e-6): void {
  try {
    bitgrad.setSimd('scalar');
    const base = (['none', 'sum', 'mean'] as const).map((r) => fn(x, y, { ...opts, reduction: r }));
    for (const path of ['avx2', 'avx512'] as const) {
      bitgrad.setSimd(path);
      (['none', 'sum', 'mean'] as const).forEach((r, k) => {
        const got = fn(x, y, { ...opts, reduction: r });
        expectClose(got.loss as any, base[k].loss as any, rtol, r === 'sum' ? atol * x.length : atol);
        expectClose(got.grad!, base[k].grad!, rtol, atol);
        if (got.gradTarget) expectClose(got.gradTarget, base[k].gradTarget!, rtol, atol);
      });
    }
  } finally {
    bitgrad.setSimd('auto');
  }
}

/** Empty inputs: 'none' gives empty arrays, 'sum' 0, 'mean' NaN. */
export function checkEmpty(fn: SyncFn, opts: Record<string, unknown> = {}): void {
  const e = new Float32Array(0);
  const none = fn(e, e, { ...opts, reduction: 'none' });
  expect((none.loss as Float32Array).length).toBe(0);
  expect(fn(e, e, { ...opts, reduction: 'sum' }).loss).toBe(0);
  expect(fn(e, e, { ...opts, reduction: 'mean' }).loss).toBeNaN();
}

export function f32(a: number[]): Float32Array {
  return Float32Array.from(a);
}

// Binary dense layer: xnor.linear (forward through the GEMM float epilogue) and
// xnor.linearBackward (float x ±1 GEMMs reading bits) against float64 products of the
// unpacked ±1 values, an exact float32 replay of the documented summation order, every
// SIMD path and thread count (bit-identical), finite differences (bit flips, and
// through the STE), coded errors.
import * as bitgrad from '../lib';
import { rejected, thrown } from './helpers';
import { randomFloats, refGemm, signs } from './xnor-ref';

const { packSync } = bitgrad.binarize;
const { linear, linearSync, linearBackward, linearBackwardSync } = bitgrad.xnor;
const PATHS = ['scalar', 'avx2', 'avx512'] as const;
const f32 = Math.fround;

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

function layer(seed: number, m: number, n: number, k: number) {
  const xf = randomFloats(seed, m * k);
  const wf = randomFloats(seed + 1, n * k);
  const x = packSync(xf, { layout: 'rows', shape: [m, k] });
  const w = packSync(wf, { layout: 'rows', shape: [n, k] });
  const g = randomFloats(seed + 2, m * n).map((v) => v * 3);
  const alpha = new Float32Array(n).map((_, j) => (j % 7 === 3 ? -0.75 : 0.1 + (j % 5) / 8));
  return { x, w, xf, wf, xs: signs(xf), ws: signs(wf), g, alpha };
}

/** float64 products: gx = g (alpha ⊙ W), gw = gᵀ X, and the bound sum |terms| per element. */
function ref64(xs: Int8Array, ws: Int8Array, g: Float32Array, alpha: Float32Array, m: number, n: number, k: number) {
  const gx = new Float64Array(m * k), gxa = new Float64Array(m * k), gw = new Float64Array(n * k), gwa = new Float64Array(n * k);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const c = g[i * n + j] * alpha[j];
      const d = g[i * n + j];
      for (let q = 0; q < k; q++) {
        gx[i * k + q] += c * ws[j * k + q];
        gxa[i * k + q] += Math.abs(c);
        gw[j * k + q] += d * xs[i * k + q];
        gwa[j * k + q] += Math.abs(d);
      }
    }
  return { gx, gxa, gw, gwa };
}

/** The documented float32 evaluation: Σ ±coefficient (the sign of its bit), one rounding per step, in index order. */
function replay32(bitsOf: Int8Array, coef: (r: number, j: number) => number, R: number, J: number, k: number): Float32Array {
  const out = new Float32Array(R * k);
  for (let r = 0; r < R; r++) {
    const acc = new Float64Array(k);
    for (let j = 0; j < J; j++) {
      const c = coef(r, j);
      for (let q = 0; q < k; q++) acc[q] = f32(acc[q] + (bitsOf[j * k + q] > 0 ? c : -c));
    }
    for (let q = 0; q < k; q++) out[r * k + q] = acc[q];
  }
  return out;
}

function expectClose(got: Float32Array, want: Float64Array, scale: Float64Array, terms: number, what: string) {
  const eps = 2 ** -23;
  for (let i = 0; i < want.length; i++) {
    const tol = 4 * (terms + 2) * eps * scale[i] + 1e-30;
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`${what}: element ${i} is ${got[i]}, float64 gives ${want[i]} (tol ${tol})`);
  }
}

function expectSameFloats(got: Float32Array, want: Float32Array, what: string) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
}

describe('linear forward is the exact dot, scaled and biased in float64', () => {
  for (const [m, n, k] of [[1, 1, 1], [5, 7, 63], [9, 13, 130], [33, 70, 257]] as const)
    test(`M=${m} N=${n} K=${k}`, async () => {
      const { x, w, xs, ws, alpha } = layer(m + n + k, m, n, k);
      const bias = new Float32Array(n).map((_, j) => (j % 3) - 1.25);
      const dot = refGemm(xs, ws, m, n, k);
      const want = new Float32Array(m * n).map((_, i) => dot[i] * alpha[i % n] + bias[i % n]);
      const a = linearSync(x, w, alpha, { bias });
      expect(a.shape).toEqual([m, n]);
      expect(a.dtype).toBe('float32');
      expectSameFloats(a.dataSync() as Float32Array, want, 'linearSync');
      const b = await linear(x, w, alpha, { bias });
      expectSameFloats(b.dataSync() as Float32Array, want, 'linear');
      const c = linearSync(x, w, 0.5);
      expectSameFloats(c.dataSync() as Float32Array, new Float32Array(m * n).map((_, i) => dot[i] * 0.5), 'scalar alpha');
      for (const t of [x, w, a, b, c]) t.dispose();
    });
});

describe('linearBackward against float64 and the exact float32 replay', () => {
  // [300, 530, 70]: both products sum more than 256 rows of B, which the CPU cuts into
  // chunks (carrying each sum across them).
  const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 63], [7, 6, 64], [9, 13, 65], [13, 7, 200], [6, 11, 129], [300, 530, 70]];
  for (const path of PATHS)
    for (const [m, n, k] of SHAPES)
      test(`${path} M=${m} N=${n} K=${k}`, () => {
        bitgrad.setSimd(path);
        const { x, w, xs, ws, g, alpha } = layer(m * 31 + n * 7 + k, m, n, k);
        const r = ref64(xs, ws, g, alpha, m, n, k);
        const { gradInput, gradWeight } = linearBackwardSync(g, x, w, alpha);
        expect(gradInput.shape).toEqual([m, k]);
        expect(gradWeight.shape).toEqual([n, k]);
        const gi = gradInput.dataSync() as Float32Array;
        const gw = gradWeight.dataSync() as Float32Array;
        expectClose(gi, r.gx, r.gxa, n, `${path} gradInput`);
        expectClose(gw, r.gw, r.gwa, m, `${path} gradWeight`);
        expectSameFloats(gi, replay32(ws, (i, j) => f32(g[i * n + j] * alpha[j]), m, n, k), `${path} gradInput replay`);
        expectSameFloats(gw, replay32(xs, (j, i) => g[i * n + j], n, m, k), `${path} gradWeight replay`);
        for (const t of [x, w, gradInput, gradWeight]) t.dispose();
      });
});

test('every path and 1 or 2 threads give the same bits on a large layer, sync and async', async () => {
  const m = 70, n = 130, k = 600;
  const { x, w, xs, ws, g, alpha } = layer(5, m, n, k);
  const r = ref64(xs, ws, g, alpha, m, n, k);
  let first: { gi: Float32Array; gw: Float32Array } | null = null;
  for (const path of PATHS)
    for (const threads of [1, 2]) {
      bitgrad.setSimd(path);
      bitgrad.setNumThreads(threads);
      const gt = bitgrad.tensor(g, [m, n]);
      const res = threads === 1 ? linearBackwardSync(gt, x, w, alpha) : await linearBackward(gt, x, w, alpha);
      const gi = res.gradInput.dataSync() as Float32Array;
      const gw = res.gradWeight.dataSync() as Float32Array;
      if (!first) {
        first = { gi, gw };
        expectClose(gi, r.gx, r.gxa, n, 'gradInput');
        expectClose(gw, r.gw, r.gwa, m, 'gradWeight');
      } else {
        expectSameFloats(gi, first.gi, `${path} ${threads}t gradInput`);
        expectSameFloats(gw, first.gw, `${path} ${threads}t gradWeight`);
      }
      for (const t of [gt, res.gradInput, res.gradWeight]) t.dispose();
    }
  bitgrad.setSimd('auto');
  x.dispose();
  w.dispose();
});

test('leading dims of x flatten into M; gradInput keeps the shape of x', () => {
  const xf = randomFloats(11, 2 * 3 * 70);
  const wf = randomFloats(12, 4 * 70);
  const x = packSync(xf, { layout: 'rows', shape: [2, 3, 70] });
  const w = packSync(wf, { layout: 'rows', shape: [4, 70] });
  const g = randomFloats(13, 6 * 4);
  const { gradInput, gradWeight } = linearBackwardSync(g, x, w, 1);
  expect(gradInput.shape).toEqual([2, 3, 70]);
  expect(gradWeight.shape).toEqual([4, 70]);
  const r = ref64(signs(xf), signs(wf), g, new Float32Array(4).fill(1), 6, 4, 70);
  expectClose(gradInput.dataSync() as Float32Array, r.gx, r.gxa, 4, 'gradInput');
  for (const t of [x, w, gradInput, gradWeight]) t.dispose();
});

describe('finite differences', () => {
  // L = Σ out ⊙ R is linear in every ±1 entry, so flipping one bit moves L by exactly
  // (new − old) · ∂L/∂entry: an exact finite difference of step 2.
  const m = 3, n = 4, k = 70;
  const { xf, wf, g, alpha } = layer(21, m, n, k);
  const loss = (xv: Float32Array, wv: Float32Array) => {
    const x = packSync(xv, { layout: 'rows', shape: [m, k] });
    const w = packSync(wv, { layout: 'rows', shape: [n, k] });
    const out = linearSync(x, w, alpha);
    const o = out.dataSync() as Float32Array;
    let s = 0;
    for (let i = 0; i < o.length; i++) s += o[i] * g[i];
    for (const t of [x, w, out]) t.dispose();
    return s;
  };
  const x = packSync(xf, { layout: 'rows', shape: [m, k] });
  const w = packSync(wf, { layout: 'rows', shape: [n, k] });
  const { gradInput, gradWeight } = linearBackwardSync(g, x, w, alpha);
  const gi = gradInput.dataSync() as Float32Array;
  const gw = gradWeight.dataSync() as Float32Array;
  afterAll(() => {
    for (const t of [x, w, gradInput, gradWeight]) t.dispose();
  });
  const L0 = loss(xf, wf);

  test('bit flips of x and w', () => {
    for (let i = 0; i < m * k; i += 7) {
      const xv = xf.slice();
      const old = xv[i] >= 0 ? 1 : -1;
      xv[i] = -old * 0.5;
      const fd = (loss(xv, wf) - L0) / (-2 * old);
      expect(Math.abs(fd - gi[i])).toBeLessThan(1e-4 * (1 + Math.abs(gi[i])));
    }
    for (let i = 0; i < n * k; i += 5) {
      const wv = wf.slice();
      const old = wv[i] >= 0 ? 1 : -1;
      wv[i] = -old * 0.5;
      const fd = (loss(xf, wv) - L0) / (-2 * old);
      const j = Math.floor(i / k);
      expect(Math.abs(fd - alpha[j] * gw[i])).toBeLessThan(1e-4 * (1 + Math.abs(gw[i])));
    }
  });

  test('through the STE: latent gradient = FD of the clipped surrogate', () => {
    // Latent inputs z (some outside [-1, 1]); the STE's surrogate is clip(z, -1, 1), in
    // which L is linear per entry: dL/dz = 1{|z| <= 1} · (L(+1) − L(−1)) / 2.
    const z = new Float32Array(m * k).map((_, i) => (i % 9 === 0 ? 1.5 * (i % 2 ? 1 : -1) : xf[i]));
    const zb = packSync(z, { layout: 'rows', shape: [m, k] });
    const res = linearBackwardSync(g, zb, w, alpha);
    const { grad } = bitgrad.binarize.ste.backwardSync(z, res.gradInput.dataSync() as Float32Array);
    for (let i = 0; i < m * k; i += 3) {
      const plus = z.slice();
      plus[i] = 1;
      const minus = z.slice();
      minus[i] = -1;
      const fd = Math.abs(z[i]) <= 1 ? (loss(plus, wf) - loss(minus, wf)) / 2 : 0;
      expect(Math.abs((grad as Float32Array)[i] - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
    }
    for (const t of [zb, res.gradInput, res.gradWeight]) t.dispose();
  });
});

test('zero-sized dims', () => {
  const x = packSync(new Float32Array(0), { layout: 'rows', shape: [0, 10] });
  const w = packSync(randomFloats(1, 30), { layout: 'rows', shape: [3, 10] });
  const { gradInput, gradWeight } = linearBackwardSync(new Float32Array(0), x, w, 1);
  expect(gradInput.shape).toEqual([0, 10]);
  expect(Array.from(gradWeight.dataSync() as Float32Array)).toEqual(new Array(30).fill(0));
  for (const t of [x, w, gradInput, gradWeight]) t.dispose();
});

describe('coded errors', () => {
  const x = packSync(randomFloats(1, 4 * 70), { layout: 'rows', shape: [4, 70] });
  const w = packSync(randomFloats(2, 3 * 70), { layout: 'rows', shape: [3, 70] });
  const w2 = packSync(randomFloats(3, 3 * 71), { layout: 'rows', shape: [3, 71] });
  const xn = packSync(randomFloats(4, 70), { layout: 'nhwc', shape: [1, 1, 1, 70] });
  const g = new Float32Array(12);
  afterAll(() => {
    for (const t of [x, w, w2, xn]) t.dispose();
  });
  test('shapes, layouts, dtypes, options', async () => {
    expect(thrown(() => linearBackwardSync(g, x, w2, 1)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => linearBackwardSync(new Float32Array(11), x, w, 1)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => linearBackwardSync(g, x, w, new Float32Array(2))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => linearBackwardSync(new Int32Array(12) as never, x, w, 1)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => linearBackwardSync(g, xn, w, 1)).code).toBe('BITGRAD_INVALID_LAYOUT');
    expect(thrown(() => linearBackwardSync(g, x, w, undefined as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => linearBackwardSync(g, x, w, NaN)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect((await rejected(linearBackward(g, x, w2, 1))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => linearSync(x, w2, 1)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => linearSync(x, w, new Float32Array(2))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => linearSync(x, w, 1, { outputType: 'bits' } as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => linearSync(x, w, undefined as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect((await rejected(linear(xn, w, 1))).code).toBe('BITGRAD_INVALID_LAYOUT');
    const gt = bitgrad.tensor(new Int32Array(12), [3, 4]);
    expect(thrown(() => linearBackwardSync(gt as never, x, w, 1)).code).toBe('BITGRAD_INVALID_DTYPE');
    gt.dispose();
  });
  test('disposed operands', () => {
    const d = packSync(randomFloats(5, 3 * 70), { layout: 'rows', shape: [3, 70] });
    d.dispose();
    expect(thrown(() => linearBackwardSync(g, x, d, 1)).code).toBe('BITGRAD_DISPOSED');
    expect(thrown(() => linearSync(x, d, 1)).code).toBe('BITGRAD_DISPOSED');
  });
});

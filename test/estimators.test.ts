// Straight-through estimators on the CPU: the spec's test vectors (specs/binarize-mst.md
// §1, §2, §3, §5, §7), float64 references, boundary values, finite differences for the
// learnable thresholds, every SIMD path against the scalar one, threads, coded errors.
import * as bitgrad from '../lib';
import { expectClose, expectSameBits, rejected, rng, thrown, uniform } from './helpers';

const B = bitgrad.binarize;
const X = Float32Array.from([-1.6, -1.0, -0.6, -0.05, 0.0, 0.05, 0.1, 0.3, 1.0, 1.4]);
const ONES = new Float32Array(X.length).fill(1);

/** The spec's rule: |got - want| <= 1e-6 max(1, |want|). */
function specClose(got: ArrayLike<number>, want: number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i]));
    if (!ok) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

// float64 references of the surrogate derivatives (x is the float32 value).
const REF: Record<string, (x: number, o?: any) => number> = {
  ste: (x, o = {}) => (Math.abs(x) <= (o.clip ?? 1) ? 1 : 0),
  approxSign: (x) => Math.max(0, 2 - 2 * Math.abs(x)),
  swishSign: (x, o = {}) => {
    const b = o.beta ?? 5;
    const u = b * x;
    return (b * (2 - u * Math.tanh(u / 2))) / (1 + Math.cosh(u));
  },
  reste: (x, o = {}) => {
    const p = o.o ?? 3;
    const a = Math.abs(x);
    const d = Math.fround(0.1);
    if (a > Math.fround(1.5)) return 0;
    if (a <= d) return Math.pow(d, (1 - p) / p);
    return (1 / p) * Math.pow(a, (1 - p) / p);
  },
  biper: (x, o = {}) => {
    const w = Math.fround(o.omega0 ?? 20);
    return w * Math.cos(Math.fround(w * x));
  },
  ede: (x, o = {}) => {
    const t = o.t ?? 1;
    const k = o.k ?? Math.max(1 / t, 1);
    const c = Math.cosh(t * x);
    return (k * t) / (c * c);
  },
  fda: (x, o = {}) => {
    const w = o.omega ?? 0.1;
    const n = o.n ?? 9;
    if (Math.abs(x) > (o.clip ?? 1)) return 0;
    let s = 0;
    for (let i = 0; i <= n; i++) s += Math.cos((2 * i + 1) * w * x);
    return ((4 * w) / Math.PI) * s;
  },
};

const NAMES = ['ste', 'approxSign', 'swishSign', 'reste', 'biper', 'ede', 'fda'] as const;
type Name = (typeof NAMES)[number];
const est = (n: Name) => B[n] as bitgrad.binarize.Estimator<any, {}>;

describe('spec vectors', () => {
  test('§1.1 hardtanh STE: forward, zeroMode, inclusive and exclusive masks', async () => {
    specClose(B.ste.forwardSync(X), [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1]);
    specClose(B.ste.forwardSync(X, { zeroMode: 'zero' }), [-1, -1, -1, -1, 0, 1, 1, 1, 1, 1]);
    specClose(B.ste.backwardSync(X, ONES).grad, [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    specClose(B.ste.backwardSync(X, ONES, { steBoundary: 'exclusive' }).grad, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
    specClose(await B.ste.forward(X), [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1]);
    specClose((await B.ste.backward(X, ONES)).grad, [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });
  test('§1.2 ApproxSign', () => {
    specClose(B.approxSign.backwardSync(X, ONES).grad, [0, 0, 0.8, 1.9, 2, 1.9, 1.8, 1.4, 0, 0]);
    specClose(B.approxSign.forwardSync(X), [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1]);
  });
  test('§1.5 EDE rows t = 1, t = 10 (absolute tolerance on the tiny tails), t = 0.1', () => {
    specClose(B.ede.backwardSync(X, ONES, { t: 1, k: 1 }).grad, [0.150527, 0.419974, 0.711578, 0.997504, 1, 0.997504, 0.990066, 0.915137, 0.419974, 0.216152]);
    const g10 = B.ede.backwardSync(X, ONES, { t: 10, k: 1 }).grad;
    specClose(g10, [5.065666e-13, 8.244614e-8, 0.000246, 7.864477, 10, 7.864477, 4.199743, 0.09866, 8.244614e-8, 2.76576e-11]);
    // The accurate form keeps the tails non-zero (the tanh form cancels to 0 in float32).
    expectClose([g10[0], g10[9]], [5.065666e-13, 2.76576e-11], 1e-4, 0);
    specClose(B.ede.backwardSync(X, ONES, { t: 0.1 }).grad, [0.974831, 0.990066, 0.996409, 0.999975, 1, 0.999975, 0.9999, 0.999101, 0.990066, 0.980653]);
  });
  test('§1.5 EDE schedule', () => {
    expect(B.edeSchedule(0, 100)).toEqual({ t: 1e-3, k: 1000 });
    const s = B.edeSchedule(100, 100);
    expect(s.t).toBeCloseTo(10, 12);
    expect(s.k).toBe(1);
    expectClose(B.edeSchedule(50, 100).t, 0.1, 1e-12);
  });
  test('§2 ReSTE o = 1, 2, 3 and the schedule', () => {
    specClose(B.reste.backwardSync(X, ONES, { o: 1 }).grad, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    specClose(B.reste.backwardSync(X, ONES, { o: 2 }).grad, [0, 0.5, 0.645497, 3.162278, 3.162278, 3.162278, 3.162278, 0.912871, 0.5, 0.422577]);
    specClose(B.reste.backwardSync(X, ONES, { o: 3 }).grad, [0, 0.333333, 0.468574, 4.641589, 4.641589, 4.641589, 4.641589, 0.743814, 0.333333, 0.266355]);
    specClose(B.reste.backwardSync(X, ONES).grad, [0, 0.333333, 0.468574, 4.641589, 4.641589, 4.641589, 4.641589, 0.743814, 0.333333, 0.266355]);
    specClose([0, 250, 500, 999].map((e) => B.resteSchedule(e, 1000, 3)), [1, 1.152241, 1.585786, 2.996858]);
  });
  test('§3 BiPer omega0 = 20 and 30', () => {
    const W = Float32Array.from([-0.2, -0.05, 0, 0.03, 0.1, 0.16]);
    const G = new Float32Array(6).fill(1);
    specClose(B.biper.forwardSync(W), [1, -1, 1, 1, 1, -1]);
    specClose(B.biper.forwardSync(W, { zeroMode: 'zero' }), [1, -1, 0, 1, 1, -1]);
    // The float32 product omega0 * W is off the float64 one by up to half an ulp of ~5
    // (2.4e-7), times omega0^2 |sin| <= 900 in the derivative: up to 2e-4 absolute. The
    // spec rows are therefore compared at 1.5e-5 (observed worst 9e-6), and the float64
    // reference of the float32 product (REF.biper) at the usual tolerance.
    expectClose(B.biper.backwardSync(W, G).grad, [-13.072872, 10.806046, 20, 16.506712, -8.322937, -19.965896], 1e-6, 1.5e-5);
    expectClose(B.biper.backwardSync(W, G, { omega0: 30 }).grad, [28.805109, 2.122116, 30, 18.648299, -29.699775, 2.62497], 1e-6, 1.5e-5);
    expectClose(B.biper.backwardSync(W, G, { omega0: 30 }).grad, Array.from(W, (w) => REF.biper(w, { omega0: 30 })), 1e-6, 1e-6);
  });
  test('§5 FDA n = 9 and n = 18, schedule', () => {
    const x = Float32Array.from([-1.2, -0.5, 0, 0.5, 1.0]);
    const g = new Float32Array(5).fill(1);
    specClose(B.fda.backwardSync(x, g).grad, [0, 1.071841, 1.27324, 1.071841, 0.579843]);
    specClose(B.fda.backwardSync(x, g, { n: 18 }).grad, [0, 1.205369, 2.419155, 1.205369, -0.390171]);
    expect([B.fdaSchedule(0, 10), B.fdaSchedule(5, 10), B.fdaSchedule(10, 10)]).toEqual([9, 13, 18]);
  });
  test('§1.4 RSign: forward, gradient factor, dL/dalpha = -7.6', () => {
    const x = Float32Array.from([-0.5, -0.2, 0, 0.1, 0.3]);
    const g = new Float32Array(5).fill(1);
    specClose(B.rsign.forwardSync(x, { alpha: 0.1 }), [-1, -1, -1, 1, 1]);
    specClose(B.rsign.forwardSync(x, { alpha: 0.1, zeroMode: 'zero' }), [-1, -1, -1, 0, 1]);
    const r = B.rsign.backwardSync(x, g, { alpha: 0.1 });
    specClose(r.grad, [0.8, 1.4, 1.8, 2.0, 1.6]);
    specClose(r.alphaGrad as Float32Array, [-7.6]);
  });
});

describe('float64 references on random inputs, upstream gradient applied', () => {
  const opts: Record<Name, any[]> = {
    ste: [{}, { clip: 0.5 }, { clip: 2, steBoundary: 'exclusive' }],
    approxSign: [{}],
    swishSign: [{}, { beta: 1 }, { beta: 10 }],
    reste: [{ o: 1 }, { o: 2 }, { o: 3 }, { o: 5 }],
    biper: [{}, { omega0: 30 }],
    ede: [{ t: 1 }, { t: 0.01 }, { t: 10, k: 1 }],
    // fda: the recurrence (omega clip <= pi/4, n <= 32) and the closed form (larger either way).
    fda: [{}, { n: 18 }, { n: 32 }, { n: 33 }, { n: 200 }, { omega: 0.7, n: 12 }, { omega: 2 }, { omega: 0.5, clip: 2, n: 5 }],
  };
  for (const name of NAMES) {
    test(name, () => {
      const r = rng(name.length * 31);
      const n = 4099;
      const x = uniform(r, n, -2.5, 2.5);
      const g = uniform(r, n, -1, 1);
      for (const o of opts[name]) {
        const got = est(name).backwardSync(x, g, o).grad;
        const want = Array.from(x, (v, i) => g[i] * REF[name](v, o));
        // Windows: the float32 x is what both sides compare, so masks agree exactly.
        expectClose(got, want, 2e-5, 2e-6);
        const f = est(name).forwardSync(x, o);
        if (name !== 'biper') expectClose(f, Array.from(x, (v) => (v >= 0 ? 1 : -1)), 0, 0);
        else expectClose(f, Array.from(x, (v) => (Math.sin(Math.fround(Math.fround(o.omega0 ?? 20) * v)) >= 0 ? 1 : -1)), 0, 0);
      }
    });
  }
});

describe('wide arguments', () => {
  test('swishSign down to underflow and biper up to |omega0 x| = 2e6 against float64; huge biper arguments stay bounded', () => {
    const r = rng(77);
    const n = 4099;
    const g = uniform(r, n, -1, 1);
    const xs = uniform(r, n, -30, 30);
    for (const o of [{}, { beta: 1 }, { beta: 10 }])
      expectClose(B.swishSign.backwardSync(xs, g, o).grad, Array.from(xs, (v, i) => g[i] * REF.swishSign(v, o)), 2e-5, 2e-6);
    const xb = uniform(r, n, -1e5, 1e5);
    // A cosine near its zeros has an absolute error of ~1e-7 (times omega0 = 20).
    expectClose(B.biper.backwardSync(xb, g).grad, Array.from(xb, (v, i) => g[i] * REF.biper(v)), 2e-5, 4e-6);
    const huge = Float32Array.from([1e8, -3e12, 1e30, -3.4e38]);
    for (const v of B.biper.backwardSync(huge, new Float32Array(4).fill(1)).grad) expect(Math.abs(v)).toBeLessThanOrEqual(20 * (1 + 1e-6));
  });
});

describe('boundary values: |x| = clip, 0, -0, +-Inf, NaN', () => {
  const S = Float32Array.from([1, -1, 0, -0, Infinity, -Infinity, NaN, 1.5, -1.5, 0.1]);
  const G = Float32Array.from([2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  test('forward: +-0 -> +1 (or 0), +-Inf -> +-1, NaN -> NaN, for every estimator', () => {
    for (const name of NAMES) {
      const f = est(name).forwardSync(S);
      expect(Array.from(f.slice(2, 7))).toEqual([1, 1, 1, -1, NaN]);
      const z = est(name).forwardSync(S, { zeroMode: 'zero' });
      expect(Array.from(z.slice(2, 7))).toEqual([0, 0, 1, -1, NaN]);
    }
  });
  test('backward: NaN propagates, +-Inf give 0, values at the window edges', () => {
    const want: Record<Name, number[]> = {
      ste: [2, 2, 2, 2, 0, 0, NaN, 0, 0, 2],
      approxSign: [0, 0, 4, 4, 0, 0, NaN, 0, 0, 3.6],
      swishSign: NaN as never,
      reste: NaN as never,
      biper: NaN as never,
      ede: NaN as never,
      fda: NaN as never,
    };
    for (const name of NAMES) {
      const g = est(name).backwardSync(S, G).grad;
      expect(g[6]).toBeNaN();
      expect(g[4]).toBe(0);
      expect(g[5]).toBe(0);
      expect(g[2]).toBe(g[3]); // 0 and -0 agree
      if (Array.isArray(want[name])) expectClose(g, want[name], 1e-6, 1e-7);
    }
    // Exclusive windows block |x| == bound.
    expect(Array.from(B.ste.backwardSync(S, G, { steBoundary: 'exclusive' }).grad.slice(0, 2))).toEqual([0, 0]);
    const rs = B.reste.backwardSync(S, G, { o: 2 }).grad;
    expectClose([rs[7], rs[8]], [2 * 0.5 * Math.pow(1.5, -0.5), 2 * 0.5 * Math.pow(1.5, -0.5)], 1e-6);
    expect(Array.from(B.reste.backwardSync(S, G, { o: 2, steBoundary: 'exclusive' }).grad.slice(7, 9))).toEqual([0, 0]);
    // ReSTE at 0 is the finite secant slope; at |x| == delta too.
    expectClose([rs[2], rs[9]], [2 * Math.sqrt(10), 2 * Math.sqrt(10)], 1e-5);
    // NaN upstream gradient propagates.
    expect(B.approxSign.backwardSync(Float32Array.of(0.5), Float32Array.of(NaN)).grad[0]).toBeNaN();
    // o = 1 (exponent 0) at +-Inf: 0, not 0 * inf; fda's closed form and n = 0 likewise.
    expect(Array.from(B.reste.backwardSync(S, G, { o: 1 }).grad.slice(4, 7))).toEqual([0, 0, NaN]);
    for (const o of [{ omega: 2 }, { n: 0 }]) expect(Array.from(B.fda.backwardSync(S, G, o).grad.slice(4, 7))).toEqual([0, 0, NaN]);
  });
});

describe('rsign: per-channel thresholds', () => {
  const N = 3;
  const C = 5;
  const H = 4;
  const W = 7;
  const r = rng(99);
  const x = uniform(r, N * C * H * W, -1.5, 1.5);
  const g = uniform(r, N * C * H * W, -1, 1);
  const alpha = uniform(r, C, -0.3, 0.3);
  const surrogate = (y: number) => (y < -1 ? -1 : y < 0 ? y * y + 2 * y : y < 1 ? -y * y + 2 * y : 1);
  const loss = (al: Float64Array) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += g[i] * surrogate(x[i] - al[Math.floor(i / (H * W)) % C]);
    return s;
  };
  test('NCHW: forward, dx, and dalpha against central finite differences of the surrogate', () => {
    const res = B.rsign.backwardSync(x, g, { alpha, shape: [N, C, H, W] });
    const f = B.rsign.forwardSync(x, { alpha, shape: [N, C, H, W] });
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / (H * W)) % C;
      const y = Math.fround(x[i] - alpha[c]);
      expect(f[i]).toBe(y >= 0 ? 1 : -1);
      expect(Math.abs(res.grad[i] - g[i] * Math.max(0, 2 - 2 * Math.abs(y)))).toBeLessThan(1e-6);
    }
    const h = 1e-6;
    for (let c = 0; c < C; c++) {
      const up = Float64Array.from(alpha);
      const dn = Float64Array.from(alpha);
      up[c] += h;
      dn[c] -= h;
      const fd = (loss(up) - loss(dn)) / (2 * h);
      expectClose([(res.alphaGrad as Float32Array)[c]], [fd], 1e-4, 1e-4);
    }
  });
  test('channel-last (NHWC via channelAxis -1), scalar alpha, tensors agree with arrays', async () => {
    const xl = uniform(rng(5), 2 * 3 * 3 * C, -1, 1);
    const gl = uniform(rng(6), xl.length, -1, 1);
    const res = B.rsign.backwardSync(xl, gl, { alpha, shape: [2, 3, 3, C], channelAxis: -1 });
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = c; i < xl.length; i += C) s -= gl[i] * Math.max(0, 2 - 2 * Math.abs(Math.fround(xl[i] - alpha[c])));
      expectClose([(res.alphaGrad as Float32Array)[c]], [s], 1e-5, 1e-6);
    }
    const one = B.rsign.backwardSync(xl, gl, { alpha: 0.2 });
    expect((one.alphaGrad as Float32Array).length).toBe(1);
    await bitgrad.scopeAsync(async () => {
      const xt = bitgrad.tensor(x, [N, C, H, W], { device: 'cpu' });
      const gt = bitgrad.tensor(g, [N, C, H, W], { device: 'cpu' });
      const at = bitgrad.tensor(alpha, [C], { device: 'cpu' });
      const t = await B.rsign.backward(xt, gt, { alpha: at });
      const a = B.rsign.backwardSync(x, g, { alpha, shape: [N, C, H, W] });
      expect(Array.from(await t.grad.data())).toEqual(Array.from(a.grad));
      expect(Array.from(await (t.alphaGrad as bitgrad.Tensor).data())).toEqual(Array.from(a.alphaGrad as Float32Array));
      expect(Array.from(await B.rsign.forwardSync(xt, { alpha: at }).data())).toEqual(Array.from(B.rsign.forwardSync(x, { alpha, shape: [N, C, H, W] })));
    });
  });
  test('dalpha is deterministic and thread-count independent on a large input', () => {
    const n = 8 * 16 * 64 * 64;
    const xb = uniform(rng(1), n, -1.2, 1.2);
    const gb = uniform(rng(2), n, -1, 1);
    const ab = uniform(rng(3), 16, -0.2, 0.2);
    const threads = require('os').cpus().length;
    bitgrad.setNumThreads(1);
    const one = B.rsign.backwardSync(xb, gb, { alpha: ab, shape: [8, 16, 64, 64] });
    bitgrad.setNumThreads(Math.max(2, threads));
    const many = B.rsign.backwardSync(xb, gb, { alpha: ab, shape: [8, 16, 64, 64] });
    bitgrad.setNumThreads(threads);
    expect(Buffer.compare(Buffer.from((one.alphaGrad as Float32Array).buffer), Buffer.from((many.alphaGrad as Float32Array).buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(one.grad.buffer), Buffer.from(many.grad.buffer))).toBe(0);
  });
});

describe('SIMD paths and threads', () => {
  afterAll(() => bitgrad.setSimd('auto'));
  const sizes = [1, 7, 8, 15, 16, 17, 1000, 70001];
  test('avx2 and avx512 agree with scalar for every estimator, all tails', async () => {
    const r = rng(7);
    const best = bitgrad.backend().cpu.simdBest;
    const paths = (['avx2', 'avx512'] as const).filter((p) => p === 'avx2' || best === 'avx512');
    const all = [...NAMES, 'rsign'] as const;
    for (const n of sizes) {
      const x = uniform(r, n, -3, 3);
      x[0] = 0;
      if (n > 3) {
        x[1] = NaN;
        x[2] = -Infinity;
        x[3] = 1;
      }
      const g = uniform(r, n, -1, 1);
      for (const name of all) {
        const o = name === 'rsign' ? { alpha: 0.05 } : name === 'reste' ? { o: 2.5 } : name === 'fda' ? { n: 13 } : {};
        const e = B[name] as bitgrad.binarize.Estimator<any, any>;
        bitgrad.setSimd('scalar');
        const fs = e.forwardSync(x, o);
        const bs = e.backwardSync(x, g, o);
        // fda's closed-form path (omega clip > pi/4) too.
        const closed = name === 'fda' ? B.fda.backwardSync(x, g, { omega: 2 }).grad : null;
        for (const p of paths) {
          expect(bitgrad.setSimd(p).simd).toBe(p);
          expectClose(e.forwardSync(x, o), fs, 0, 0);
          const bp = await e.backward(x, g, o); // n = 70001 runs on a worker, threaded
          expectClose(bp.grad, bs.grad, 4e-6, 1e-6);
          if (name === 'rsign') expectClose(bp.alphaGrad, bs.alphaGrad, 1e-5, 1e-5);
          if (closed) expectClose((await B.fda.backward(x, g, { omega: 2 })).grad, closed, 4e-6, 1e-6);
        }
      }
    }
  });
  test('outputs of 32 MiB or more (streaming stores) equal the op on slices, aligned or not, every path', () => {
    // 8.5 M floats: past the default BITGRAD_STREAM_MIN_MB; each 1 M-float slice is
    // below it, so the slices take the ordinary stores. Elementwise, so the slices give
    // exactly the whole op's values; dalpha over the whole is compared to its float64 sum
    // of the slices' sums.
    const n = 8_500_003;
    const slice = 1 << 20;
    const r = rng(31);
    const x = uniform(r, n, -2, 2);
    const g = uniform(r, n, -1, 1);
    const best = bitgrad.backend().cpu.simdBest;
    const paths = (['avx2', 'avx512'] as const).filter((p) => p === 'avx2' || best === 'avx512');
    const cases: [string, any, boolean][] = [
      ['ste', {}, false],
      ['fda', { n: 13 }, false], // two vectors per step
      ['rsign', { alpha: 0.05 }, true], // dalpha summed in registers
      ['elastic', { alpha: 0.5, gradScale: 0.25 }, true], // fixed: the default scale depends on n
    ];
    for (const p of paths) {
      bitgrad.setSimd(p);
      for (const [name, o, param] of cases) {
        const e = B[name as 'ste'] as bitgrad.binarize.Estimator<any, any>;
        const fwant = new Float32Array(n);
        const bwant = new Float32Array(n);
        let dsum = 0;
        for (let s0 = 0; s0 < n; s0 += slice) {
          const s1 = Math.min(n, s0 + slice);
          fwant.set(e.forwardSync(x.subarray(s0, s1), o), s0);
          const b = e.backwardSync(x.subarray(s0, s1), g.subarray(s0, s1), o);
          bwant.set(b.grad, s0);
          if (param) dsum += (b.alphaGrad as Float32Array)[0];
        }
        let first: number | undefined;
        for (const shift of [0, 3, 9]) {
          const into = new Float32Array(n + shift).subarray(shift); // 4 * shift bytes past 64-byte alignment
          expectSameBits(e.forwardSync(x, { ...o, into }), fwant, `${p} ${name} forward, shift ${shift} (streamed vs sliced)`);
          const b = e.backwardSync(x, g, { ...o, into });
          expectSameBits(b.grad, bwant, `${p} ${name} backward, shift ${shift} (streamed vs sliced)`);
          if (!param) continue;
          // dalpha is summed in lanes that follow the element index, wherever the
          // streamed output starts: the same float for every shift.
          const da = (b.alphaGrad as Float32Array)[0];
          expectClose([da], [dsum], 1e-5, 1e-3);
          if (first === undefined) first = da;
          else expect(da).toBe(first);
        }
      }
    }
  });
  test('streamed rsign with per-channel thresholds (NCHW) equals the op per sample', () => {
    const shape = [2, 4, 1024, 1040]; // 8.5 M floats, 4.3 M per sample
    const per = 4 * 1024 * 1040;
    const r = rng(33);
    const x = uniform(r, 2 * per, -2, 2);
    const g = uniform(r, 2 * per, -1, 1);
    const alpha = Float32Array.from([0.1, -0.2, 0.05, 0]);
    const whole = B.rsign.backwardSync(x, g, { alpha, shape });
    const da = new Float64Array(4);
    for (let s0 = 0; s0 < 2; s0++) {
      const part = B.rsign.backwardSync(x.subarray(s0 * per, (s0 + 1) * per), g.subarray(s0 * per, (s0 + 1) * per), {
        alpha,
        shape: [1, 4, 1024, 1040],
      });
      expectSameBits(part.grad, whole.grad.subarray(s0 * per, (s0 + 1) * per), `rsign NCHW, sample ${s0}`);
      for (let c = 0; c < 4; c++) da[c] += (part.alphaGrad as Float32Array)[c];
    }
    expectClose(whole.alphaGrad as Float32Array, da, 1e-5, 1e-3);
  });
  test('float32 tensors on the cpu give the Float32Array results', async () => {
    const x = uniform(rng(11), 333, -2, 2);
    const g = uniform(rng(12), 333, -1, 1);
    await bitgrad.scopeAsync(async () => {
      for (const name of NAMES) {
        const xt = bitgrad.tensor(x, [3, 111], { device: 'cpu' });
        const gt = bitgrad.tensor(g, [3, 111], { device: 'cpu' });
        const ft = await est(name).forward(xt);
        expect(ft.shape).toEqual([3, 111]);
        expect(Array.from(await ft.data())).toEqual(Array.from(est(name).forwardSync(x)));
        const bt = est(name).backwardSync(xt, gt);
        expect(Array.from(bt.grad.dataSync())).toEqual(Array.from(est(name).backwardSync(x, g).grad));
      }
    });
  });
  test('into reuses the output buffer (also in place over g)', () => {
    const x = uniform(rng(21), 100, -2, 2);
    const g = uniform(rng(22), 100, -1, 1);
    const want = B.approxSign.backwardSync(x, g).grad;
    const buf = new Float32Array(100);
    expect(B.approxSign.backwardSync(x, g, { into: buf }).grad).toBe(buf);
    expect(Array.from(buf)).toEqual(Array.from(want));
    const g2 = Float32Array.from(g);
    B.approxSign.backwardSync(x, g2, { into: g2 });
    expect(Array.from(g2)).toEqual(Array.from(want));
    expect(thrown(() => B.ste.forwardSync(x, { into: new Float32Array(3) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
  test('empty input', () => {
    expect(B.ste.forwardSync(new Float32Array(0)).length).toBe(0);
    const r = B.rsign.backwardSync(new Float32Array(0), new Float32Array(0), { alpha: 0.5 });
    expect(Array.from(r.alphaGrad as Float32Array)).toEqual([0]);
  });
});

describe('coded errors', () => {
  const x = Float32Array.of(0.5, -0.5);
  const cases: [string, () => unknown, string][] = [
    ['x not an array', () => B.ste.forwardSync([1, 2] as never), 'BITGRAD_INVALID_ARGUMENT'],
    ['g length', () => B.ste.backwardSync(x, Float32Array.of(1)), 'BITGRAD_SHAPE_MISMATCH'],
    ['g type', () => B.ste.backwardSync(x, [1, 2] as never), 'BITGRAD_INVALID_DTYPE'],
    ['zeroMode', () => B.ste.forwardSync(x, { zeroMode: 'minusOne' as never }), 'BITGRAD_INVALID_ARGUMENT'],
    ['steBoundary', () => B.ste.forwardSync(x, { steBoundary: 'open' as never }), 'BITGRAD_INVALID_ARGUMENT'],
    ['clip', () => B.ste.backwardSync(x, x, { clip: -1 }), 'BITGRAD_INVALID_ARGUMENT'],
    ['beta', () => B.swishSign.backwardSync(x, x, { beta: NaN }), 'BITGRAD_INVALID_ARGUMENT'],
    ['o < 1', () => B.reste.backwardSync(x, x, { o: 0.5 }), 'BITGRAD_INVALID_ARGUMENT'],
    ['delta >= t', () => B.reste.backwardSync(x, x, { delta: 2 }), 'BITGRAD_INVALID_ARGUMENT'],
    ['omega0', () => B.biper.forwardSync(x, { omega0: 0 }), 'BITGRAD_INVALID_ARGUMENT'],
    ['ede t', () => B.ede.backwardSync(x, x, { t: Infinity }), 'BITGRAD_INVALID_ARGUMENT'],
    ['fda n', () => B.fda.backwardSync(x, x, { n: 2.5 }), 'BITGRAD_INVALID_ARGUMENT'],
    ['rsign no alpha', () => B.rsign.forwardSync(x), 'BITGRAD_INVALID_ARGUMENT'],
    ['rsign alpha length', () => B.rsign.forwardSync(x, { alpha: Float32Array.of(1, 2, 3) }), 'BITGRAD_SHAPE_MISMATCH'],
    ['rsign axis', () => B.rsign.forwardSync(x, { alpha: Float32Array.of(1, 2), channelAxis: 3 }), 'BITGRAD_INVALID_ARGUMENT'],
    ['shape', () => B.ste.forwardSync(x, { shape: [3] }), 'BITGRAD_SHAPE_MISMATCH'],
    ['options', () => B.ste.forwardSync(x, 5 as never), 'BITGRAD_INVALID_ARGUMENT'],
    ['schedule', () => B.resteSchedule(1, 0), 'BITGRAD_INVALID_ARGUMENT'],
  ];
  for (const [name, fn, code] of cases) {
    test(name, () => {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(bitgrad.ValidationError);
      expect(e.code).toBe(code);
    });
  }
  test('async forms reject instead of throwing', async () => {
    expect((await rejected(B.ste.forward([1] as never))).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect((await rejected(B.rsign.backward(x, x))).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
  test('tensor device / dtype mismatches and disposed tensors are coded', () => {
    bitgrad.scope(() => {
      const xt = bitgrad.tensor(x, [2], { device: 'cpu' });
      const it = bitgrad.tensor(Int32Array.of(1, 2), [2], { device: 'cpu' });
      expect(thrown(() => B.ste.forwardSync(it)).code).toBe('BITGRAD_INVALID_DTYPE');
      expect(thrown(() => B.ste.backwardSync(xt, x as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
      expect(thrown(() => B.ste.forwardSync(xt, { shape: [2] })).code).toBe('BITGRAD_INVALID_ARGUMENT');
      expect(thrown(() => B.rsign.forwardSync(xt, { alpha: x as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
      const d = bitgrad.tensor(x, [2], { device: 'cpu' });
      d.dispose();
      expect(thrown(() => B.ste.forwardSync(d)).code).toBe('BITGRAD_DISPOSED');
    });
  });
});

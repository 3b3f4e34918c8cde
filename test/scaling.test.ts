// Scaling factors and row-statistic binarizers (specs/binarize-mst.md §1.2, §1.3, §1.5,
// §4.1-4.4, §5): the spec's vectors, float64 references, central finite differences for
// every gradient (input and learnable scales), boundary values, each SIMD path against
// the scalar one, thread-count determinism, coded errors.
import * as os from 'os';
import * as bitgrad from '../lib';
import { expectClose, expectSameBits, rejected, rng, thrown, uniform } from './helpers';

const B = bitgrad.binarize;
const f = (a: number[]) => Float32Array.from(a);

function specClose(got: ArrayLike<number>, want: number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])))) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
}

describe('spec vectors', () => {
  test('§1.3 XNOR-Net alpha, B (W = 0 -> +1), zeroMode', () => {
    const W = f([0.4, -0.2, 0.1, -0.3, -0.5, 0.25, 0.05, 0.0]);
    const r = B.xnor.forwardSync(W, { shape: [2, 4] });
    specClose(r.alpha, [0.25, 0.2]);
    specClose(r.out, [0.25, -0.25, 0.25, -0.25, -0.2, 0.2, 0.2, 0.2]);
    specClose(B.magnitudeAwareSign.forwardSync(W, { shape: [2, 4], zeroMode: 'zero' }).out, [0.25, -0.25, 0.25, -0.25, -0.2, 0.2, 0.2, 0]);
    // detached backward: g alpha 1{|W| <= 1}
    specClose(B.xnor.backwardSync(W, new Float32Array(8).fill(1), { shape: [2, 4] }).grad, [0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]);
  });
  test('§1.3 XNOR-Net K: 2x2 box, stride 1, no padding', async () => {
    const I = f([1, -2, 0.5, 0, 1.5, -1, 2, -0.5, 1, -1, 0, 0.5, 1, -0.5, 0, 0, 1, -2]);
    specClose(B.xnorKSync(I, { shape: [1, 2, 3, 3], kernel: 2 }), [0.875, 0.75, 0.8125, 0.9375]);
    specClose(await B.xnorK(I, { shape: [1, 2, 3, 3], kernel: [2, 2] }), [0.875, 0.75, 0.8125, 0.9375]);
    // 1x1 box gives A itself; padding 1 with a 3x3 box averages zeros in.
    specClose(B.xnorKSync(I, { shape: [1, 2, 3, 3], kernel: 1 }), [1, 1, 0.5, 0.5, 1, 0.5, 1, 0.75, 1.5]);
    const p = B.xnorKSync(I, { shape: [1, 2, 3, 3], kernel: 3, padding: 1, stride: 2 });
    specClose(p, [(1 + 1 + 0.5 + 1) / 9, (1 + 0.5 + 1 + 0.5) / 9, (0.5 + 1 + 1 + 0.75) / 9, (1 + 0.5 + 0.75 + 1.5) / 9]);
  });
  test('§4.1 BiViT weights: alpha init, forward, dalpha, centred dW', async () => {
    const W = f([0.3, -0.1, 0.2, 0.0]);
    const g = f([0.5, -1, 0.25, 2]);
    const r = B.bivitWeights.forwardSync(W);
    specClose(r.alpha, [0.15]);
    specClose(r.out, [0.15, -0.15, 0.15, -0.15]);
    const b = await B.bivitWeights.backward(W, g);
    specClose(b.alphaGrad!, [-0.25]);
    specClose(b.grad, [0.009375, -0.215625, -0.028125, 0.234375]);
  });
  test('§4.2 BinaryDM two bases and §4.3 residual three bases', () => {
    const r = B.multiBasis.forwardSync(f([0.6, -0.2, 0.1, -0.5]));
    specClose(r.alpha, [0.35, 0.2]);
    specClose(r.out, [0.55, -0.15, 0.15, -0.55]);
    specClose(B.multiBasis.forwardSync(f([0.6, -0.2, 0.1, -0.5]), { bases: 1 }).out, [0.35, -0.35, 0.35, -0.35]);
    const x = f([0.9, -0.3, 0.05, -1.2]);
    const m = B.multiBasis.forwardSync(x, { bases: 3 });
    specClose(m.alpha, [0.6125, 0.4375, 0.1375]);
    specClose(m.out, [0.9125, -0.3125, 0.0375, -1.1875]);
    specClose(B.multiBasis.forwardSync(x, { bases: 2 }).out, [1.05, -0.175, 0.175, -1.05]);
  });
  test('§4.4 TBT ternary / binary weights', () => {
    const W = f([0.6, -0.2, 0.1, -0.5, 0.0, 0.3]);
    const t = B.ternaryWeights.forwardSync(W);
    specClose(t.alpha, [0.377778]);
    specClose(t.out, [0.377778, -0.377778, 0, -0.377778, 0, 0.377778]);
    const b = B.ternaryWeights.forwardSync(W, { levels: 2 });
    specClose(b.alpha, [0.283333]);
    specClose(b.out, [0.283333, -0.283333, 0.283333, -0.283333, 0.283333, 0.283333]);
    specClose(B.ternaryWeights.forwardSync(W, { levels: 2, zeroMode: 'zero' }).out, [0.283333, -0.283333, 0.283333, -0.283333, 0, 0.283333]);
    const g = f([1, 2, 3, 4, 5, NaN]);
    expectClose(B.ternaryWeights.backwardSync(W, g).grad, g, 0, 0);
    // all-zero row: output 0
    specClose(B.ternaryWeights.forwardSync(new Float32Array(4)).out, [0, 0, 0, 0]);
  });
  test('§4.4 TBT elastic activations: binary and ternary alpha gradients', () => {
    const x = f([-1.5, -0.4, 0, 0.2, 0.9, 2.5]);
    const ones = new Float32Array(6).fill(1);
    expect(B.elasticInit(x)).toBeCloseTo(1.833333, 5);
    const a0 = Math.fround(B.elasticInit(x));
    const bb = B.elastic.backwardSync(x, ones, { alpha: a0, zeroMode: 'zero' });
    specClose(bb.grad, [1, 1, 1, 1, 1, 0]);
    specClose(bb.alphaGrad as Float32Array, [0.408248]);
    specClose(B.elastic.forwardSync(x, { alpha: 0.5, mode: 'ternary' }), [-0.5, -0.5, 0, 0, 0.5, 0.5]);
    const t = B.elastic.backwardSync(x, ones, { alpha: 0.5, mode: 'ternary' });
    specClose(t.alphaGrad as Float32Array, [0.163299]);
    specClose(t.grad, [0, 1, 1, 1, 0, 0]);
    specClose(B.elastic.forwardSync(x, { alpha: 0.5, mode: 'unsignedBinary' }), [0, 0, 0, 0, 0.5, 0.5]);
    expect(B.elasticInit(new Float32Array(3))).toBe(1e-5);
  });
  test('§1.5 Libra-PB power-of-two scale examples and constant rows', () => {
    // mean|w^| = 0.8 -> 1: a two-level row [a, -a] standardizes to +-1/sqrt(2) (mean 0.7071 -> 1).
    const r = B.libraPB.forwardSync(f([3, -1, 5, 1]), { shape: [1, 4] });
    specClose(r.alpha, [1]);
    const c = B.libraPB.forwardSync(f([2, 2, 2, 2, 1, -1, 1, 0]), { shape: [2, 4] });
    specClose(c.alpha.subarray(0, 1), [1]);
    specClose(c.out.subarray(0, 4), [1, 1, 1, 1]); // constant row: w^ = 0, s = 1
    specClose(B.libraPB.backwardSync(f([2, 2, 2]), f([1, 2, 3])).grad, [0, 0, 0]);
  });
  test('§5 ReCU tau schedule and -ln(2 - 2 tau)', () => {
    expect(B.recuTau(0, 100)).toBeCloseTo(0.85, 12);
    expect(B.recuTau(100, 100)).toBeCloseTo(0.99, 12);
    const w = uniform(rng(3), 40, -1, 1);
    const q85 = B.recu.forwardSync(w, { shape: [4, 10] }).alpha[0];
    const q99 = B.recu.forwardSync(w, { shape: [4, 10], tau: 0.99 }).alpha[0];
    expectClose(q99 / q85, 3.912023 / 1.203973, 1e-5, 0);
  });
});

// ---- float64 references ------------------------------------------------------------
const sgnP = (v: number, zero = 1) => (v > 0 ? 1 : v < 0 ? -1 : zero);
const rowsOf = (w: Float32Array, R: number) => Array.from({ length: R }, (_, r) => Array.from(w.subarray((r * w.length) / R, ((r + 1) * w.length) / R)));

/** Forward in float64 of each binarizer (per row), for finite differences. */
const FWD: Record<string, (row: number[], o: any, all?: number[][]) => number[]> = {
  mas: (row) => {
    const a = row.reduce((s, v) => s + Math.abs(v), 0) / row.length;
    return row.map((v) => a * sgnP(v));
  },
  libra: (row, o) => {
    const K = row.length;
    const mu = row.reduce((s, v) => s + v, 0) / K;
    const sd = Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / (K - 1));
    return row.map((v) => (v - mu) / sd); // the surrogate (identity) before the sign
  },
};

// Smooth surrogates of the forward: replacing sign by its STE surrogate makes the
// backward an exact derivative that finite differences can check.
function fdGrad(fn: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const p = x.slice();
    const m = x.slice();
    p[i] += h;
    m[i] -= h;
    return (fn(p) - fn(m)) / (2 * h);
  });
}

describe('gradients against float64 references and finite differences', () => {
  const r = rng(11);
  const R = 3;
  const K = 7;
  // keep |w| < 1 away from kinks so the STE surrogates are smooth at the samples
  const W = uniform(r, R * K, -0.9, 0.9);
  const G = uniform(r, R * K, -1, 1);
  const Wd = Array.from(W);
  const Gd = Array.from(G);
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

  test("magnitudeAwareSign scaleGrad 'full' = d/dW of sum g mean|W| clamp(W) (finite differences)", () => {
    const L = (w: number[]) => {
      let s = 0;
      for (let rr = 0; rr < R; rr++) {
        const row = w.slice(rr * K, rr * K + K);
        const a = row.reduce((t, v) => t + Math.abs(v), 0) / K;
        // value: a * sign(w); derivative of sign via clamp STE -> surrogate a * clamp(w) in the second term,
        // sign(w) held for the alpha term: L = sum g (a_detach clamp(w) + a sign_detach(w)) - detached parts
        for (let k = 0; k < K; k++) s += Gd[rr * K + k] * (aD[rr] * Math.max(-1, Math.min(1, row[k])) + a * sgnP(Wd[rr * K + k]));
      }
      return s;
    };
    const aD = rowsOf(W, R).map((row) => row.reduce((t, v) => t + Math.abs(v), 0) / K);
    const want = fdGrad(L, Wd);
    expectClose(B.magnitudeAwareSign.backwardSync(W, G, { shape: [R, K], scaleGrad: 'full' }).grad, want, 1e-4, 1e-6);
    const det = Wd.map((w, i) => Gd[i] * aD[Math.floor(i / K)] * (Math.abs(w) <= 1 ? 1 : 0));
    expectClose(B.dorefa.backwardSync(W, G, { shape: [R, K] }).grad, det, 1e-6, 1e-7);
    // layer-wide DoReFa: one alpha
    const aL = Wd.reduce((t, v) => t + Math.abs(v), 0) / Wd.length;
    expectClose(B.dorefa.forwardSync(W, { shape: [R, K], perChannel: false }).alpha, [aL], 1e-6, 0);
  });

  test('libraPB backward = d/dW of sum g s EDE-surrogate(standardize(W))', () => {
    const t = 1.5;
    const k = 1;
    const s = Array.from(B.libraPB.forwardSync(W, { shape: [R, K] }).alpha);
    const L = (w: number[]) => {
      let tot = 0;
      for (let rr = 0; rr < R; rr++) {
        const z = FWD.libra(w.slice(rr * K, rr * K + K), {});
        for (let j = 0; j < K; j++) tot += Gd[rr * K + j] * s[rr] * k * Math.tanh(t * z[j]);
      }
      return tot;
    };
    expectClose(B.libraPB.backwardSync(W, G, { shape: [R, K], t, k }).grad, fdGrad(L, Wd), 1e-4, 1e-6);
    // s = 2^round(log2 mean|w^|)
    rowsOf(W, R).forEach((row, i) => {
      const z = FWD.libra(row, {});
      const m = z.reduce((a, v) => a + Math.abs(v), 0) / K;
      expect(s[i]).toBe(2 ** Math.round(Math.log2(m)));
    });
  });

  test('recu backward = d/dW of sum g clamp(standardize(W), -Q, Q) with Q detached', () => {
    const Q = B.recu.forwardSync(W, { shape: [R, K], tau: 0.7 }).alpha[0];
    const L = (w: number[]) => {
      let tot = 0;
      for (let rr = 0; rr < R; rr++) {
        const row = w.slice(rr * K, rr * K + K);
        const mu = row.reduce((a, v) => a + v, 0) / K;
        const v = row.reduce((a, x) => a + (x - mu) ** 2, 0) / (K - 1);
        for (let j = 0; j < K; j++) {
          const w1 = ((row[j] - mu) * 2 * Math.SQRT2) / Math.sqrt(v + 1e-5);
          tot += Gd[rr * K + j] * Math.max(-Q, Math.min(Q, w1));
        }
      }
      return tot;
    };
    expectClose(B.recu.backwardSync(W, G, { shape: [R, K], tau: 0.7 }).grad, fdGrad(L, Wd), 2e-4, 1e-5);
    // forward: sign of the standardized weights
    const out = B.recu.forwardSync(W, { shape: [R, K], tau: 0.7 }).out;
    rowsOf(W, R).forEach((row, rr) => {
      const mu = row.reduce((a, v) => a + v, 0) / K;
      row.forEach((v, j) => expect(out[rr * K + j]).toBe(sgnP(v - mu)));
    });
  });

  test('bivitWeights and multiBasis: dW and dalpha by finite differences (learnable scales)', () => {
    const alpha = f([0.3, 0.5, 0.2]);
    const Lb = (w: number[], a: number[]) => {
      let tot = 0;
      for (let rr = 0; rr < R; rr++) {
        const row = w.slice(rr * K, rr * K + K);
        const mu = row.reduce((s, v) => s + v, 0) / K;
        const mu0 = Wd.slice(rr * K, rr * K + K).reduce((s, v) => s + v, 0) / K;
        for (let j = 0; j < K; j++) {
          const z = row[j] - mu;
          const z0 = Wd[rr * K + j] - mu0;
          tot += Gd[rr * K + j] * (Math.fround(alpha[rr]) * Math.max(-1, Math.min(1, z)) + a[rr] * sgnP(z0));
        }
      }
      return tot;
    };
    const b = B.bivitWeights.backwardSync(W, G, { shape: [R, K], alpha });
    expectClose(b.grad, fdGrad((w) => Lb(w, Array.from(alpha)), Wd), 1e-4, 1e-6);
    expectClose(b.alphaGrad!, fdGrad((a) => Lb(Wd, a), Array.from(alpha)), 1e-4, 1e-6);
    expectClose(B.bivitWeights.forwardSync(W, { shape: [R, K], alpha }).alpha, alpha, 0, 0);

    // multi-basis with 3 learnable bases: surrogate sum a_i clamp(r_i), r_{i+1} = r_i - a_i sign(r_i) (sign frozen)
    const T = 3;
    const A = uniform(rng(5), T * R, 0.05, 0.4);
    const Lm = (w: number[], a: number[]) => {
      let tot = 0;
      for (let rr = 0; rr < R; rr++)
        for (let j = 0; j < K; j++) {
          let res = w[rr * K + j];
          let res0 = Wd[rr * K + j];
          let acc = 0;
          for (let i = 0; i < T; i++) {
            const ai = a[i * R + rr];
            const s0 = sgnP(res0);
            // value sign(r), gradient clamp'(r): surrogate term a (clamp(r) - clamp(r0) + s0)
            const term = ai * (Math.max(-1, Math.min(1, res)) - Math.max(-1, Math.min(1, res0)) + s0);
            acc += term;
            res = res - term;
            res0 = res0 - Math.fround(A[i * R + rr]) * s0;
          }
          tot += Gd[rr * K + j] * acc;
        }
      return tot;
    };
    const mb = B.multiBasis.backwardSync(W, G, { shape: [R, K], bases: T, alpha: A });
    expectClose(mb.grad, fdGrad((w) => Lm(w, Array.from(A)), Wd), 1e-4, 1e-6);
    expectClose(mb.alphaGrad!, fdGrad((a) => Lm(Wd, a), Array.from(A)), 1e-4, 1e-6);
  });

  test('elastic alpha gradient against a float64 LSQ reference (ternary)', () => {
    const x = uniform(rng(9), 50, -2, 2);
    const g = uniform(rng(10), 50, -1, 1);
    const a = 0.7;
    const s = 1 / Math.sqrt(50);
    // LSQ: out = a * round_pass(clip(x/a, -1, 1)) with the alpha gradient scaled by s
    const ref = Array.from(x).reduce((tot, xv, i) => {
      const q = xv / Math.fround(a);
      const c = q < -1 ? -1 : q > 1 ? 1 : Math.round(q) - q; // no exact .5 ties with this seed
      return tot + g[i] * s * c;
    }, 0);
    expectClose(B.elastic.backwardSync(x, g, { alpha: a, mode: 'ternary' }).alphaGrad as Float32Array, [ref], 1e-5, 1e-6);
  });

  test('xnorPlusPlus: forward and all three factor gradients by finite differences', async () => {
    const [N, C, H, Wd2] = [2, 3, 4, 5];
    const y = uniform(rng(1), N * C * H * Wd2, -1, 1);
    const g = uniform(rng(2), y.length, -1, 1);
    const o = uniform(rng(3), C, 0.5, 1.5);
    const h = uniform(rng(4), H, 0.5, 1.5);
    const w = uniform(rng(5), Wd2, 0.5, 1.5);
    const L = (oo: number[], hh: number[], ww: number[]) => {
      let t = 0;
      for (let i = 0; i < y.length; i++) {
        const c = Math.floor(i / (H * Wd2)) % C;
        const hi = Math.floor(i / Wd2) % H;
        const wi = i % Wd2;
        t += g[i] * y[i] * oo[c] * hh[hi] * ww[wi];
      }
      return t;
    };
    const opts = { shape: [N, C, H, Wd2], o, h, w };
    const fw = B.xnorPlusPlus.forwardSync(y, opts);
    expect(fw[7]).toBeCloseTo(y[7] * o[0] * h[1] * w[2], 6);
    const b = await B.xnorPlusPlus.backward(y, g, opts);
    expectClose(b.oGrad, fdGrad((v) => L(v, Array.from(h), Array.from(w)), Array.from(o)), 1e-5, 1e-6);
    expectClose(b.hGrad, fdGrad((v) => L(Array.from(o), v, Array.from(w)), Array.from(h)), 1e-5, 1e-6);
    expectClose(b.wGrad, fdGrad((v) => L(Array.from(o), Array.from(h), v), Array.from(w)), 1e-5, 1e-6);
    expect(b.grad[7]).toBeCloseTo(g[7] * o[0] * h[1] * w[2], 6);
  });
});

describe('boundaries, SIMD paths, threads', () => {
  afterAll(() => {
    bitgrad.setSimd('auto');
    bitgrad.setNumThreads(Math.min(1024, os.cpus().length || 1));
  });
  test('window boundaries |W| = clip, NaN and +-Inf', () => {
    const W = f([1, -1, 0.5, 2]);
    const g = f([1, 1, 1, 1]);
    specClose(B.magnitudeAwareSign.backwardSync(W, g).grad, [1.125, 1.125, 1.125, 0]);
    specClose(B.magnitudeAwareSign.backwardSync(W, g, { steBoundary: 'exclusive' }).grad, [0, 0, 1.125, 0]);
    const n = B.xnor.forwardSync(f([NaN, 1, -1, 0]), { shape: [1, 4] });
    expect(Number.isNaN(n.alpha[0])).toBe(true);
    expect(Number.isNaN(B.ternaryWeights.backwardSync(f([NaN, 1]), f([1, 1])).grad[0])).toBe(true);
    expect(Array.from(B.multiBasis.forwardSync(f([Infinity, -1]), { bases: 1, alpha: f([1]) }).out)).toEqual([1, -1]);
  });
  test('multiBasis row at a time (rows > 1) is bit-identical to the pass-by-pass path (one row per call)', () => {
    const R = 3;
    const K = 20011; // two chunks, ragged
    const W = uniform(rng(41), R * K, -1.5, 1.5);
    W[9] = 0;
    const G = uniform(rng(42), R * K, -1, 1);
    for (const bases of [1, 3, 4]) {
      const all = B.multiBasis.forwardSync(W, { shape: [R, K], bases });
      const ball = B.multiBasis.backwardSync(W, G, { shape: [R, K], bases });
      for (let r = 0; r < R; r++) {
        const w = W.subarray(r * K, (r + 1) * K);
        const one = B.multiBasis.forwardSync(w, { shape: [1, K], bases });
        const bone = B.multiBasis.backwardSync(w, G.subarray(r * K, (r + 1) * K), { shape: [1, K], bases });
        expect(Array.from(all.out.subarray(r * K, (r + 1) * K))).toEqual(Array.from(one.out));
        expect(Array.from(ball.grad.subarray(r * K, (r + 1) * K))).toEqual(Array.from(bone.grad));
        for (let b = 0; b < bases; b++) {
          expect(all.alpha[b * R + r]).toBe(one.alpha[b]);
          expect(ball.alphaGrad![b * R + r]).toBe(bone.alphaGrad![b]);
        }
      }
    }
  });
  test('every row binarizer row at a time (rows > 1) is bit-identical to one row per call', () => {
    const R = 3;
    const K = 20011; // two chunks, ragged
    const W = uniform(rng(43), R * K, -1.5, 1.5);
    W[5] = 0;
    const G = uniform(rng(44), R * K, -1, 1);
    const cases: [bitgrad.binarize.RowBinarizer<any>, any][] = [
      [B.magnitudeAwareSign, { scaleGrad: 'full' }],
      [B.ternaryWeights, {}],
      [B.libraPB, { t: 2 }],
      [B.bivitWeights, {}],
    ];
    for (const [e, o0] of cases) {
      const all = e.forwardSync(W, { ...o0, shape: [R, K] });
      const ball = e.backwardSync(W, G, { ...o0, shape: [R, K] });
      for (let r = 0; r < R; r++) {
        const o = { ...o0, shape: [1, K] };
        const one = e.forwardSync(W.subarray(r * K, (r + 1) * K), o);
        const bone = e.backwardSync(W.subarray(r * K, (r + 1) * K), G.subarray(r * K, (r + 1) * K), o);
        expect(Array.from(all.out.subarray(r * K, (r + 1) * K))).toEqual(Array.from(one.out));
        expect(Array.from(ball.grad.subarray(r * K, (r + 1) * K))).toEqual(Array.from(bone.grad));
        expect(all.alpha[r]).toBe(one.alpha[0]);
        if (ball.alphaGrad) expect(ball.alphaGrad[r]).toBe(bone.alphaGrad![0]);
      }
    }
  });
  test('tensors of 32 MiB or more (streamed last stage) equal the op on row slices, every path', () => {
    // 8.5 M floats in ragged rows: past the default BITGRAD_STREAM_MIN_MB, each 64-row
    // slice below it. Rows are independent, so the slices give the whole op's bits.
    const R = 520;
    const K = 16411;
    const W = uniform(rng(45), R * K, -1.5, 1.5);
    const G = uniform(rng(46), R * K, -1, 1);
    const best = bitgrad.backend().cpu.simdBest;
    const paths = (['avx2', 'avx512'] as const).filter((p) => best !== 'scalar' && (p === 'avx2' || best === 'avx512'));
    const cases: [string, bitgrad.binarize.RowBinarizer<any>, any][] = [
      ['magnitudeAwareSign', B.magnitudeAwareSign, {}],
      ['magnitudeAwareSign full', B.magnitudeAwareSign, { scaleGrad: 'full' }],
      ['libraPB', B.libraPB, { t: 2 }],
      ['multiBasis', B.multiBasis, { bases: 2 }],
    ];
    for (const p of paths) {
      bitgrad.setSimd(p);
      for (const [name, e, o0] of cases) {
        const all = e.forwardSync(W, { ...o0, shape: [R, K] });
        const ball = e.backwardSync(W, G, { ...o0, shape: [R, K] });
        const fw = new Float32Array(R * K);
        const bw = new Float32Array(R * K);
        for (let r0 = 0; r0 < R; r0 += 64) {
          const r1 = Math.min(R, r0 + 64);
          const o = { ...o0, shape: [r1 - r0, K] };
          fw.set(e.forwardSync(W.subarray(r0 * K, r1 * K), o).out, r0 * K);
          bw.set(e.backwardSync(W.subarray(r0 * K, r1 * K), G.subarray(r0 * K, r1 * K), o).grad, r0 * K);
        }
        expectSameBits(all.out, fw, `${p} ${name} forward (whole vs row slices)`);
        expectSameBits(ball.grad, bw, `${p} ${name} backward (whole vs row slices)`);
      }
    }
    bitgrad.setSimd('auto');
  });

  test('every SIMD path and thread count matches the scalar one (ragged rows, large inputs)', async () => {
    const paths = (['avx2', 'avx512'] as const).filter((p) => p === 'avx2' || bitgrad.backend().cpu.simdBest === 'avx512');
    const R = 5;
    const K = 20011; // > one chunk, ragged
    const W = uniform(rng(21), R * K, -1.5, 1.5);
    W[3] = NaN;
    W[7] = 0;
    const G = uniform(rng(22), R * K, -1, 1);
    const cases: [bitgrad.binarize.RowBinarizer<any>, any][] = [
      [B.magnitudeAwareSign, { scaleGrad: 'full' }],
      [B.ternaryWeights, {}],
      [B.libraPB, { t: 2 }],
      [B.recu, {}],
      [B.bivitWeights, {}],
      [B.multiBasis, { bases: 4 }],
    ];
    for (const [e, o0] of cases) {
      const o = { ...o0, shape: [R, K] };
      bitgrad.setSimd('scalar');
      const fs = e.forwardSync(W, o);
      const bs = e.backwardSync(W, G, o);
      for (const p of paths) {
        bitgrad.setSimd(p);
        const fp = await e.forward(W, o);
        expectClose(fp.out, fs.out, 1e-6, 1e-6);
        expectClose(fp.alpha, fs.alpha, 0, 0);
        const bp = await e.backward(W, G, o);
        expectClose(bp.grad, bs.grad, 1e-5, 1e-6);
        if (bs.alphaGrad) expectClose(bp.alphaGrad!, bs.alphaGrad, 1e-5, 1e-5);
      }
      bitgrad.setSimd('scalar');
      for (const t of [1, 3]) {
        bitgrad.setNumThreads(t);
        const b2 = e.backwardSync(W, G, o);
        expectClose(b2.grad, bs.grad, 0, 0);
      }
    }
    bitgrad.setSimd('auto');
    const x = uniform(rng(23), 70001, -2, 2);
    const g = uniform(rng(24), 70001, -1, 1);
    bitgrad.setSimd('scalar');
    const es = B.elastic.backwardSync(x, g, { alpha: 0.6, mode: 'ternary' });
    for (const p of paths) {
      bitgrad.setSimd(p);
      const ep = await B.elastic.backward(x, g, { alpha: 0.6, mode: 'ternary' });
      expectClose(ep.grad, es.grad, 0, 0);
      expectClose(ep.alphaGrad as Float32Array, es.alphaGrad as Float32Array, 1e-5, 1e-6);
      expectClose(B.elastic.forwardSync(x, { alpha: 0.6, mode: 'ternary' }), B.elastic.forwardSync(x, { alpha: 0.6, mode: 'ternary' }), 0, 0);
    }
  });
});

describe('coded errors', () => {
  test('bad options, shapes, parameters', async () => {
    const W = f([1, 2, 3, 4]);
    const cases: [() => unknown, string][] = [
      [() => B.xnor.forwardSync(W, { scaleGrad: 'x' as never }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.xnor.forwardSync(W, { shape: [3] }), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.xnor.backwardSync(W, f([1])), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.xnor.forwardSync(new Float32Array(0)), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.ternaryWeights.forwardSync(W, { levels: 4 as never }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.recu.forwardSync(W, { tau: 0.4 }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.multiBasis.forwardSync(W, { bases: 5 }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.multiBasis.forwardSync(W, { bases: 2, alpha: f([1]) }), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.bivitWeights.forwardSync(W, { alpha: [1] as never }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.xnorKSync(W, { shape: [1, 1, 2, 2] }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.xnorKSync(W, { shape: [1, 1, 2, 2], kernel: 3 }), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.xnorKSync(W, { shape: [4], kernel: 1 }), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.xnorPlusPlus.forwardSync(W, { shape: [1, 1, 2, 2], o: f([1]), h: f([1]), w: f([1, 1]) }), 'BITGRAD_SHAPE_MISMATCH'],
      [() => B.elastic.forwardSync(W, {}), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.elastic.forwardSync(W, { alpha: 1, mode: 'quad' as never }), 'BITGRAD_INVALID_ARGUMENT'],
      [() => B.recuTau(-1, 10), 'BITGRAD_INVALID_ARGUMENT'],
    ];
    for (const [fn, code] of cases) expect(thrown(fn).code).toBe(code);
    expect((await rejected(B.xnor.forward([1] as never))).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect((await rejected(B.xnorK(W))).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
  test('tensor inputs on the CPU', async () => {
    const t = bitgrad.tensor(f([0.4, -0.2, 0.1, -0.3, -0.5, 0.25, 0.05, 0]), [2, 4], { device: 'cpu' });
    const r = await B.xnor.forward(t);
    specClose(await r.alpha.data(), [0.25, 0.2]);
    expect(r.out.shape).toEqual([2, 4]);
    const gt = bitgrad.tensor(new Float32Array(8).fill(1), [2, 4], { device: 'cpu' });
    const b = B.bivitWeights.backwardSync(t, gt);
    expect(b.alphaGrad!.shape).toEqual([2]);
    expect(thrown(() => B.xnor.forwardSync(t, { shape: [8] })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    for (const x of [t, gt, r.out, r.alpha, b.grad, b.alphaGrad!]) x.dispose();
  });
});

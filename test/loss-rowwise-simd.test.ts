// Row-wise losses: every forced SIMD path (bitgrad.setSimd) against the scalar float64
// path, on row lengths that hit the vector body, the padded tails and several blocks;
// extreme logits; 1 and 2 threads bit-identical on every path. decoupledSoftmax takes its
// positives mask from t (a fixed pseudo-random ~30% of the classes). ALDR-KL runs two steps on
// fresh state and, for 'none', appends the stored lambdas to the compared losses.
import * as bitgrad from '../lib';
import { expectClose, rng, uniform } from './helpers';

const L = bitgrad.losses;
type Res = { loss: number | Float32Array; grad: Float32Array | null };

/** expectClose that also accepts equal infinities. */
function close(a: ArrayLike<number>, e: ArrayLike<number>, rtol: number, atol: number): void {
  expect(a.length).toBe(e.length);
  const fa: number[] = [], fe: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === e[i]) continue;
    fa.push(a[i]);
    fe.push(e[i]);
  }
  expectClose(fa, fe, rtol, atol);
}

function paths(): string[] {
  const best = bitgrad.backend().cpu.simdBest;
  return ['avx2', 'avx512'].filter((p) => best === 'avx512' || (best === 'avx2' && p === 'avx2'));
}

interface Case {
  name: string;
  run(x: Float32Array, t: Float32Array, y: Int32Array, reduction: 'none' | 'sum'): Res;
}
/** decoupledSoftmax mask drawn from the teacher values (NaN gives a negative). */
function maskOf(t: Float32Array): Float32Array {
  return Float32Array.from(t, (v) => ((Math.abs(v) * 997) % 1 < 0.3 ? 1 : 0));
}

const CASES: Case[] = [
  { name: 'kdLoss T 3', run: (x, t, _y, reduction) => L.kdLossSync(x, t, { temperature: 3, reduction }) },
  { name: 'kdLoss T 0.5', run: (x, t, _y, reduction) => L.kdLossSync(x, t, { temperature: 0.5, reduction }) },
  { name: 'rmtSymmetricCrossEntropy', run: (x, t, _y, reduction) => L.rmtSymmetricCrossEntropySync(x, t, { reduction }) },
  ...[0, 0.5, 1, 1.7].map((tau): Case => ({
    name: `compSumLoss tau ${tau}`, run: (x, _t, y, reduction) => L.compSumLossSync(x, y, { tau, reduction }),
  })),
  { name: 'generalizedCrossEntropy', run: (x, _t, y, reduction) => L.generalizedCrossEntropySync(x, y, { reduction }) },
  { name: 'passAtNLoss', run: (x, _t, y, reduction) => L.passAtNLossSync(x, y, { n: 4, reduction }) },
  { name: 'decoupledSoftmax', run: (x, t, _y, reduction) => L.decoupledSoftmaxSync(x, maskOf(t), { shape: [_y.length, x.length / _y.length], reduction }) },
  ...[1, 2.5].map((temperature): Case => ({
    name: `plackettLuceDistillation T ${temperature}`, run: (x, t, y, reduction) => L.plackettLuceDistillationSync(x, t, y, { temperature, reduction }),
  })),
  ...[{}, { tauPos: 0, tauNeg: 1 }].map((o): Case => ({
    name: `cbcLoss ${JSON.stringify(o)}`, run: (x, t, y, reduction) => L.cbcLossSync(x, t, { ...o, shape: [y.length, x.length / y.length], reduction }),
  })),
  ...[[1, 0], [2, 0.5]].map(([a, b]): Case => ({
    name: `zLoss a ${a} b ${b}`, run: (x, _t, y, reduction) => L.zLossSync(x, y, { a, b, reduction }),
  })),
  ...([['softplus', 2, 1], ['softplus', 0.1, 10], ['l1', 0.5, 2]] as const).map(([scores, margin, lambda]): Case => ({
    name: `ldrKl ${scores} margin ${margin} lambda ${lambda}`, run: (x, _t, y, reduction) => L.ldrKlSync(x, y, { scores, margin, lambda, reduction }),
  })),
  ...(['softplus', 'l1'] as const).map((scores): Case => ({
    name: `AldrKl ${scores}`,
    run: (x, _t, y, reduction) => {
      const N = y.length;
      if (x.length / N < 2) return { loss: 0, grad: new Float32Array(x.length) }; // AldrKl needs C >= 2
      const idx = Int32Array.from({ length: N }, (_, i) => i);
      const aldr = new L.AldrKl({ nTrain: N, scores, lambda0: 5, margin: 0.5 });
      aldr.lossSync(x, y, idx, { reduction });
      const r = aldr.lossSync(x, y, idx, { reduction });
      if (reduction === 'sum') return r;
      const loss = r.loss as Float32Array;
      const out = new Float32Array(2 * N);
      out.set(loss);
      out.set(aldr.lambdas(), N);
      return { loss: out, grad: r.grad };
    },
  })),
];

function withPath<T>(p: string, threads: number, f: () => T): T {
  bitgrad.setSimd(p as never);
  bitgrad.setNumThreads(threads);
  return f();
}

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

describe.each(CASES)('$name', ({ run }) => {
  test.each([[3, 1], [5, 7], [4, 16], [3, 37], [2, 2048 + 5], [2, 3 * 2048], [64, 1000]])('[%i, %i]: SIMD paths agree with scalar', (N, C) => {
    const r = rng(N * 7919 + C);
    for (const [lo, hi] of [[-4, 4], [-30, 30]]) {
      const x = uniform(r, N * C, lo, hi);
      const t = uniform(r, N * C, lo, hi);
      const y = Int32Array.from({ length: N }, () => Math.floor(r() * C));
      for (const red of ['none', 'sum'] as const) {
        const ref = withPath('scalar', 1, () => run(x, t, y, red));
        for (const p of paths()) {
          const one = withPath(p, 1, () => run(x, t, y, red));
          const two = withPath(p, 2, () => run(x, t, y, red));
          expect(Buffer.compare(Buffer.from(one.grad!.buffer), Buffer.from(two.grad!.buffer))).toBe(0);
          expect(one.loss).toEqual(two.loss);
          if (typeof ref.loss === 'number') expectClose(one.loss as number, ref.loss, 2e-5, 2e-6 * N);
          else expectClose(one.loss as Float32Array, ref.loss, 2e-5, 2e-6);
          expectClose(one.grad!, ref.grad!, 2e-5, 2e-6);
        }
      }
    }
  });
});

test('extreme and non-finite logits match the scalar path', () => {
  const C = 37;
  const x = uniform(rng(3), 4 * C, -1e4, 1e4);
  const t = uniform(rng(4), 4 * C, -1e4, 1e4);
  x[C + 3] = Infinity; // row 1: non-finite max, float64 fallback
  t[2 * C + 5] = NaN; // row 2: NaN teacher
  const y = Int32Array.from([0, 3, 7, 36]);
  for (const c of CASES) {
    const ref = withPath('scalar', 1, () => c.run(x, t, y, 'none'));
    for (const p of paths()) {
      const got = withPath(p, 2, () => c.run(x, t, y, 'none'));
      close(got.loss as Float32Array, ref.loss as Float32Array, 2e-5, 2e-6);
      close(got.grad!, ref.grad!, 2e-5, 2e-6);
    }
  }
});

test('zLoss: all-equal, offset and near-constant rows match the scalar path', () => {
  const C = 37;
  const r = rng(11);
  const rows: number[][] = [
    new Array(C).fill(0.1), // all equal: std exactly 0 (then 1e-12), as in float64
    Array.from({ length: C }, () => 1000 + (r() - 0.5) * 1e-2), // large mean, small spread
    Array.from({ length: C }, (_, i) => (i === 5 ? 1.0000001 : 1)), // one element 1 ulp off
    Array.from({ length: C }, () => (r() - 0.5) * 1e6),
  ];
  const x = Float32Array.from(rows.flat());
  const y = Int32Array.from([3, 0, 5, 36]);
  const ref = withPath('scalar', 1, () => L.zLossSync(x, y, { reduction: 'none' }));
  for (const p of paths()) {
    const got = withPath(p, 1, () => L.zLossSync(x, y, { reduction: 'none' }));
    close(got.loss as Float32Array, ref.loss as Float32Array, 2e-5, 2e-6);
    close(got.grad!, ref.grad!, 2e-5, 2e-6);
  }
});

test('ldrKl: very negative logits (scores underflow float) and dominant rows match the scalar path', () => {
  const C = 41;
  const r = rng(12);
  const rows: number[][] = [
    Array.from({ length: C }, () => -200 + r()), // softplus underflows float: float64 log-space path
    Array.from({ length: C }, (_, i) => (i === 7 ? 40 : r() - 0.5)), // one score carries the row
    Array.from({ length: C }, (_, i) => (i < 2 ? 30 : -30 + r())), // two dominant scores
  ];
  const x = Float32Array.from(rows.flat());
  for (const y of [Int32Array.from([0, 7, 1]), Int32Array.from([3, 8, 2])]) {
    for (const scores of ['softplus', 'l1'] as const) {
      for (const lambda of [0.2, 1, 10]) {
        const ref = withPath('scalar', 1, () => L.ldrKlSync(x, y, { scores, lambda, margin: 0.5, reduction: 'none' }));
        for (const p of paths()) {
          const got = withPath(p, 1, () => L.ldrKlSync(x, y, { scores, lambda, margin: 0.5, reduction: 'none' }));
          close(got.loss as Float32Array, ref.loss as Float32Array, 2e-5, 2e-6);
          close(got.grad!, ref.grad!, 2e-5, 2e-6);
        }
      }
    }
  }
});

test('decoupledSoftmax, cbcLoss, plackettLuceDistillation: edge rows match the scalar path', () => {
  const C = 37;
  const r = rng(13);
  const row = (f: (i: number) => number) => Array.from({ length: C }, (_, i) => f(i));
  const x = Float32Array.from([
    row(() => r() * 8 - 4),
    row((i) => (i === 9 ? 60 : r() - 0.5)), // one dominant logit: p ~ 1 (CBC's clamp, DEXML positive far above the negatives)
    row((i) => (i === 2 || i === 30 ? 5 : r())), // tied maxima
    row((i) => -39.5 + 79 * (i / (C - 1))), // Plackett-Luce span just under the vector path's limit
    row((i) => -41 + 82 * (i / (C - 1))), // just over: float64
    row(() => 0.25),
  ].flat());
  const t = Float32Array.from([
    row(() => r() * 8 - 4),
    row((i) => (i % 3 === 0 ? 0 : 1)), // teacher ties
    row((i) => (i % 2 === 0 ? -0 : 0)), // -0 / +0 compare equal in the teacher order
    row((i) => (i === 4 ? 30 : -r())), // confident teacher: CBC positive
    row(() => r() * 60 - 30),
    row(() => 1),
  ].flat());
  const N = 6;
  const y = Int32Array.from([0, 9, 30, 4, 36, 17]);
  const masks = [
    Float32Array.from(t, (v) => (v > 0 ? 1 : 0)),
    Float32Array.from({ length: N * C }, (_, i) => (i % C === 9 ? 1 : 0)), // one positive per row
    Float32Array.from({ length: N * C }, (_, i) => (i % C === 0 ? 0 : 1)), // one negative per row
    Float32Array.from({ length: N * C }, (_, i) => (Math.floor(i / C) % 2 === 0 ? 1 : 0)), // all / no positives
  ];
  const runs: Array<() => Res> = [
    ...masks.map((m) => () => L.decoupledSoftmaxSync(x, m, { shape: [N, C], reduction: 'none' })),
    ...[0.5, 1, 4].map((temperature) => () => L.plackettLuceDistillationSync(x, t, y, { temperature, reduction: 'none' })),
    ...[{}, { tauPos: 0, tauNeg: 1 }, { tauPos: 0.9, tauNeg: 0.001 }].map((o) => () => L.cbcLossSync(x, t, { ...o, shape: [N, C], reduction: 'none' })),
    ...['mean', 'sum'].map((reduction) => () => L.cbcLossSync(x, t, { tauPos: 0.3, tauNeg: 0.5, shape: [N, C], reduction: reduction as 'mean' })),
  ];
  for (const f of runs) {
    const ref = withPath('scalar', 1, f);
    for (const p of paths()) {
      const one = withPath(p, 1, f);
      const two = withPath(p, 2, f);
      expect(Buffer.compare(Buffer.from(one.grad!.buffer), Buffer.from(two.grad!.buffer))).toBe(0);
      expect(one.loss).toEqual(two.loss);
      if (typeof ref.loss === 'number') expectClose(one.loss as number, ref.loss, 2e-5, 2e-6 * N);
      else close(one.loss as Float32Array, ref.loss as Float32Array, 2e-5, 2e-6);
      close(one.grad!, ref.grad!, 2e-5, 2e-6);
    }
  }
});

test('rows over the pool: large decoupledSoftmax / cbcLoss / plackettLuceDistillation are bit-identical on 1 and 2 threads', () => {
  const [N, C] = [96, 700]; // 67200 elements: several chunks, past the parallel threshold
  const r = rng(14);
  const x = uniform(r, N * C, -5, 5);
  const t = uniform(r, N * C, -5, 5);
  const y = Int32Array.from({ length: N }, () => Math.floor(r() * C));
  const runs: Array<() => Res> = [
    () => L.decoupledSoftmaxSync(x, maskOf(t), { shape: [N, C] }),
    () => L.plackettLuceDistillationSync(x, t, y, { temperature: 2 }),
    () => L.cbcLossSync(x, t, { tauPos: 0.01, tauNeg: 0.5, shape: [N, C] }),
  ];
  for (const f of runs) {
    const ref = withPath('scalar', 1, f);
    for (const p of paths()) {
      const one = withPath(p, 1, f);
      const two = withPath(p, 2, f);
      expect(Buffer.compare(Buffer.from(one.grad!.buffer), Buffer.from(two.grad!.buffer))).toBe(0);
      expect(one.loss).toEqual(two.loss);
      expectClose(one.loss as number, ref.loss as number, 2e-5, 2e-6);
      expectClose(one.grad!, ref.grad!, 2e-5, 2e-6);
    }
  }
});

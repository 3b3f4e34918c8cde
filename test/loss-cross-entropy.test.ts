// crossEntropy on the CPU: every losses.md §1.3 vector (PyTorch 1.13), a float64
// reference on random shapes (incl. [N, C, d]), finite differences, extreme logits,
// ignored rows, empty input, a large vocabulary, in place, SIMD paths, threads, errors.
import * as bitgrad from '../lib';
import { ceRef } from './class-loss-ref';
import { expectClose, rejected, rng, thrown, uniform } from './helpers';

const { crossEntropy, crossEntropySync } = bitgrad.losses;

// losses.md §1.3
const Z = Float32Array.from([1, 2, 3, 0.5, 0.5, -1, 2, -1, 0, 0, 0, 0]);
const Y = Int32Array.from([2, 0, -100, 1]);
const W = Float32Array.from([0.5, 1.0, 2.0]);

const INDEX_CASES: Array<{ eps: number; w: boolean; none: number[]; sum: number; mean: number; grad: number[] }> = [
  {
    eps: 0, w: false, none: [0.4076059644, 0.7989161848, 0, 1.0986122887], sum: 2.305134438, mean: 0.768378146,
    grad: [0.0300101911, 0.081576157, -0.1115863481, -0.1833945941, 0.1499387392, 0.0334558549, 0, 0, 0, 0.1111111111, -0.2222222222, 0.1111111111],
  },
  {
    eps: 0, w: true, none: [0.8152119289, 0.3994580924, 0, 1.0986122887], sum: 2.31328231, mean: 0.6609378029,
    grad: [0.0514460418, 0.1398448406, -0.1912908824, -0.0785976832, 0.0642594597, 0.0143382235, 0, 0, 0, 0.0952380952, -0.1904761905, 0.0952380952],
  },
  {
    eps: 0.1, w: false, none: [0.5076059644, 0.8489161848, 0, 1.0986122887], sum: 2.455134438, mean: 0.818378146,
    grad: [0.0188990799, 0.0704650459, -0.0893641259, -0.1611723719, 0.1388276281, 0.0223447438, 0, 0, 0, 0.1, -0.2, 0.1],
  },
  {
    eps: 0.1, w: true, none: [0.8479114319, 0.5527191714, 0, 1.1169224935], sum: 2.5175530967, mean: 0.7193008848,
    grad: [0.044540552, 0.1244941627, -0.1690347147, -0.0605059457, 0.0633035781, -0.0027976324, 0, 0, 0, 0.0920634921, -0.1698412698, 0.0777777778],
  },
];

describe('spec vectors, index targets (PyTorch 1.13)', () => {
  for (const c of INDEX_CASES) {
    const opts = { labelSmoothing: c.eps, weight: c.w ? W : undefined };
    const tag = `eps=${c.eps}${c.w ? ', weight' : ''}`;
    test(`${tag}: none, sum, mean and the mean gradient`, () => {
      expectClose(crossEntropySync(Z, Y, { ...opts, reduction: 'none' }).loss as Float32Array, c.none, 1e-6, 1e-7);
      expectClose(crossEntropySync(Z, Y, { ...opts, reduction: 'sum' }).loss as number, c.sum, 1e-6);
      const m = crossEntropySync(Z, Y, opts);
      expectClose(m.loss as number, c.mean, 1e-6);
      expectClose(m.grad!, c.grad, 1e-5, 1e-7);
    });
    test(`${tag}: the float64 reference agrees`, () => {
      const r = ceRef(Z, [4, 3], Y, { eps: c.eps, weight: c.w ? W : undefined });
      expectClose(Array.from(r.none), c.none, 1e-9, 1e-9);
      expectClose(Array.from(r.grad), c.grad, 1e-8, 1e-9);
    });
  }
  test('async gives the same bits', async () => {
    const a = await crossEntropy(Z, Y, { weight: W, labelSmoothing: 0.1, reduction: 'none' });
    const s = crossEntropySync(Z, Y, { weight: W, labelSmoothing: 0.1, reduction: 'none' });
    expect(Array.from(a.loss as Float32Array)).toEqual(Array.from(s.loss as Float32Array));
    expect(Array.from(a.grad!)).toEqual(Array.from(s.grad!));
  });
});

describe('spec vectors, probability targets (PyTorch 1.13)', () => {
  const Zp = Float32Array.from([1, 2, 3, 0.5, 0.5, -1]);
  const T = Float32Array.from([0.1, 0.2, 0.7, 1, 0, 0]);
  const cases = [
    { eps: 0, w: false, none: [0.8076059644, 0.7989161848], mean: 0.8032610746 },
    { eps: 0, w: true, none: [0.9725498413, 0.3994580924], mean: 0.6860039669 },
    { eps: 0.1, w: false, none: [0.8676059644, 0.8489161848], mean: 0.8582610746 },
    { eps: 0.1, w: true, none: [0.9895155531, 0.5527191714], mean: 0.7711173622 },
  ];
  for (const c of cases) {
    test(`eps=${c.eps}${c.w ? ', weight' : ''}: none and mean (/N)`, () => {
      const opts = { shape: [2, 3], labelSmoothing: c.eps, weight: c.w ? W : undefined };
      expectClose(crossEntropySync(Zp, T, { ...opts, reduction: 'none' }).loss as Float32Array, c.none, 1e-6);
      expectClose(crossEntropySync(Zp, T, opts).loss as number, c.mean, 1e-6);
      expectClose(crossEntropySync(Zp, T, { ...opts, reduction: 'sum' }).loss as number, c.mean * 2, 1e-6);
    });
  }
  test('mean gradient, eps=0.1 with weight', () => {
    const r = crossEntropySync(Zp, T, { shape: [2, 3], labelSmoothing: 0.1, weight: W });
    expectClose(r.grad!, [0.0412661507, 0.0893200506, -0.1305862013, -0.105885405, 0.1107812617, -0.0048958567], 1e-5, 1e-7);
  });
  test('1-D input [C] with probability targets is one row', () => {
    const r = crossEntropySync(Zp.subarray(0, 3), T.subarray(0, 3));
    expectClose(r.loss as number, 0.8076059644, 1e-6);
  });
});

function randomTargets(r: () => number, rows: number, C: number, ignoreFrac = 0.2): Int32Array {
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) y[i] = r() < ignoreFrac ? -100 : Math.floor(r() * C);
  return y;
}

function randomProbs(r: () => number, rows: number, C: number, inner: number): Float32Array {
  const t = new Float32Array(rows * C);
  for (let n = 0; n < rows / inner; n++)
    for (let s = 0; s < inner; s++) {
      let tot = 0;
      for (let c = 0; c < C; c++) tot += t[(n * C + c) * inner + s] = r();
      for (let c = 0; c < C; c++) t[(n * C + c) * inner + s] /= tot;
    }
  return t;
}

describe('float64 reference, random shapes', () => {
  const r = rng(11);
  const shapes: number[][] = [[7], [1, 1], [5, 3], [17, 33], [3, 100, 1], [4, 5, 3], [2, 7, 4, 5], [9, 1000], [3, 2049], [2, 17, 19]];
  for (const shape of shapes) {
    for (const eps of [0, 0.1]) {
      for (const weighted of [false, true]) {
        test(`[${shape}] eps=${eps}${weighted ? ' weight' : ''}: index and probability targets, all reductions`, () => {
          const n = shape.reduce((a, b) => a * b, 1);
          const C = shape.length === 1 ? shape[0] : shape[1];
          const inner = shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
          const rows = n / C;
          const x = uniform(r, n, -6, 6);
          const w = weighted ? uniform(r, C, 0.2, 2) : undefined;
          const y = randomTargets(r, rows, C);
          if (rows > 0 && y.every((v) => v === -100)) y[0] = 0;
          const t = randomProbs(r, rows, C, inner);
          const go = uniform(r, rows, -2, 2);
          for (const target of [y, t]) {
            for (const reduction of ['none', 'sum', 'mean'] as const) {
              const gradOutput = reduction === 'none' ? go : 0.75;
              const got = crossEntropySync(x, target, { shape, weight: w, labelSmoothing: eps, reduction, gradOutput });
              const ref = ceRef(x, shape, target, { weight: w, eps, reduction, gradOutput });
              if (reduction === 'none') expectClose(got.loss as Float32Array, ref.loss as Float64Array, 2e-5, 2e-6);
              else expectClose(got.loss as number, ref.loss as number, 2e-5, 1e-6);
              expectClose(got.grad!, ref.grad, 1e-4, 2e-6);
            }
          }
        });
      }
    }
  }
});

describe('gradients against central finite differences', () => {
  const r = rng(5);
  for (const [shape, prob] of [[[3, 5], false], [[2, 4, 3], false], [[3, 6], true], [[2, 3, 2], true]] as Array<[number[], boolean]>) {
    test(`[${shape}] ${prob ? 'probability' : 'index'} targets, eps 0.1, weight`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const C = shape[1];
      const inner = n / shape[0] / C;
      const x = uniform(r, n, -3, 3);
      const w = uniform(r, C, 0.5, 1.5);
      const target = prob ? randomProbs(r, n / C, C, inner) : Int32Array.from({ length: n / C }, (_, i) => (i === 1 ? -100 : (i * 2 + 1) % C));
      const opts = { shape, weight: w, labelSmoothing: 0.1 };
      const g = crossEntropySync(x, target, opts).grad!;
      // float64 finite differences of the float64 reference loss, and float32 ones of ours
      const h = 1e-3;
      for (let i = 0; i < n; i++) {
        const xp = Float64Array.from(x);
        const xm = Float64Array.from(x);
        xp[i] += h;
        xm[i] -= h;
        const fd = ((ceRef(xp, shape, target, { weight: w, eps: 0.1 }).loss as number) - (ceRef(xm, shape, target, { weight: w, eps: 0.1 }).loss as number)) / (2 * h);
        expect(Math.abs(g[i] - fd)).toBeLessThan(2e-5);
        const h32 = 1e-2;
        const a = Float32Array.from(x);
        const b = Float32Array.from(x);
        a[i] += h32;
        b[i] -= h32;
        const fd32 = ((crossEntropySync(a, target, opts).loss as number) - (crossEntropySync(b, target, opts).loss as number)) / (a[i] - b[i]);
        expect(Math.abs(g[i] - fd32)).toBeLessThan(2e-3);
      }
    });
  }
});

describe('edge cases', () => {
  test('extreme logits (+-1e4) stay finite and match the reference', () => {
    const x = Float32Array.from([1e4, -1e4, 0, -1e4, -1e4, 1e4, 1e4, 1e4, 1e4, -1e4, -1e4, -1e4]);
    const y = Int32Array.from([1, 2, 0, 1]);
    for (const eps of [0, 0.1]) {
      const got = crossEntropySync(x, y, { reduction: 'none', labelSmoothing: eps });
      const ref = ceRef(x, [4, 3], y, { reduction: 'none', eps });
      for (const v of [...(got.loss as Float32Array), ...got.grad!]) expect(Number.isFinite(v)).toBe(true);
      expectClose(got.loss as Float32Array, ref.loss as Float64Array, 1e-6, 1e-3);
      expectClose(got.grad!, ref.grad, 1e-6, 1e-6);
    }
  });
  test('-inf logits (masked classes) are allowed; an all -inf row is NaN', () => {
    const x = Float32Array.from([-Infinity, 1, 2, -Infinity, -Infinity, -Infinity]);
    const got = crossEntropySync(x, Int32Array.from([2, 0]), { reduction: 'none' });
    expectClose((got.loss as Float32Array)[0], Math.log1p(Math.exp(-1)), 1e-6);
    expect(got.grad![0]).toBe(0);
    expect(Number.isNaN((got.loss as Float32Array)[1])).toBe(true);
  });
  test('-inf logits in a leading block of a long row', () => {
    const C = 5000;
    const x = new Float32Array(C).fill(-Infinity);
    x[4500] = 1;
    x[4999] = 0;
    const got = crossEntropySync(x, Int32Array.of(4500));
    expectClose(got.loss as number, Math.log1p(Math.exp(-1)), 1e-6);
  });
  test('NaN logits give NaN', () => {
    const got = crossEntropySync(Float32Array.from([0, NaN, 1]), Int32Array.of(0));
    expect(Number.isNaN(got.loss as number)).toBe(true);
  });
  test('all rows ignored: mean NaN with a zero gradient, sum 0', () => {
    const y = Int32Array.from([-100, -100, -100, -100]);
    for (const eps of [0, 0.1]) {
      const m = crossEntropySync(Z, y, { labelSmoothing: eps, weight: W });
      expect(Number.isNaN(m.loss as number)).toBe(true);
      expect(Array.from(m.grad!).every((v) => v === 0)).toBe(true);
      expect(crossEntropySync(Z, y, { reduction: 'sum', labelSmoothing: eps }).loss).toBe(0);
    }
  });
  test('custom ignoreIndex inside [0, C)', () => {
    const got = crossEntropySync(Z, Int32Array.from([2, 0, 1, 1]), { ignoreIndex: 1 });
    const ref = ceRef(Z, [4, 3], Int32Array.from([2, 0, 1, 1]), { ignoreIndex: 1 });
    expectClose(got.loss as number, ref.loss as number, 1e-6);
    expectClose(got.grad!, ref.grad, 1e-5, 1e-7);
  });
  test('empty input: mean NaN, sum 0, none empty', () => {
    const e = new Float32Array(0);
    expect(Number.isNaN(crossEntropySync(e, new Int32Array(0), { shape: [0, 5] }).loss as number)).toBe(true);
    expect(crossEntropySync(e, new Int32Array(0), { shape: [0, 5], reduction: 'sum' }).loss).toBe(0);
    const n = crossEntropySync(e, new Int32Array(0), { shape: [0, 5], reduction: 'none' });
    expect((n.loss as Float32Array).length).toBe(0);
    expect(n.grad!.length).toBe(0);
    expect(Number.isNaN(crossEntropySync(e, e, { shape: [0, 3] }).loss as number)).toBe(true);
  });
  test('grad: false skips the gradient', () => {
    expect(crossEntropySync(Z, Y, { grad: false }).grad).toBeNull();
  });
});

describe('large vocabulary, in place, SIMD paths, threads', () => {
  const r = rng(99);
  const N = 8;
  const V = 131072;
  const x = uniform(r, N * V, -10, 10);
  x[3 * V + 77] = 40; // a peaked row
  const y = Int32Array.from({ length: N }, (_, i) => (i === 5 ? -100 : Math.floor(r() * V)));
  y[3] = 77;
  const w = uniform(r, V, 0.5, 1.5);

  test('[8, 131072] against the float64 reference (weight, eps 0.1, mean)', () => {
    const got = crossEntropySync(x, y, { weight: w, labelSmoothing: 0.1 });
    const ref = ceRef(x, [N, V], y, { weight: w, eps: 0.1 });
    expectClose(got.loss as number, ref.loss as number, 1e-5);
    expectClose(got.grad!, ref.grad, 1e-4, 1e-10);
  });
  test('[8, 131072] probability targets', () => {
    const t = randomProbs(r, N, V, 1);
    const got = crossEntropySync(x, t, { shape: [N, V], reduction: 'none' });
    const ref = ceRef(x, [N, V], t, { reduction: 'none' });
    expectClose(got.loss as Float32Array, ref.loss as Float64Array, 1e-5);
    expectClose(got.grad!, ref.grad, 1e-4, 1e-10);
  });
  test('inPlace writes the same bits over the logits', async () => {
    for (const opts of [{ weight: w, labelSmoothing: 0.1 }, {}]) {
      const out = crossEntropySync(x, y, opts);
      const copy = Float32Array.from(x);
      const inp = crossEntropySync(copy, y, { ...opts, inPlace: true });
      expect(inp.grad).toBe(copy);
      expect(inp.loss).toBe(out.loss);
      expect(Buffer.compare(Buffer.from(copy.buffer), Buffer.from(out.grad!.buffer))).toBe(0);
      const copy2 = Float32Array.from(x);
      const a = await crossEntropy(copy2, y, { ...opts, inPlace: true });
      expect(a.loss).toBe(out.loss);
      expect(Buffer.compare(Buffer.from(copy2.buffer), Buffer.from(out.grad!.buffer))).toBe(0);
    }
    const into = new Float32Array(x.length);
    const gi = crossEntropySync(x, y, { gradInto: into });
    expect(gi.grad).toBe(into);
    expect(Buffer.compare(Buffer.from(into.buffer), Buffer.from(crossEntropySync(x, y).grad!.buffer))).toBe(0);
    expect(thrown(() => crossEntropySync(x, y, { gradInto: new Float32Array(3) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    // [N, C, d]
    const xs = uniform(r, 4 * 9 * 5, -3, 3);
    const ys = Int32Array.from({ length: 20 }, (_, i) => i % 9);
    const o = crossEntropySync(xs, ys, { shape: [4, 9, 5], labelSmoothing: 0.2 });
    const c = Float32Array.from(xs);
    crossEntropySync(c, ys, { shape: [4, 9, 5], labelSmoothing: 0.2, inPlace: true });
    expect(Array.from(c)).toEqual(Array.from(o.grad!));
  });
  test('every SIMD path agrees with scalar; 1 and 2 threads are bit-identical', () => {
    const best = bitgrad.backend().cpu.simdBest;
    const paths = (['scalar', 'avx2', 'avx512'] as const).filter((p) => p === 'scalar' || p === 'avx2' || best === 'avx512');
    const cases: Array<[Float32Array, Int32Array | Float32Array, Record<string, unknown>]> = [
      [x, y, { weight: w, labelSmoothing: 0.1 }],
      [x, y, { reduction: 'none' }],
      [x.subarray(0, 6 * 1000 * 7), Int32Array.from({ length: 42 }, (_, i) => (i * 31) % 1000), { shape: [6, 1000, 7], labelSmoothing: 0.05 }],
      [x.subarray(0, 37 * 13), Int32Array.from({ length: 37 }, (_, i) => i % 13), { labelSmoothing: 0.3 }],
    ];
    try {
      for (const [xi, yi, opts] of cases) {
        bitgrad.setSimd('scalar');
        bitgrad.setNumThreads(1);
        const ref = crossEntropySync(xi, yi, opts);
        for (const p of paths) {
          bitgrad.setSimd(p);
          bitgrad.setNumThreads(1);
          const one = crossEntropySync(xi, yi, opts);
          bitgrad.setNumThreads(2);
          const two = crossEntropySync(xi, yi, opts);
          expect(Buffer.compare(Buffer.from(one.grad!.buffer, one.grad!.byteOffset, one.grad!.byteLength), Buffer.from(two.grad!.buffer))).toBe(0);
          expect(one.loss).toEqual(two.loss);
          if (typeof ref.loss === 'number') expectClose(one.loss as number, ref.loss, 2e-6);
          else expectClose(one.loss as Float32Array, ref.loss, 2e-6, 1e-6);
          expectClose(one.grad!, ref.grad!, 1e-5, 1e-9);
        }
      }
    } finally {
      bitgrad.setSimd('auto');
      bitgrad.setNumThreads(require('os').cpus().length);
    }
  });
});

describe('tensors on the CPU', () => {
  test('int32 and float32 target tensors, none / mean, in place', async () => {
    const xt = bitgrad.tensor(Z, [4, 3]);
    const yt = bitgrad.tensor(Y, [4]);
    const wt = bitgrad.tensor(W, [3]);
    const m = await crossEntropy(xt, yt, { weight: wt, labelSmoothing: 0.1 });
    expectClose(m.loss.dataSync()[0], INDEX_CASES[3].mean, 1e-6);
    expectClose(m.grad!.dataSync() as Float32Array, INDEX_CASES[3].grad, 1e-5, 1e-7);
    const n = crossEntropySync(xt, yt, { reduction: 'none', gradOutput: bitgrad.tensor(Float32Array.of(1, 2, 3, 4)) });
    expect(n.loss.shape).toEqual([4]);
    const ref = ceRef(Z, [4, 3], Y, { reduction: 'none', gradOutput: [1, 2, 3, 4] });
    expectClose(n.grad!.dataSync() as Float32Array, ref.grad, 1e-5, 1e-7);
    const pt = bitgrad.tensor(Float32Array.from([0.1, 0.2, 0.7, 1, 0, 0]), [2, 3]);
    const x2 = bitgrad.tensor(Float32Array.from([1, 2, 3, 0.5, 0.5, -1]), [2, 3]);
    expectClose(crossEntropySync(x2, pt).loss.dataSync()[0], 0.8032610746, 1e-6);
    const ip = crossEntropySync(x2, pt, { inPlace: true });
    expect(ip.grad).toBe(x2);
    for (const t of [xt, yt, wt, m.loss, m.grad!, n.loss, n.grad!, pt, x2, ip.loss]) t.dispose();
  });
  test('[N, C, d] tensor targets have shape [N, d]', () => {
    const xt = bitgrad.tensor(new Float32Array(24), [2, 3, 4]);
    const bad = bitgrad.tensor(new Int32Array(6), [2, 3]);
    expect(thrown(() => crossEntropySync(xt, bad)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    const good = bitgrad.tensor(new Int32Array(8), [2, 4]);
    const r = crossEntropySync(xt, good, { reduction: 'none' });
    expect(r.loss.shape).toEqual([2, 4]);
    expectClose(r.loss.dataSync() as Float32Array, new Array(8).fill(Math.log(3)), 1e-6);
    for (const t of [xt, bad, good, r.loss, r.grad!]) t.dispose();
  });
  test('bfloat16 logits are CUDA-only', () => {
    const xt = bitgrad.tensor(new Uint16Array(6), [2, 3], { dtype: 'bfloat16' });
    const yt = bitgrad.tensor(new Int32Array(2), [2]);
    expect(thrown(() => crossEntropySync(xt, yt)).code).toBe('BITGRAD_INVALID_DTYPE');
    xt.dispose();
    yt.dispose();
  });
});

describe('coded errors', () => {
  test('out-of-range target names the row and the value', async () => {
    const e = thrown(() => crossEntropySync(Z, Int32Array.from([2, 3, 0, 1])));
    expect(e).toBeInstanceOf(bitgrad.ValidationError);
    expect(e.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(e.index).toBe(1);
    expect(e.value).toBe(3);
    const big = new Float32Array(3 * 40000);
    const yb = new Int32Array(40000);
    yb[39999] = -1;
    const a = await rejected(crossEntropy(big, yb));
    expect(a.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(a.index).toBe(39999);
    expect(a.value).toBe(-1);
  });
  test('bad options', () => {
    expect(thrown(() => crossEntropySync(Z, Y, { labelSmoothing: 1.5 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => crossEntropySync(Z, Y, { labelSmoothing: -0.1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => crossEntropySync(Z, Z, { shape: [4, 3], ignoreIndex: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(crossEntropySync(Z, Z, { shape: [4, 3], ignoreIndex: -1 }).grad).not.toBeNull();
    expect(thrown(() => crossEntropySync(Z, Y, { weight: Float32Array.of(1, 2) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => crossEntropySync(Z, Y, { reduction: 'avg' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => crossEntropySync(Z, Int32Array.of(1, 2, 3, 4, 5))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => crossEntropySync(Z, Y, { shape: [4, 4] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => crossEntropySync(Z, Y, { reduction: 'none', gradOutput: 2 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => crossEntropySync(Z, Y, { inPlace: 1 as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => crossEntropySync(new Float64Array(3) as never, Y)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => crossEntropySync(Z, Y, { ignoreIndex: 0.5 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
});

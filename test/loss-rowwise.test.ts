// Row-wise research losses (lib/losses/rowwise.ts): every spec vector (shared/specs/
// losses.md Part 1b), float64 references on random shapes with every reduction, central
// finite differences of the references, extreme logits, empty inputs, NaN cases, errors.
import * as bitgrad from '../lib';
import { expectClose, rng, thrown, rejected, uniform } from './helpers';
import { RowRef, aldrRef, cbcRef, compSumRef, dexmlRef, kdRef, ldrRef, passRef, pldRef, rmtRef, zRef } from './rowwise-ref';

const L = bitgrad.losses;
const f32 = (a: number[]) => Float32Array.from(a);
const i32 = (a: number[]) => Int32Array.from(a);
const rowsOf = (x: Float32Array, C: number) => Array.from({ length: x.length / C }, (_, r) => Array.from(x.subarray(r * C, (r + 1) * C)));

type Sync = (...a: any[]) => { loss: number | Float32Array; grad: Float32Array | null };
type Async = (...a: any[]) => Promise<{ loss: number | Float32Array; grad: Float32Array | null }>;

interface Case {
  name: string;
  sync: Sync;
  async: Async;
  /** call arguments (before opts) for rows x [N, C] */
  args(r: () => number, N: number, C: number): { args: unknown[]; ref: (row: number) => RowRef };
  opts?: Record<string, unknown>;
  fdTol?: number;
}

function targets(r: () => number, N: number, C: number): Int32Array {
  return Int32Array.from({ length: N }, () => Math.floor(r() * C));
}

const CASES: Case[] = [
  {
    name: 'zLoss', sync: L.zLossSync, async: L.zLoss, opts: { a: 2, b: 0.5 },
    args: (r, N, C) => { const x = uniform(r, N * C, -3, 3); const y = targets(r, N, C); const xs = rowsOf(x, C); return { args: [x, y], ref: (i) => zRef(xs[i], y[i], 2, 0.5) }; },
  },
  ...[0, 0.5, 1, 1.7, 2].map((tau): Case => ({
    name: `compSumLoss tau ${tau}`, sync: L.compSumLossSync, async: L.compSumLoss, opts: { tau },
    args: (r, N, C) => { const x = uniform(r, N * C, -3, 3); const y = targets(r, N, C); const xs = rowsOf(x, C); return { args: [x, y], ref: (i) => compSumRef(xs[i], y[i], tau) }; },
  })),
  {
    name: 'generalizedCrossEntropy q 0.7', sync: L.generalizedCrossEntropySync, async: L.generalizedCrossEntropy,
    args: (r, N, C) => { const x = uniform(r, N * C, -3, 3); const y = targets(r, N, C); const xs = rowsOf(x, C); return { args: [x, y], ref: (i) => compSumRef(xs[i], y[i], 1.7) }; },
  },
  {
    name: 'rmtSymmetricCrossEntropy', sync: L.rmtSymmetricCrossEntropySync, async: L.rmtSymmetricCrossEntropy,
    args: (r, N, C) => { const x = uniform(r, N * C, -4, 4); const t = uniform(r, N * C, -4, 4); const xs = rowsOf(x, C), ts = rowsOf(t, C); return { args: [x, t], ref: (i) => rmtRef(xs[i], ts[i]) }; },
  },
  {
    name: 'kdLoss T 3', sync: L.kdLossSync, async: L.kdLoss, opts: { temperature: 3 },
    args: (r, N, C) => { const x = uniform(r, N * C, -6, 6); const t = uniform(r, N * C, -6, 6); const xs = rowsOf(x, C), ts = rowsOf(t, C); return { args: [x, t], ref: (i) => kdRef(xs[i], ts[i], 3) }; },
  },
  {
    name: 'decoupledSoftmax', sync: L.decoupledSoftmaxSync, async: L.decoupledSoftmax,
    args: (r, N, C) => {
      const x = uniform(r, N * C, -3, 3);
      const m = Float32Array.from({ length: N * C }, (_, k) => (k % C === 0 || r() < 0.3 ? 1 : 0));
      const xs = rowsOf(x, C), ms = rowsOf(m, C);
      return { args: [x, m], ref: (i) => dexmlRef(xs[i], ms[i]) };
    },
  },
  {
    name: 'plackettLuceDistillation T 2', sync: L.plackettLuceDistillationSync, async: L.plackettLuceDistillation, opts: { temperature: 2 },
    args: (r, N, C) => { const x = uniform(r, N * C, -3, 3); const t = uniform(r, N * C, -3, 3); const y = targets(r, N, C); const xs = rowsOf(x, C), ts = rowsOf(t, C); return { args: [x, t, y], ref: (i) => pldRef(xs[i], ts[i], y[i], 2) }; },
  },
  ...(['softplus', 'l1'] as const).map((scores): Case => ({
    name: `ldrKl ${scores}`, sync: L.ldrKlSync, async: L.ldrKl, opts: { margin: 0.5, lambda: 2, scores },
    args: (r, N, C) => { const x = uniform(r, N * C, -3, 3); const y = targets(r, N, C); const xs = rowsOf(x, C); return { args: [x, y], ref: (i) => ldrRef(xs[i], y[i], 0.5, 2, scores) }; },
  })),
  ...[1, 4, 16].map((n): Case => ({
    name: `passAtNLoss N ${n}`, sync: L.passAtNLossSync, async: L.passAtNLoss, opts: { n },
    args: (r, N, C) => { const x = uniform(r, N * C, -3, 3); const y = targets(r, N, C); const xs = rowsOf(x, C); return { args: [x, y], ref: (i) => passRef(xs[i], y[i], n) }; },
  })),
];

function shapeOpts(args: unknown[], N: number, C: number): Record<string, unknown> {
  return args.some((a) => a instanceof Int32Array) ? {} : { shape: [N, C] };
}

describe('row-wise losses against float64 references', () => {
  for (const c of CASES) {
    test(`${c.name}: none / sum / mean / upstream gradient on random shapes`, async () => {
      for (const [N, C, seed] of [[1, 2, 1], [5, 3, 2], [7, 10, 3], [3, 33, 4], [40, 129, 5]]) {
        const r = rng(seed * 101 + c.name.length);
        const { args, ref } = c.args(r, N, C);
        const base = { ...c.opts, ...shapeOpts(args, N, C) };
        const refs = Array.from({ length: N }, (_, i) => ref(i));
        const none = c.sync(...args, { ...base, reduction: 'none' });
        expectClose(none.loss as Float32Array, refs.map((x) => x.loss), 2e-5, 2e-6);
        expectClose(none.grad!, refs.flatMap((x) => x.grad), 2e-5, 2e-6);
        const total = refs.reduce((a, x) => a + x.loss, 0);
        const sum = c.sync(...args, { ...base, reduction: 'sum', gradOutput: 2 });
        expectClose(sum.loss as number, total, 2e-5, 2e-6 * N);
        expectClose(sum.grad!, refs.flatMap((x) => x.grad.map((g) => 2 * g)), 2e-5, 4e-6);
        const mean = await c.async(...args, base);
        expectClose(mean.loss as number, total / N, 2e-5, 2e-6);
        expectClose(mean.grad!, refs.flatMap((x) => x.grad.map((g) => g / N)), 2e-5, 2e-6 / N);
        const go = Float32Array.from({ length: N }, (_, i) => (i % 3) - 1);
        const up = c.sync(...args, { ...base, reduction: 'none', gradOutput: go });
        expectClose(up.grad!, refs.flatMap((x, i) => x.grad.map((g) => g * go[i])), 2e-5, 2e-6);
        const noGrad = c.sync(...args, { ...base, grad: false });
        expect(noGrad.grad).toBeNull();
        expect(noGrad.loss).toBe(mean.loss);
      }
    });

    test(`${c.name}: central finite differences of the reference match its gradient`, () => {
      const r = rng(77 + c.name.length);
      const N = 2, C = 6;
      const { args } = c.args(r, N, C);
      const x = args[0] as Float32Array;
      const h = 1e-6;
      for (let i = 0; i < N * C; i++) {
        const row = Math.floor(i / C);
        const at = (v: number) => {
          const xx = Float64Array.from(x);
          xx[i] = v;
          // rebuild the reference on the perturbed row through the same factory
          return refOn(c, args, xx, N, C)(row);
        };
        const fd = (at(x[i] + h).loss - at(x[i] - h).loss) / (2 * h);
        const g = refOn(c, args, Float64Array.from(x), N, C)(row).grad[i % C];
        expect(Math.abs(fd - g)).toBeLessThanOrEqual((c.fdTol ?? 1e-6) * (1 + Math.abs(g)));
      }
    });

    test(`${c.name}: tensors on the CPU, async = sync, empty input`, async () => {
      const r = rng(9);
      const N = 4, C = 5;
      const { args } = c.args(r, N, C);
      const tArgs = args.map((a, k) => (k === 0 || a instanceof Float32Array ? bitgrad.tensor(a as Float32Array, [N, C], { device: 'cpu' }) : bitgrad.tensor(a as Int32Array, [N], { device: 'cpu' })));
      const host = c.sync(...args, { ...c.opts, ...shapeOpts(args, N, C), reduction: 'none' });
      const t = (await (c.async as any)(...tArgs, { ...c.opts, reduction: 'none' })) as bitgrad.losses.RowLossTensorResult;
      expect(t.loss.shape).toEqual([N]);
      expect(t.grad!.shape).toEqual([N, C]);
      expect(Array.from(t.loss.dataSync())).toEqual(Array.from(host.loss as Float32Array));
      expect(Array.from(t.grad!.dataSync())).toEqual(Array.from(host.grad!));
      const ts = (c.sync as any)(...tArgs, { ...c.opts }) as bitgrad.losses.RowLossTensorResult;
      expect(ts.loss.shape).toEqual([]);
      // empty
      const emptyArgs = args.map((a) => (a instanceof Int32Array ? new Int32Array(0) : new Float32Array(0)));
      const eo = { ...c.opts, shape: [0, C] };
      expect((c.sync(...emptyArgs, { ...eo, reduction: 'none' }).loss as Float32Array).length).toBe(0);
      expect(c.sync(...emptyArgs, { ...eo, reduction: 'sum' }).loss).toBe(0);
      expect(c.sync(...emptyArgs, eo).loss).toBeNaN();
      // extreme logits: finite loss and gradient (comp-sum tau < 1 overflows by definition)
      const x = args[0] as Float32Array;
      const ext = Float32Array.from(x, (_, k) => (k % 3 === 0 ? 1e4 : k % 3 === 1 ? -1e4 : 0));
      const eargs = [ext, ...args.slice(1).map((a) => (a instanceof Float32Array && c.name.startsWith('decoupled') ? a : a instanceof Float32Array ? Float32Array.from(a, (_, k) => (k % 2 ? -1e4 : 1e4)) : a))];
      const big = c.sync(...eargs, { ...c.opts, ...shapeOpts(args, N, C), reduction: 'none' });
      const overflowOk = /tau 0(\.5)?$/.test(c.name);
      if (!overflowOk) {
        expect(Array.from(big.loss as Float32Array).every(Number.isFinite)).toBe(true);
        expect(Array.from(big.grad!).every(Number.isFinite)).toBe(true);
      } else {
        expect(Array.from(big.grad!).some(Number.isNaN)).toBe(false);
      }
    });
  }
});

// Re-evaluates a case's reference with row data replaced by xx (float64).
function refOn(c: Case, args: unknown[], xx: Float64Array, N: number, C: number): (row: number) => RowRef {
  const xs = Array.from({ length: N }, (_, r) => Array.from(xx.subarray(r * C, (r + 1) * C)));
  const o = c.opts ?? {};
  const other = args[1] instanceof Float32Array ? rowsOf(args[1], C) : undefined;
  const y = (args.find((a) => a instanceof Int32Array) as Int32Array | undefined) ?? new Int32Array(N);
  if (c.name.startsWith('zLoss')) return (i) => zRef(xs[i], y[i], 2, 0.5);
  if (c.name.startsWith('compSum')) return (i) => compSumRef(xs[i], y[i], o.tau as number);
  if (c.name.startsWith('generalized')) return (i) => compSumRef(xs[i], y[i], 1.7);
  if (c.name.startsWith('rmt')) return (i) => rmtRef(xs[i], other![i]);
  if (c.name.startsWith('kd')) return (i) => kdRef(xs[i], other![i], 3);
  if (c.name.startsWith('decoupled')) return (i) => dexmlRef(xs[i], other![i]);
  if (c.name.startsWith('plackett')) return (i) => pldRef(xs[i], other![i], y[i], 2);
  if (c.name.startsWith('ldrKl')) return (i) => ldrRef(xs[i], y[i], 0.5, 2, o.scores as 'softplus' | 'l1');
  if (c.name.startsWith('passAtN')) return (i) => passRef(xs[i], y[i], o.n as number);
  throw new Error(c.name);
}

describe('spec test vectors (shared/specs/losses.md Part 1b)', () => {
  const o = f32([1, 2, 3, 6]);
  test.each([
    [2, 1, 0, 0.6931471806, [0.0668153105, 0.0668153105, -0.2004459314, 0.0668153105]],
    [3, 1, 0, 0.1833023633, [-0.0159863844, 0.0031972769, 0.0223809381, -0.0095918306]],
    [3, 2, 1, 0.1308177182, [-0.0219734929, 0.0043946986, 0.030762890, -0.0131840957]],
    [0, 0.1, 10, 13.925199546, [-0.1865134182, 0.1578190462, 0.1004303021, -0.0717359301]],
  ])('zLoss c=%d a=%d b=%d', (c, a, b, loss, grad) => {
    const r = L.zLossSync(o, i32([c]), { a, b, reduction: 'sum' });
    expectClose(r.loss as number, loss, 1e-6, 1e-7);
    expectClose(r.grad!, grad, 1e-5, 1e-7);
    expectClose(zRef([1, 2, 3, 6], c, a, b).grad, grad, 1e-8, 1e-10);
  });
  test('zLoss: shift and scale invariance; all-equal row', () => {
    const r = L.zLossSync(f32([10, 13, 16, 25]), i32([3]), { a: 2, b: 1 });
    expectClose(r.loss as number, 0.1308177182, 1e-6, 1e-7);
    const eq = L.zLossSync(f32([5, 5, 5]), i32([1]), { reduction: 'none' });
    expectClose(eq.loss as Float32Array, [Math.log(2)], 1e-6, 0);
    expect(Array.from(eq.grad!).every(Number.isFinite)).toBe(true);
  });

  test.each([
    [0, 0.5032147244, [-0.5032147244, 0.3678794412, 0.1353352832]],
    [0.5, 0.4521131494, [-0.4104335271, 0.300050951, 0.1103825762]],
    [1, 0.4076059644, [-0.3347590442, 0.2447284711, 0.0900305732]],
    [1.7, 0.3546135578, [-0.2516619772, 0.1839796474, 0.0676823299]],
    [2, 0.3347590442, [-0.2226954265, 0.162803402, 0.0598920245]],
  ])('compSumLoss tau=%d', (tau, loss, grad) => {
    const r = L.compSumLossSync(f32([2, 1, 0]), i32([0]), { tau });
    expectClose(r.loss as number, loss, 1e-6, 1e-7);
    expectClose(r.grad!, grad, 1e-5, 1e-7);
  });
  test('generalizedCrossEntropy q=0.7 equals (1 - p^q)/q; q=0 equals crossEntropy', () => {
    const r = L.generalizedCrossEntropySync(f32([2, 1, 0]), i32([0]));
    expectClose(r.loss as number, (1 - 0.6652409558 ** 0.7) / 0.7, 1e-6, 1e-7);
    const r0 = L.generalizedCrossEntropySync(f32([2, 1, 0]), i32([0]), { q: 0 });
    expectClose(r0.loss as number, 0.4076059644, 1e-6, 1e-7);
  });

  test('rmtSymmetricCrossEntropy', () => {
    const r = L.rmtSymmetricCrossEntropySync(f32([1, 0, -1]), f32([0.5, 0.5, 0]));
    expectClose(r.loss as number, 1.1298430727, 1e-6, 1e-7);
    expectClose(r.grad!, [0.1258216062, -0.0749698912, -0.050851715], 1e-5, 1e-7);
  });

  test('kdLoss: T^2 KL, zero for equal logits, matches klDiv batchmean * T^2', () => {
    const s = f32([1, 2, 0, -1, 0.5, 0.5]), t = f32([0.5, 3, 1, -2, 0, 1]);
    const r = L.kdLossSync(s, t, { temperature: 2, shape: [2, 3] });
    const ref = [kdRef([1, 2, 0], [0.5, 3, 1], 2), kdRef([-1, 0.5, 0.5], [-2, 0, 1], 2)];
    expectClose(r.loss as number, (ref[0].loss + ref[1].loss) / 2, 1e-6, 1e-7);
    const z = L.kdLossSync(s, s, { shape: [2, 3] });
    expectClose(z.loss as number, 0, 0, 1e-7);
    expectClose(z.grad!, [0, 0, 0, 0, 0, 0], 0, 1e-7);
  });

  test('decoupledSoftmax', () => {
    const r = L.decoupledSoftmaxSync(f32([2, 1.5, 0.5, -1, 0.3, -0.2, 1, 0]), f32([1, 1, 0, 0, 0, 0, 1, 0]), { shape: [2, 4] });
    expectClose(r.loss as number, 0.5395749237, 1e-6, 1e-7);
    expectClose(r.grad!, [-0.0536007414, -0.0775819785, 0.1072516434, 0.0239310764, 0.1146499319, 0.0695386988, -0.2691233893, 0.0849347585], 1e-5, 1e-7);
  });

  test('plackettLuceDistillation (T = 1)', () => {
    const r = L.plackettLuceDistillationSync(f32([1, 2, 0, -1]), f32([0.5, 3, 1, -2]), i32([0]));
    expectClose(r.loss as number, 0.2699482309, 1e-6, 1e-7);
    expectClose(r.grad!, [-0.051170242, -0.0844250048, 0.0693955857, 0.0661996612], 1e-5, 1e-7);
    // translation invariance
    const s = L.plackettLuceDistillationSync(f32([11, 12, 10, 9]), f32([0.5, 3, 1, -2]), i32([0]));
    expectClose(s.loss as number, 0.2699482309, 1e-5, 1e-6);
  });

  test.each([
    [0.1, 1, -0.4041377398, [-0.2383652395, 0.2300375915, 0.1171201383]],
    [0.1, 10, -0.469688454, [-0.3035641174, 0.2697750493, 0.1791971366]],
    [2, 1, 0.9430826698, [-0.4142972484, 0.3998231512, 0.2035638717]],
  ])('ldrKl margin=%d lambda=%d', (margin, lambda, loss, grad) => {
    const r = L.ldrKlSync(f32([2, 1, 0]), i32([0]), { margin, lambda });
    expectClose(r.loss as number, loss, 1e-6, 1e-7);
    expectClose(r.grad!, grad, 1e-5, 1e-7);
  });
  test('ldrKl defaults are margin 2, lambda 1', () => {
    expectClose(L.ldrKlSync(f32([2, 1, 0]), i32([0])).loss as number, 0.9430826698, 1e-6, 1e-7);
  });

  test('AldrKl one step (L1 scores and softplus scores)', async () => {
    const a = new L.AldrKl({ nTrain: 5 });
    expect(Array.from(a.lambdas())).toEqual([10, 10, 10, 10, 10]);
    const r = a.lossSync(f32([2, 1, 0.5]), i32([0]), i32([3]));
    expectClose(r.loss as number, -0.6355399972, 1e-6, 1e-7);
    expectClose(a.lambdas()[3], 9.9934173756, 1e-7, 0);
    expect(a.lambdas()[0]).toBe(10);
    const ref = aldrRef([2, 1, 0.5], 0, 10, 10, 2, 0.1);
    expectClose(ref.kl, 1.4463504188e-3, 1e-8, 0);
    expectClose(r.grad!, ref.grad, 1e-5, 1e-7);
    const b = new L.AldrKl({ nTrain: 1, scores: 'softplus' });
    const s = await b.loss(f32([2, 1, 0.5]), i32([0]), i32([0]));
    expectClose(s.loss as number, -0.3747799253, 1e-6, 1e-7);
    expectClose(b.lambdas()[0], 9.9975169756, 1e-7, 0);
  });

  test('cbcLoss binary vector', () => {
    const x = f32([2, -1, 0, 0.5, -0.5, 0.5]), t = f32([3, 0, 0.2, 0, -2.5, 0.5]);
    const r = L.cbcLossSync(x, t, { shape: [3, 2] });
    expectClose(r.loss as number, 0.1809245195, 1e-6, 1e-7);
    expectClose(r.grad!, [-0.0237129366, 0.0237129366, 0, 0, 0.1344707107, -0.1344707107], 1e-5, 1e-7);
  });

  test.each([
    [0.3, 4, 0.2745684333, 0.5416502171],
    [0.9, 4, 1.0000500033e-4, 3.600360036e-3],
    [0.3, 1, 1.2039728043, 1],
  ])('passAtNLoss p=%d N=%d', (p, n, loss, F) => {
    // two classes with p_y = p
    const x = f32([Math.log(p / (1 - p)), 0]);
    const r = L.passAtNLossSync(x, i32([0]), { n });
    expectClose(r.loss as number, loss, 2e-5, 1e-9);
    expectClose(r.grad!, [F * (p - 1), F * (1 - p)], 2e-5, 1e-9);
  });
  test('passAtNLoss: p -> 0 stays finite (log N + log p asymptote); p = 1 gives 0', () => {
    const r = L.passAtNLossSync(f32([-1e4, 0]), i32([0]), { n: 8, reduction: 'none' });
    expectClose(r.loss as Float32Array, [1e4 - Math.log(8)], 1e-6, 0);
    expectClose(r.grad!, [-1, 1], 1e-6, 0);
    const one = L.passAtNLossSync(f32([1e4, 0]), i32([0]), { n: 8 });
    expect(one.loss).toBe(0);
    expectClose(one.grad!, [0, 0], 0, 1e-12);
  });
});

describe('cbcLoss against the float64 reference', () => {
  test.each([[2], [4], [7]])('C = %d: mean (per-mask), sum and none', (C) => {
    const r = rng(C * 13);
    const N = 50;
    const x = uniform(r, N * C, -3, 3);
    const t = uniform(r, N * C, -5, 5);
    const ref = cbcRef(rowsOf(x, C), rowsOf(t, C));
    const m = L.cbcLossSync(x, t, { shape: [N, C] });
    expectClose(m.loss as number, ref.mean, 2e-5, 1e-6);
    expectClose(m.grad!, ref.gradMean.flat(), 2e-5, 1e-6);
    const n = L.cbcLossSync(x, t, { shape: [N, C], reduction: 'none' });
    expectClose(n.loss as Float32Array, ref.rows, 2e-5, 1e-6);
    expectClose(n.grad!, ref.gradRows.flat(), 2e-5, 1e-6);
    const s = L.cbcLossSync(x, t, { shape: [N, C], reduction: 'sum' });
    expectClose(s.loss as number, ref.rows.reduce((a, v) => a + v, 0), 2e-5, 1e-5);
  });
  test('finite differences of the reference (mean form) match its gradient', () => {
    const r = rng(5);
    const N = 6, C = 4;
    const x = uniform(r, N * C, -2, 2);
    const t = uniform(r, N * C, -5, 5);
    const ts = rowsOf(t, C);
    const g = cbcRef(rowsOf(x, C), ts).gradMean.flat();
    const h = 1e-6;
    for (let i = 0; i < N * C; i++) {
      const xp = Array.from(x), xm = Array.from(x);
      xp[i] += h;
      xm[i] -= h;
      const f = (v: number[]) => cbcRef(Array.from({ length: N }, (_, k) => v.slice(k * C, (k + 1) * C)), ts).mean;
      expect(Math.abs((f(xp) - f(xm)) / (2 * h) - g[i])).toBeLessThan(1e-6);
    }
  });
  test('empty masks give 0; extreme logits stay finite; empty input', () => {
    const r = L.cbcLossSync(f32([1, 2, 3]), f32([0, 0, 0]), { shape: [1, 3] });
    expect(r.loss).toBe(0);
    expect(Array.from(r.grad!)).toEqual([0, 0, 0]);
    const e = L.cbcLossSync(f32([1e4, -1e4, 0, -1e4, 1e4, 0]), f32([1e4, -1e4, 0, 0, 1e4, -1e4]), { shape: [2, 3] });
    expect(Number.isFinite(e.loss as number)).toBe(true);
    expect(Array.from(e.grad!).every(Number.isFinite)).toBe(true);
    expect(L.cbcLossSync(new Float32Array(0), new Float32Array(0), { shape: [0, 2] }).loss).toBe(0);
  });
});

describe('AldrKl state', () => {
  test('lambdas update only at the batch indices and follow the reference over steps', () => {
    const a = new L.AldrKl({ nTrain: 10, lambda0: 5, alpha: 3, margin: 0.2, scores: 'softplus' });
    const r = rng(3);
    const lam = new Float64Array(10).fill(5);
    for (let step = 0; step < 3; step++) {
      const x = uniform(r, 4 * 6, -3, 3);
      const y = targets(r, 4, 6);
      const idx = i32([step, 9 - step, 4 + (step % 2), 3]); // distinct within a batch
      const got = a.lossSync(x, y, idx, { reduction: 'none' });
      const xs = rowsOf(x, 6);
      const refs = xs.map((row, i) => aldrRef(row, y[i], lam[idx[i]], 5, 3, 0.2, 'softplus'));
      expectClose(got.loss as Float32Array, refs.map((q) => q.loss), 2e-5, 2e-6);
      expectClose(got.grad!, refs.flatMap((q) => q.grad), 2e-5, 2e-6);
      refs.forEach((q, i) => (lam[idx[i]] = Math.fround(q.lambda)));
      expectClose(a.lambdas(), lam, 1e-6, 0);
    }
  });
  test('errors: nTrain, alpha, bad sample index, C = 1', () => {
    expect(thrown(() => new L.AldrKl({ nTrain: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => new L.AldrKl({ nTrain: 3, alpha: 1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => new (L.AldrKl as any)()).code).toBe('BITGRAD_INVALID_ARGUMENT');
    const a = new L.AldrKl({ nTrain: 3 });
    const e = thrown(() => a.lossSync(f32([1, 2, 3, 4]), i32([0, 1]), i32([0, 3])));
    expect(e.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect(e.index).toBe(1);
    expect(e.value).toBe(3);
    expect(thrown(() => a.lossSync(f32([1, 2]), i32([0, 0]), i32([0, 1]))).code).toBe('BITGRAD_INVALID_SHAPE');
    expect(thrown(() => a.lossSync(f32([1, 2, 3, 4]), i32([0, 1]), i32([0]))).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
});

describe('errors', () => {
  test('out-of-range targets carry index and value (sync and async)', async () => {
    const e = thrown(() => L.zLossSync(f32([1, 2, 3, 4]), i32([0, 2])));
    expect(e.code).toBe('BITGRAD_TARGET_OUT_OF_RANGE');
    expect([e.index, e.value]).toEqual([1, 2]);
    const big = new Float32Array(40000 * 2);
    const y = new Int32Array(40000);
    y[12345] = -1;
    const ea = await rejected(L.passAtNLoss(big, y));
    expect([ea.code, ea.index, ea.value]).toEqual(['BITGRAD_TARGET_OUT_OF_RANGE', 12345, -1]);
  });
  test('decoupledSoftmax rejects a mask value that is not 0 / 1', () => {
    const e = thrown(() => L.decoupledSoftmaxSync(f32([1, 2, 3, 4]), f32([1, 0, 0, 0.5]), { shape: [2, 2] }));
    expect([e.code, e.index, e.value]).toEqual(['BITGRAD_TARGET_OUT_OF_RANGE', 1, 1]);
  });
  test('bad options and shapes are coded', () => {
    expect(thrown(() => L.zLossSync(f32([1, 2]), i32([0]), { a: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.compSumLossSync(f32([1, 2]), i32([0]), { tau: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.generalizedCrossEntropySync(f32([1, 2]), i32([0]), { q: 2 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.kdLossSync(f32([1, 2]), f32([1, 2]), { temperature: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.kdLossSync(f32([1, 2]), f32([1]))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.passAtNLossSync(f32([1, 2]), i32([0]), { n: 0.5 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.ldrKlSync(f32([1, 2]), i32([0]), { scores: 'x' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => L.zLossSync(f32([1, 2, 3]), i32([0, 1]))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => L.zLossSync(f32([1, 2]), f32([0]) as never)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => L.rmtSymmetricCrossEntropySync(f32([1, 2]), f32([1, 2]), { shape: [1, 1, 2] })).code).toBe('BITGRAD_INVALID_SHAPE');
    expect(thrown(() => L.rmtSymmetricCrossEntropySync(f32([]), f32([]), { shape: [2, 0] })).code).toBe('BITGRAD_INVALID_SHAPE');
    expect(thrown(() => L.zLossSync(f32([1, 2]), i32([0]), { reduction: 'none', gradOutput: 2 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
  test('documented NaN: ldrKl with L1 scores on an all-zero row; NaN logits propagate', () => {
    const r = L.ldrKlSync(f32([0, 0, 0]), i32([0]), { scores: 'l1' });
    expect(r.loss).toBeNaN();
    expect(L.zLossSync(f32([NaN, 1]), i32([0])).loss).toBeNaN();
    expect(L.kdLossSync(f32([NaN, 1]), f32([0, 1])).loss).toBeNaN();
  });
  test('the result is bit-identical for any thread count', () => {
    const r = rng(1);
    const x = uniform(r, 3000 * 40, -5, 5);
    const y = targets(r, 3000, 40);
    const a = L.ldrKlSync(x, y);
    bitgrad.setNumThreads(1);
    const b = L.ldrKlSync(x, y);
    bitgrad.setNumThreads(require('os').cpus().length);
    expect(b.loss).toBe(a.loss);
    expect(Buffer.compare(Buffer.from(a.grad!.buffer), Buffer.from(b.grad!.buffer))).toBe(0);
  });
});

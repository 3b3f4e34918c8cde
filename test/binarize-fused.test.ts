// Fused binarize + pack: binarizeAndPack / binarizeAndPackSync must equal
// pack(estimator.forward(x)) bit for bit for every layout and input order, each SIMD
// path and 1 / 2 threads; rsign's per-channel / scalar thresholds; NaN (in x or from
// x - alpha) -> BITGRAD_NAN_IN_PACK with the input-order index; coded errors.
import * as bitgrad from '../lib';
import { rejected, rng, thrown } from './helpers';

const { binarizeAndPack, binarizeAndPackSync, packSync, pack } = bitgrad.binarize;
type Layout = 'nhwc' | 'weights' | 'rows';

/** Floats in [-1.5, 1.5) with exact 0 / -0, +-Inf and huge values sprinkled in. */
function values(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  const special = [0, -0, Infinity, -Infinity, 3e38, -3e38, 1e-45, -1e-45];
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < 0.04 ? special[Math.floor(r() * special.length)] : r() * 3 - 1.5;
  }
  return out;
}

function alphaFor(seed: number, k: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(k);
  for (let i = 0; i < k; i++) a[i] = i % 7 === 0 ? 0 : r() - 0.5;
  return a;
}

function sameWords(got: BigUint64Array, want: BigUint64Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`word ${i}: got ${got[i].toString(16)}, want ${want[i].toString(16)}`);
}

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

const SHAPES: [string, number[], Layout, 'nhwc' | 'nchw'][] = [
  ['NHWC C=1', [3, 5, 7, 1], 'nhwc', 'nhwc'],
  ['NHWC C=65', [2, 9, 9, 65], 'nhwc', 'nhwc'],
  ['NHWC C=513', [2, 4, 5, 513], 'nhwc', 'nhwc'],
  ['weights C=63', [4, 3, 3, 63], 'weights', 'nhwc'],
  ['NCHW C=3', [2, 3, 17, 19], 'nhwc', 'nchw'],
  ['NCHW C=65', [2, 65, 9, 11], 'nhwc', 'nchw'],
  ['OIHW weights C=130', [5, 130, 3, 3], 'weights', 'nchw'],
  ['NCHW big', [2, 70, 40, 40], 'nhwc', 'nchw'],
  ['NCHW long planes', [2, 20, 70, 70], 'nhwc', 'nchw'],
  ['rows K=100', [37, 100], 'rows', 'nhwc'],
  ['rows big', [300, 1000], 'rows', 'nhwc'],
];

/** Channel axis (of the input order) that is packed. */
function packedAxis(shape: number[], layout: Layout, inputLayout: 'nhwc' | 'nchw'): { axis: number; k: number } {
  if (layout === 'rows') return { axis: shape.length - 1, k: shape[shape.length - 1] };
  return inputLayout === 'nchw' ? { axis: 1, k: shape[1] } : { axis: 3, k: shape[3] };
}

describe('equals pack(estimator.forward(x)) on every path', () => {
  const PATHS = ['scalar', 'avx2', 'avx512'] as const;
  test.each(SHAPES)('%s', (_name, shape, layout, inputLayout) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = values(n + 1, n);
    const { axis, k } = packedAxis(shape, layout, inputLayout);
    const alpha = alphaFor(k, k);
    // Exact ties x == alpha_c and one-ulp neighbours on the first row of channels.
    if (layout === 'rows' || inputLayout === 'nhwc') for (let c = 0; c < k; c++) x[c] = alpha[c];
    const refs: [string, Record<string, unknown>, BigUint64Array][] = [];
    bitgrad.setSimd('scalar');
    for (const est of ['ste', 'approxSign', 'fda', 'elastic'] as const) {
      const o = est === 'elastic' ? { shape, alpha: 0.5 } : { shape };
      const f = (bitgrad.binarize[est] as bitgrad.binarize.Estimator<any, unknown>).forwardSync(x, o);
      const b = packSync(f as Float32Array, { layout, inputLayout, shape });
      refs.push([est, est === 'elastic' ? { estimator: bitgrad.binarize.elastic, alpha: 0.5 } : { estimator: est }, b.dataSync()]);
      b.dispose();
    }
    for (const a of [alpha, 0.25, Float32Array.of(-0.125)]) {
      const f = bitgrad.binarize.rsign.forwardSync(x, { shape, alpha: a, channelAxis: axis });
      const b = packSync(f, { layout, inputLayout, shape });
      refs.push(['rsign', { estimator: bitgrad.binarize.rsign, alpha: a }, b.dataSync()]);
      b.dispose();
    }
    for (const path of PATHS) {
      const info = bitgrad.setSimd(path);
      if (info.simd !== path) continue; // the CPU lacks it
      for (const threads of [1, 2]) {
        bitgrad.setNumThreads(threads);
        for (const [name, o, want] of refs) {
          const b = binarizeAndPackSync(x, { layout, inputLayout, shape, ...o });
          try {
            sameWords(b.dataSync(), want);
          } catch (e) {
            throw new Error(`${name} on ${path} x${threads}: ${(e as Error).message}`);
          }
          b.dispose();
        }
      }
    }
    bitgrad.setSimd('auto');
  });

  test('async, tensor input and tensor alpha', async () => {
    const shape = [2, 33, 30, 30];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = values(5, n);
    const alpha = alphaFor(9, 33);
    const xt = bitgrad.tensor(x, shape);
    const at = bitgrad.tensor(alpha, [33]);
    const f = bitgrad.binarize.rsign.forwardSync(xt, { alpha: at });
    const want = packSync(f, { layout: 'nhwc', inputLayout: 'nchw' });
    const got = await binarizeAndPack(xt, { layout: 'nhwc', inputLayout: 'nchw', estimator: 'rsign', alpha: at });
    sameWords(got.dataSync(), want.dataSync());
    expect(got.shape).toEqual([2, 30, 30, 33]);
    const plain = await binarizeAndPack(xt, { layout: 'nhwc', inputLayout: 'nchw' });
    const plainWant = await pack(xt, { layout: 'nhwc', inputLayout: 'nchw' });
    sameWords(plain.dataSync(), plainWant.dataSync());
    for (const t of [xt, at, f, want, got, plain, plainWant]) t.dispose();
  });
});

describe('NaN', () => {
  test('NaN in x: coded error with the input-order index (sync and async, every path)', async () => {
    const shape = [4, 65, 16, 16];
    const n = shape.reduce((a, b) => a * b, 1);
    for (const path of ['scalar', 'avx2', 'avx512'] as const) {
      bitgrad.setSimd(path);
      const x = values(3, n);
      x[n - 1] = NaN;
      x[12345] = NaN;
      const e = thrown(() => binarizeAndPackSync(x, { layout: 'nhwc', inputLayout: 'nchw', shape, estimator: 'rsign', alpha: 0.1 }));
      expect(e.code).toBe('BITGRAD_NAN_IN_PACK');
      expect(e.index).toBe(12345);
      const e2 = await rejected(binarizeAndPack(x, { layout: 'nhwc', shape: [4, 16, 16, 65] }));
      expect(e2.code).toBe('BITGRAD_NAN_IN_PACK');
      expect(e2.index).toBe(12345);
    }
    bitgrad.setSimd('auto');
  });

  test('inf - inf and a NaN threshold are NaN too', () => {
    const x = Float32Array.of(0.5, Infinity, -1, 2);
    const e = thrown(() => binarizeAndPackSync(x, { layout: 'rows', shape: [1, 4], estimator: 'rsign', alpha: Float32Array.of(0, Infinity, 0, 0) }));
    expect(e.code).toBe('BITGRAD_NAN_IN_PACK');
    expect(e.index).toBe(1);
    const e2 = thrown(() => binarizeAndPackSync(x, { layout: 'rows', shape: [2, 2], estimator: 'rsign', alpha: Float32Array.of(0, NaN) }));
    expect(e2.index).toBe(1);
  });
});

describe('argument errors', () => {
  const x = new Float32Array(8);
  test.each([
    [{ layout: 'rows', estimator: 'biper' }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 'nope' }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 42 }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', zeroMode: 'zero' }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 'elastic', mode: 'ternary' }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 'rsign' }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 'ste', alpha: 1 }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 'rsign', alpha: NaN }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', estimator: 'rsign', alpha: 'x' }, 'BITGRAD_INVALID_ARGUMENT'],
    [{ layout: 'rows', shape: [2, 4], estimator: 'rsign', alpha: new Float32Array(3) }, 'BITGRAD_SHAPE_MISMATCH'],
    [{ layout: 'nhwc' }, 'BITGRAD_INVALID_SHAPE'],
    [undefined, 'BITGRAD_INVALID_ARGUMENT'],
  ])('%j -> %s', async (opts, code) => {
    expect(thrown(() => binarizeAndPackSync(x, opts as never)).code).toBe(code);
    expect((await rejected(binarizeAndPack(x, opts as never))).code).toBe(code);
  });
});

describe('rsign / elastic parameter gradient fused into the main pass', () => {
  // [shape, channelAxis]: NCHW (channel runs of >= 256: one alpha per kernel call, the
  // sum in the kernel's registers), short runs and NHWC (fused per-(block, channel)
  // partials from per-element scratch), and a last-axis parameter with very many
  // channels (the two-pass fallback).
  const CASES: [string, number[], number][] = [
    ['NCHW', [3, 40, 70, 70], 1],
    ['NCHW, short runs', [40, 6, 10, 10], 1],
    ['NHWC', [3, 70, 70, 40], 3],
    ['many channels', [3, 30000], 1],
    ['small', [2, 3, 5], 1],
  ];
  test.each(CASES)('%s: same bits for 1 / 2 threads and every path, close to a float64 sum', (_name, shape, axis) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = values(n, n);
    for (let i = 0; i < n; i++) if (!Number.isFinite(x[i]) || Math.abs(x[i]) > 10) x[i] = 0.25;
    const gr = rng(7);
    const g = new Float32Array(n).map(() => gr() - 0.5);
    const C = shape[axis];
    const alpha = alphaFor(C, C);
    let div = 1;
    for (let j = axis + 1; j < shape.length; j++) div *= shape[j];
    const want = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / div) % C;
      const y = Math.fround(x[i] - alpha[c]);
      want[c] -= Math.fround(g[i] * Math.max(0, 2 - 2 * Math.abs(y)));
    }
    let first: Float32Array | undefined;
    for (const path of ['scalar', 'avx2', 'avx512'] as const) {
      if (bitgrad.setSimd(path).simd !== path) continue;
      for (const threads of [1, 2]) {
        bitgrad.setNumThreads(threads);
        const { alphaGrad } = bitgrad.binarize.rsign.backwardSync(x, g, { shape, alpha, channelAxis: axis });
        const got = alphaGrad as Float32Array;
        if (path === 'scalar' && threads === 1) {
          first = got;
          for (let c = 0; c < C; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[c])));
        } else {
          for (let c = 0; c < C; c++) if (!Object.is(got[c], first![c])) throw new Error(`${path} x${threads}: channel ${c} ${got[c]} != ${first![c]}`);
        }
      }
    }
    // Elastic with one alpha (binary: dalpha = s sum g sign(x)), the whole block a single run.
    let ewant = 0;
    for (let i = 0; i < n; i++) ewant += Math.fround(Math.fround(g[i] * 0.25) * (x[i] >= 0 ? 1 : -1));
    let efirst: Float32Array | undefined;
    for (const path of ['scalar', 'avx2', 'avx512'] as const) {
      if (bitgrad.setSimd(path).simd !== path) continue;
      for (const threads of [1, 2]) {
        bitgrad.setNumThreads(threads);
        const got = bitgrad.binarize.elastic.backwardSync(x, g, { shape, alpha: 0.5, gradScale: 0.25 }).alphaGrad as Float32Array;
        if (!efirst) {
          efirst = got;
          expect(Math.abs(got[0] - ewant)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ewant)));
        } else if (!Object.is(got[0], efirst[0])) {
          throw new Error(`elastic ${path} x${threads}: ${got[0]} != ${efirst[0]}`);
        }
      }
    }
    bitgrad.setSimd('auto');
    bitgrad.setNumThreads(require('os').cpus().length);
  });
});

describe('BiBench XNOR activations: per-sample beta = mean |I| (spec §1.3)', () => {
  test('forward beta_n sign(I), backward clamp STE times beta_n', async () => {
    const [N, C, H, W] = [3, 4, 5, 6];
    const n = N * C * H * W;
    const r = rng(11);
    const I = new Float32Array(n).map(() => r() * 3 - 1.5);
    I[7] = 0;
    const per = C * H * W;
    const beta = new Float64Array(N);
    for (let i = 0; i < n; i++) beta[Math.floor(i / per)] += Math.abs(I[i]) / per;
    const { out, alpha } = bitgrad.binarize.xnorActivation.forwardSync(I, { shape: [N, C, H, W] });
    for (let s = 0; s < N; s++) expect(Math.abs(alpha[s] - beta[s])).toBeLessThanOrEqual(1e-6);
    for (let i = 0; i < n; i++) expect(out[i]).toBe(Math.fround(alpha[Math.floor(i / per)] * (I[i] >= 0 ? 1 : -1)));
    const g = new Float32Array(n).fill(1);
    const { grad } = await bitgrad.binarize.xnorActivation.backward(I, g, { shape: [N, C, H, W] });
    for (let i = 0; i < n; i++) expect(grad[i]).toBe(Math.abs(I[i]) <= 1 ? alpha[Math.floor(i / per)] : 0);
    // Spec §1.3 test vector rows: all-zero sample -> beta 0, output 0.
    const z = bitgrad.binarize.xnorActivation.forwardSync(new Float32Array(8), { shape: [2, 4] });
    expect(Array.from(z.alpha)).toEqual([0, 0]);
  });
});

// XNOR GEMM: exact equality with a float ±1 GEMM computed here, for K around the word
// sizes, every SIMD path and thread count, sync and async; the float / bits epilogues
// against float64; coded errors.
import * as bitgrad from '../lib';
import { rejected, thrown } from './helpers';
import { expectSameInts, expectSameWords, fmaf32, packFlags, randomFloats, refGemm, signs } from './xnor-ref';

const { packSync, BitTensor } = bitgrad.binarize;
const { gemm, gemmSync } = bitgrad.xnor;
const PATHS = ['scalar', 'avx2', 'avx512'] as const;

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

function operands(seed: number, m: number, n: number, k: number) {
  const af = randomFloats(seed, m * k);
  const bf = randomFloats(seed + 1, n * k);
  const a = packSync(af, { layout: 'rows', shape: [m, k] });
  const b = packSync(bf, { layout: 'rows', shape: [n, k] });
  return { a, b, as: signs(af), bs: signs(bf) };
}

describe('int32 output equals the ±1 reference', () => {
  const SHAPES: [number, number, number][] = [
    [1, 1, 1], [3, 5, 63], [7, 6, 64], [9, 13, 65], [64, 7, 127], [65, 12, 128], [70, 19, 257], [130, 37, 700], [5, 200, 1000],
    // K past the AVX-512 direct path's one-pass limit (96 words): the tile path with K chunks.
    [20, 70, 6145], [67, 33, 12000],
  ];
  for (const path of PATHS)
    for (const [m, n, k] of SHAPES)
      test(`${path} M=${m} N=${n} K=${k}`, () => {
        bitgrad.setSimd(path);
        const { a, b, as, bs } = operands(m * 1000 + n + k, m, n, k);
        const out = gemmSync(a, b);
        expect(out.dtype).toBe('int32');
        expect(out.shape).toEqual([m, n]);
        expectSameInts(out.dataSync() as Int32Array, refGemm(as, bs, m, n, k), `${path} ${m}x${n}x${k}`);
        a.dispose();
        b.dispose();
        out.dispose();
      });
});

test('async, 1 and 2 threads and every path give the same integers on a large GEMM', async () => {
  const m = 300, n = 260, k = 3000;
  const { a, b, as, bs } = operands(99, m, n, k);
  const want = refGemm(as, bs, m, n, k);
  for (const path of PATHS)
    for (const threads of [1, 2]) {
      bitgrad.setSimd(path);
      bitgrad.setNumThreads(threads);
      const out = await gemm(a, b);
      expectSameInts(out.dataSync() as Int32Array, want, `${path} ${threads} thread(s)`);
      out.dispose();
    }
  bitgrad.setSimd('auto');
  a.dispose();
  b.dispose();
});

test('leading dims of rows operands flatten into M and N', () => {
  const af = randomFloats(5, 2 * 3 * 70);
  const bf = randomFloats(6, 4 * 70);
  const a = packSync(af, { layout: 'rows', shape: [2, 3, 70] });
  const b = packSync(bf, { layout: 'rows', shape: [4, 70] });
  const out = gemmSync(a, b);
  expect(out.shape).toEqual([6, 4]);
  expectSameInts(out.dataSync() as Int32Array, refGemm(signs(af), signs(bf), 6, 4, 70));
});

describe('epilogues', () => {
  const m = 37, n = 70, k = 193;
  const { a, b, as, bs } = operands(7, m, n, k);
  const acc = refGemm(as, bs, m, n, k);
  const scale = new Float32Array(n).map((_, i) => (i % 5 === 0 ? -0.5 : i % 3 === 0 ? 1 : 0.25 + i / 64));
  const bias = new Float32Array(n).map((_, i) => (i % 4) - 2 + (i % 7 === 0 ? 0.5 : 0));
  afterAll(() => {
    a.dispose();
    b.dispose();
  });

  for (const path of PATHS)
    test(`float: acc * scale + bias (+ residual), ${path}`, async () => {
      bitgrad.setSimd(path);
      const residual = randomFloats(8, m * n);
      const out = await gemm(a, b, { outputType: 'float', scale, bias, residual });
      expect(out.dtype).toBe('float32');
      const got = out.dataSync() as Float32Array;
      for (let i = 0; i < m * n; i++) {
        const c = i % n;
        const want = Math.fround(fmaf32(acc[i], scale[c], bias[c]) + residual[i]);
        if (got[i] !== want) throw new Error(`element ${i}: got ${got[i]}, want ${want}`);
      }
      out.dispose();
    });

  test('float with scalar scale and default bias, no residual', () => {
    const out = gemmSync(a, b, { outputType: 'float', scale: 0.125 });
    const got = out.dataSync() as Float32Array;
    for (let i = 0; i < m * n; i++) expect(got[i]).toBe(Math.fround(acc[i] * 0.125));
    out.dispose();
  });

  for (const path of PATHS)
    test(`bits: acc * scale + bias >= 0 (negative scales and exact ties), ${path}`, () => {
      bitgrad.setSimd(path);
      // Integer biases on integer accumulators give exact zeros: they must count as >= 0.
      const tieBias = new Float32Array(n).map((_, c) => -acc[c]);
      for (const [s, bb] of [[scale, bias], [scale, tieBias]] as const) {
        const out = gemmSync(a, b, { outputType: 'bits', scale: s, bias: bb });
        expect(out).toBeInstanceOf(BitTensor);
        expect(out.layout).toBe('rows');
        expect(out.shape).toEqual([m, n]);
        const flags = new Uint8Array(m * n);
        for (let i = 0; i < m * n; i++) flags[i] = acc[i] * s[i % n] + bb[i % n] >= 0 ? 1 : 0;
        expectSameWords(out.dataSync(), packFlags(flags, m, n));
        out.dispose();
      }
    });

  test('float rounds acc * scale + bias once (fmaf), on every path', () => {
    // acc = 3, scale = 1 + 2^-23, bias = -2^-60: the exact value is 3 + 1.5 ulp - tiny,
    // which rounds to 3 + 1 ulp; through float64 first it would become the tie 3 + 1.5 ulp
    // and round to even, 3 + 2 ulp.
    const ones = bitgrad.binarize.packSync(new Float32Array(3).fill(1), { layout: 'rows', shape: [1, 3] });
    const s = Math.fround(1 + 2 ** -23);
    const want = Math.fround(3 + 2 ** -22);
    expect(fmaf32(3, s, -(2 ** -60))).toBe(want);
    expect(Math.fround(3 * s - 2 ** -60)).not.toBe(want);
    for (const path of PATHS) {
      bitgrad.setSimd(path);
      const out = gemmSync(ones, ones, { outputType: 'float', scale: s, bias: -(2 ** -60) });
      expect([path, out.dataSync()[0]]).toEqual([path, want]);
      out.dispose();
    }
    ones.dispose();
  });

  test('scale and bias as tensors', () => {
    const st = bitgrad.tensor(scale, [n], { device: 'cpu' });
    const bt = bitgrad.tensor(bias, [n], { device: 'cpu' });
    const out = gemmSync(a, b, { outputType: 'float', scale: st, bias: bt });
    const got = out.dataSync() as Float32Array;
    for (let i = 0; i < m * n; i++) expect(got[i]).toBe(fmaf32(acc[i], scale[i % n], bias[i % n]));
    out.dispose();
    st.dispose();
    bt.dispose();
  });
});

describe('errors', () => {
  const { a, b } = operands(1, 4, 5, 70);
  const k69 = packSync(randomFloats(3, 5 * 69), { layout: 'rows', shape: [5, 69] });
  const x4 = packSync(randomFloats(3, 2 * 2 * 2 * 70), { layout: 'nhwc', shape: [2, 2, 2, 70] });
  test('mismatched K', () => {
    expect(thrown(() => gemmSync(a, k69)).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
  test('wrong layout', () => {
    expect(thrown(() => gemmSync(x4, b)).code).toBe('BITGRAD_INVALID_LAYOUT');
  });
  test('not a BitTensor', async () => {
    expect(thrown(() => gemmSync(new Float32Array(4) as never, b)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect((await rejected(gemm(a, null as never))).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
  test('epilogue options', () => {
    expect(thrown(() => gemmSync(a, b, { scale: 2 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => gemmSync(a, b, { outputType: 'bogus' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => gemmSync(a, b, { outputType: 'float', scale: new Float32Array(3) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => gemmSync(a, b, { outputType: 'float', residual: new Float32Array(3) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => gemmSync(a, b, { outputType: 'bits', residual: new Float32Array(20) })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => gemmSync(a, b, { outputType: 'float', scale: new Float64Array(5) as never })).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => gemmSync(a, b, { padding: 1 } as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
  test('disposed operands', async () => {
    const d = packSync(randomFloats(4, 70), { layout: 'rows', shape: [1, 70] });
    d.dispose();
    expect(thrown(() => gemmSync(d, b)).code).toBe('BITGRAD_DISPOSED');
    expect((await rejected(gemm(a, d))).code).toBe('BITGRAD_DISPOSED');
  });
});

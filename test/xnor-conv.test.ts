// XNOR conv2d: exact equality with a float ±1 convolution computed here (zero padding
// = binarize then pad with 0, one padding = pad with +1), over channel counts around
// the word size, strides, dilations, groups, odd sizes, batch > 1, every SIMD path;
// epilogues against float64; coded errors.
import * as bitgrad from '../lib';
import { rejected, thrown } from './helpers';
import { ConvGeom, expectSameInts, expectSameWords, fmaf32, outDims, packFlags, randomFloats, refConv, signs } from './xnor-ref';

const { packSync } = bitgrad.binarize;
const { conv2d, conv2dSync } = bitgrad.xnor;
const PATHS = ['scalar', 'avx2', 'avx512'] as const;

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

function geom(p: Partial<ConvGeom> & { c: number; cout: number }): ConvGeom {
  return { n: 1, h: 5, w: 7, kh: 3, kw: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, padMode: 'zero', ...p };
}

function run(g: ConvGeom, seed: number, path: string, opts: Record<string, unknown> = {}) {
  const xf = randomFloats(seed, g.n * g.h * g.w * g.c);
  const wf = randomFloats(seed + 7, g.cout * g.kh * g.kw * (g.c / g.groups));
  const x = packSync(xf, { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] });
  const w = packSync(wf, { layout: 'weights', shape: [g.cout, g.kh, g.kw, g.c / g.groups] });
  bitgrad.setSimd(path as never);
  const out = conv2dSync(x, w, { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups, padMode: g.padMode, ...opts } as never) as any;
  const ref = refConv(signs(xf), signs(wf), g);
  x.dispose();
  w.dispose();
  return { out, ref };
}

describe('int32 output equals the ±1 reference', () => {
  const CASES: ConvGeom[] = [];
  for (const c of [1, 3, 63, 64, 65, 257])
    for (const padMode of ['zero', 'one'] as const) CASES.push(geom({ c, cout: c === 257 ? 5 : 13, padMode }));
  for (const padMode of ['zero', 'one'] as const) {
    CASES.push(geom({ c: 65, cout: 7, stride: [2, 2], padMode }));
    CASES.push(geom({ c: 70, cout: 8, h: 9, w: 8, stride: [2, 1], dilation: [2, 3], padding: [2, 3], padMode }));
    CASES.push(geom({ c: 130, cout: 14, groups: 2, padMode }));
    CASES.push(geom({ c: 6, cout: 9, groups: 3, padMode, n: 3 }));
    CASES.push(geom({ c: 195, cout: 6, groups: 3, h: 4, w: 3, kh: 2, kw: 3, padMode }));
    CASES.push(geom({ c: 64, cout: 64, groups: 64, padMode, n: 2, h: 6, w: 6 }));
    CASES.push(geom({ c: 33, cout: 70, n: 2, h: 11, w: 13, padMode }));
    CASES.push(geom({ c: 17, cout: 3, kh: 5, kw: 5, padding: [3, 3], h: 3, w: 4, padMode }));
  }
  CASES.push(geom({ c: 65, cout: 5, kh: 1, kw: 1, padding: [0, 0], n: 2 }));
  CASES.push(geom({ c: 8, cout: 5, padding: [0, 0], h: 2, w: 3 })); // empty output
  const name = (g: ConvGeom) =>
    `n${g.n} ${g.h}x${g.w}x${g.c} -> ${g.cout} k${g.kh}x${g.kw} s${g.stride} p${g.padding} d${g.dilation} g${g.groups} ${g.padMode}`;
  for (const path of PATHS)
    for (const [i, g] of CASES.entries())
      test(`${path} ${name(g)}`, () => {
        const { out, ref } = run(g, 100 + i, path);
        const [ho, wo] = outDims(g);
        expect(out.shape).toEqual([g.n, ho, wo, g.cout]);
        expectSameInts(out.dataSync(), ref, `${path} ${name(g)}`);
        out.dispose();
      });
});

test('1 and 2 threads, sync and async, every path: identical integers on a ResNet-like layer', async () => {
  const g = geom({ n: 2, h: 14, w: 15, c: 128, cout: 70 });
  const xf = randomFloats(1, g.n * g.h * g.w * g.c);
  const wf = randomFloats(2, g.cout * 9 * g.c);
  const x = packSync(xf, { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] });
  const w = packSync(wf, { layout: 'weights', shape: [g.cout, 3, 3, g.c] });
  const ref = refConv(signs(xf), signs(wf), g);
  for (const path of PATHS)
    for (const threads of [1, 2]) {
      bitgrad.setSimd(path);
      bitgrad.setNumThreads(threads);
      const a = await conv2d(x, w, { padding: 1 });
      expectSameInts(a.dataSync() as Int32Array, ref, `${path} ${threads}`);
      a.dispose();
    }
  x.dispose();
  w.dispose();
});

test('small images: a panel shared by several threads is built by all of them, word-aligned or not', () => {
  // One pixel block per group and more threads than groups: each panel's taps are split
  // across threads. Groups of 35 channels start mid-word (the shifted build).
  for (const g of [geom({ n: 1, h: 7, w: 7, c: 128, cout: 96, padMode: 'zero' }), geom({ n: 1, h: 5, w: 5, c: 105, cout: 300, groups: 3 })]) {
    const xf = randomFloats(11, g.n * g.h * g.w * g.c);
    const wf = randomFloats(12, g.cout * 9 * (g.c / g.groups));
    const x = packSync(xf, { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] });
    const w = packSync(wf, { layout: 'weights', shape: [g.cout, 3, 3, g.c / g.groups] });
    const ref = refConv(signs(xf), signs(wf), g);
    for (const threads of [1, 2, 3, 4]) {
      bitgrad.setNumThreads(threads);
      const out = conv2dSync(x, w, { padding: 1, padMode: g.padMode, groups: g.groups });
      expectSameInts(out.dataSync() as Int32Array, ref, `groups ${g.groups}, ${threads} threads`);
      out.dispose();
    }
    x.dispose();
    w.dispose();
  }
  bitgrad.setNumThreads(require('os').cpus().length);
});

test('cpuKernel follows the forced SIMD path', () => {
  bitgrad.setSimd('scalar');
  expect(bitgrad.xnor.cpuKernel()).toMatch(/^scalar/);
  bitgrad.setSimd('avx2');
  const best = bitgrad.backend().cpu.simdBest;
  if (best !== 'scalar') expect(bitgrad.xnor.cpuKernel()).toBe('avx2-pshufb');
  bitgrad.setSimd('auto');
});

describe('weights reused across calls (the CPU kernel caches their repack with the buffer)', () => {
  test('a write to the weights, a copy into them, and a new input size each give fresh results', () => {
    bitgrad.setSimd('auto');
    const g5 = geom({ c: 70, cout: 9, h: 5, w: 5 });
    const g7 = geom({ c: 70, cout: 9, h: 7, w: 6 });
    const wf1 = randomFloats(901, 9 * 9 * 70), wf2 = randomFloats(902, 9 * 9 * 70);
    const xf5 = randomFloats(903, 5 * 5 * 70), xf7 = randomFloats(904, 7 * 6 * 70);
    const x5 = packSync(xf5, { layout: 'nhwc', shape: [1, 5, 5, 70] });
    const x7 = packSync(xf7, { layout: 'nhwc', shape: [1, 7, 6, 70] });
    const w = packSync(wf1, { layout: 'weights', shape: [9, 3, 3, 70] });
    const w2 = packSync(wf2, { layout: 'weights', shape: [9, 3, 3, 70] });
    const conv = (x: bitgrad.binarize.BitTensor, g: ConvGeom, wf: Float32Array, xf: Float32Array, label: string) => {
      const out = conv2dSync(x, w, { padding: 1, padMode: 'zero' });
      expectSameInts(out.dataSync(), refConv(signs(xf), signs(wf), g), label);
      out.dispose();
    };
    conv(x5, g5, wf1, xf5, 'first call');
    conv(x5, g5, wf1, xf5, 'second call (cached)');
    conv(x7, g7, wf1, xf7, 'another input size');
    conv(x5, g5, wf1, xf5, 'back to the first size');
    // The words of w2 written over w's buffer (as any op writing into a bit tensor would).
    require('../lib/loader').native().binding.write(w.buffer, w2.dataSync());
    conv(x5, g5, wf2, xf5, 'after write()');
    conv(x7, g7, wf2, xf7, 'after write(), other size');
    // And back through copy().
    const w1 = packSync(wf1, { layout: 'weights', shape: [9, 3, 3, 70] });
    require('../lib/loader').native().binding.copy(w.buffer, w1.buffer);
    conv(x5, g5, wf1, xf5, 'after copy()');
    for (const t of [x5, x7, w, w2, w1]) t.dispose();
  });
});

describe('epilogues', () => {
  // The SIMD epilogue packs bits itself when one task owns all channels of its pixels;
  // groups, or channels split across threads (few pixel blocks), go through flags.
  const SETS: [string, ConvGeom, number][] = [
    ['', geom({ n: 2, c: 70, cout: 67, padMode: 'zero' }), 1],
    ['groups 2, ', geom({ n: 1, c: 70, cout: 66, groups: 2, padMode: 'zero' }), 1],
    ['channels split over 2 threads, ', geom({ n: 1, h: 8, w: 8, c: 64, cout: 130, padMode: 'zero' }), 2],
  ];
  for (const [label, g, threads] of SETS) epilogueTests(label, g, threads);
});

describe('bits threshold', () => {
  // acc · scale + bias exactly 0 (acc = 0 with an even K, or acc · tiny = −tiny) must give
  // bit 1 (>= 0), and tiny (denormal) scales must not flip a sign by rounding.
  const g = geom({ n: 2, c: 64, cout: 40, h: 6, w: 6, padMode: 'one' });
  const [ho, wo] = outDims(g);
  const P = g.n * ho * wo;
  const tiny = 1.401298464324817e-45; // 2^-149
  const scale = new Float32Array(g.cout).map((_, i) => [1, -1, tiny, -tiny, 0.5][i % 5]);
  const bias = new Float32Array(g.cout).map((_, i) => [0, 0, -tiny, tiny, -2][i % 5]);
  for (const path of PATHS)
    test(`zero and denormal cases, ${path}`, () => {
      const { out, ref } = run(g, 77, path, { outputType: 'bits', scale, bias });
      const flags = new Uint8Array(ref.length);
      let zeros = 0;
      for (let i = 0; i < ref.length; i++) {
        const v = ref[i] * scale[i % g.cout] + bias[i % g.cout];
        if (v === 0) zeros++;
        flags[i] = v >= 0 ? 1 : 0;
      }
      expect(zeros).toBeGreaterThan(10);
      expectSameWords(out.dataSync(), packFlags(flags, P, g.cout));
      out.dispose();
    });
});

function epilogueTests(label: string, g: ConvGeom, threads: number) {
  const [ho, wo] = outDims(g);
  const P = g.n * ho * wo;
  const scale = new Float32Array(g.cout).map((_, i) => (i % 5 === 0 ? -0.75 : 0.5 + i / 100));
  const bias = new Float32Array(g.cout).map((_, i) => (i % 9) - 4);
  for (const path of PATHS) {
    test(`${label}float with residual, ${path}`, () => {
      bitgrad.setNumThreads(threads);
      const residual = randomFloats(3, P * g.cout);
      const { out, ref } = run(g, 50, path, { outputType: 'float', scale, bias, residual });
      const got = out.dataSync() as Float32Array;
      for (let i = 0; i < ref.length; i++) {
        const c = i % g.cout;
        const want = Math.fround(fmaf32(ref[i], scale[c], bias[c]) + residual[i]);
        if (got[i] !== want) throw new Error(`element ${i}: got ${got[i]}, want ${want}`);
      }
      out.dispose();
    });
    test(`${label}bits for the next layer (NHWC BitTensor), ${path}`, () => {
      bitgrad.setNumThreads(threads);
      const { out, ref } = run(g, 51, path, { outputType: 'bits', scale, bias });
      expect(out.layout).toBe('nhwc');
      expect(out.shape).toEqual([g.n, ho, wo, g.cout]);
      const flags = new Uint8Array(ref.length);
      for (let i = 0; i < ref.length; i++) flags[i] = ref[i] * scale[i % g.cout] + bias[i % g.cout] >= 0 ? 1 : 0;
      expectSameWords(out.dataSync(), packFlags(flags, P, g.cout));
      // The bits feed the next conv directly.
      const w2 = packSync(randomFloats(9, 4 * 9 * g.cout), { layout: 'weights', shape: [4, 3, 3, g.cout] });
      bitgrad.setNumThreads(1);
      const y = conv2dSync(out, w2, { padding: 1 });
      expect(y.shape).toEqual([g.n, ho, wo, 4]);
      y.dispose();
      w2.dispose();
      out.dispose();
    });
  }
}

describe('errors', () => {
  const x = packSync(randomFloats(1, 2 * 4 * 4 * 6), { layout: 'nhwc', shape: [2, 4, 4, 6] });
  const w = packSync(randomFloats(2, 4 * 3 * 3 * 6), { layout: 'weights', shape: [4, 3, 3, 6] });
  const w3 = packSync(randomFloats(2, 4 * 3 * 3 * 3), { layout: 'weights', shape: [4, 3, 3, 3] });
  const rows = packSync(randomFloats(3, 4 * 6), { layout: 'rows', shape: [4, 6] });
  test('channel mismatch and groups', () => {
    expect(thrown(() => conv2dSync(x, w3)).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dSync(x, w3, { groups: 3 })).code).toBe('BITGRAD_SHAPE_MISMATCH'); // 6/3 = 2 != 3
    expect(conv2dSync(x, w3, { groups: 2 }).shape).toEqual([2, 2, 2, 4]);
    expect(thrown(() => conv2dSync(x, w, { groups: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dSync(x, w3, { groups: 4 } as never)).code).toBe('BITGRAD_SHAPE_MISMATCH');
  });
  test('layouts', () => {
    expect(thrown(() => conv2dSync(rows, w)).code).toBe('BITGRAD_INVALID_LAYOUT');
    expect(thrown(() => conv2dSync(x, x)).code).toBe('BITGRAD_INVALID_LAYOUT');
  });
  test('geometry options', () => {
    expect(thrown(() => conv2dSync(x, w, { stride: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dSync(x, w, { padding: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dSync(x, w, { dilation: [1, 2, 3] as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dSync(x, w, { padMode: 'same' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dSync(x, w, { bogus: 1 } as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dSync(x, w, 'x' as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
  test('disposed', async () => {
    const d = packSync(randomFloats(4, 4 * 9 * 6), { layout: 'weights', shape: [4, 3, 3, 6] });
    d.dispose();
    expect(thrown(() => conv2dSync(x, d)).code).toBe('BITGRAD_DISPOSED');
    expect((await rejected(conv2d(x, d))).code).toBe('BITGRAD_DISPOSED');
  });
});

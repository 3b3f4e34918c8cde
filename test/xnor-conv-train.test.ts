// Binary conv backward: xnor.conv2dBackwardInput (transposed conv of the float gradient
// with ±1 weight bits) and xnor.conv2dBackwardWeight (correlation with ±1 input bits)
// against float64 references over the unpacked ±1 values and an exact float32 replay of
// the documented summation order; every padding mode, stride, dilation, groups,
// channel counts 1 / 3 / 65, odd sizes, batch > 1; every SIMD path and 1 or 2 threads
// bit-identical; finite differences (bit flips, and through the STE); coded errors.
import * as bitgrad from '../lib';
import { rejected, thrown } from './helpers';
import { ConvGeom, outDims, randomFloats, signs } from './xnor-ref';

const { packSync } = bitgrad.binarize;
const { conv2dSync, conv2dBackwardInput, conv2dBackwardInputSync, conv2dBackwardWeight, conv2dBackwardWeightSync } = bitgrad.xnor;
const PATHS = ['scalar', 'avx2', 'avx512'] as const;
const f32 = Math.fround;

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

function geom(p: Partial<ConvGeom>): ConvGeom {
  return { n: 1, h: 5, w: 5, c: 3, cout: 4, kh: 3, kw: 3, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, padMode: 'zero', ...p };
}

function setup(seed: number, g: ConvGeom) {
  const [ho, wo] = outDims(g);
  const cg = g.c / g.groups;
  const xf = randomFloats(seed, g.n * g.h * g.w * g.c);
  const wf = randomFloats(seed + 1, g.cout * g.kh * g.kw * cg);
  const gf = randomFloats(seed + 2, g.n * ho * wo * g.cout).map((v) => v * 3);
  const alpha = new Float32Array(g.cout).map((_, j) => (j % 7 === 3 ? -0.75 : 0.1 + (j % 5) / 8));
  const x = packSync(xf, { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] });
  const w = packSync(wf, { layout: 'weights', shape: [g.cout, g.kh, g.kw, cg] });
  const gt = bitgrad.tensor(gf, [g.n, ho, wo, g.cout]);
  return { x, w, gt, xf, wf, gf, xs: signs(xf), ws: signs(wf), alpha, ho, wo, cg };
}

/**
 * float64 references, the bound Σ|terms| per element, and the documented float32 replay
 * (Σ ±coefficient by the sign of its bit, one rounding per step, in j order).
 */
function refs(g: ConvGeom, xs: Int8Array, ws: Int8Array, gf: Float32Array, alpha: Float32Array | null) {
  const [ho, wo] = outDims(g);
  const cg = g.c / g.groups;
  const coutg = g.cout / g.groups;
  const nx = g.n * g.h * g.w * g.c;
  const nw = g.cout * g.kh * g.kw * cg;
  const gx = new Float64Array(nx), gxa = new Float64Array(nx), gx32 = new Float32Array(nx);
  const gw = new Float64Array(nw), gwa = new Float64Array(nw), gw32 = new Float32Array(nw);
  // gx: j = tap * coutg + co (tap-major).
  for (let b = 0; b < g.n; b++)
    for (let iy = 0; iy < g.h; iy++)
      for (let ix = 0; ix < g.w; ix++)
        for (let ch = 0; ch < g.c; ch++) {
          const grp = Math.floor(ch / cg), ci = ch % cg;
          let acc = 0, r = 0, ra = 0;
          for (let ky = 0; ky < g.kh; ky++) {
            const ny = iy + g.padding[0] - ky * g.dilation[0];
            if (ny < 0 || ny % g.stride[0] !== 0 || ny / g.stride[0] >= ho) continue;
            for (let kx = 0; kx < g.kw; kx++) {
              const nxx = ix + g.padding[1] - kx * g.dilation[1];
              if (nxx < 0 || nxx % g.stride[1] !== 0 || nxx / g.stride[1] >= wo) continue;
              for (let col = 0; col < coutg; col++) {
                const co = grp * coutg + col;
                const p = (b * ho + ny / g.stride[0]) * wo + nxx / g.stride[1];
                const gv = gf[p * g.cout + co];
                const c = alpha ? f32(gv * alpha[co]) : gv;
                const wv = ws[((co * g.kh + ky) * g.kw + kx) * cg + ci];
                r += gv * (alpha ? alpha[co] : 1) * wv;
                ra += Math.abs(c);
                acc = f32(acc + (wv > 0 ? c : -c));
              }
            }
          }
          const i = ((b * g.h + iy) * g.w + ix) * g.c + ch;
          gx[i] = r;
          gxa[i] = ra;
          gx32[i] = acc;
        }
  // gw: j = output pixel.
  for (let co = 0; co < g.cout; co++)
    for (let ky = 0; ky < g.kh; ky++)
      for (let kx = 0; kx < g.kw; kx++)
        for (let ci = 0; ci < cg; ci++) {
          const ch = Math.floor(co / coutg) * cg + ci;
          let acc = 0, r = 0, ra = 0;
          for (let b = 0; b < g.n; b++)
            for (let oy = 0; oy < ho; oy++)
              for (let ox = 0; ox < wo; ox++) {
                const iy = oy * g.stride[0] - g.padding[0] + ky * g.dilation[0];
                const ix = ox * g.stride[1] - g.padding[1] + kx * g.dilation[1];
                const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
                if (!inside && g.padMode === 'zero') continue;
                const xv = inside ? xs[((b * g.h + iy) * g.w + ix) * g.c + ch] : 1;
                const c = gf[((b * ho + oy) * wo + ox) * g.cout + co];
                r += c * xv;
                ra += Math.abs(c);
                acc = f32(acc + (xv > 0 ? c : -c));
              }
          const i = ((co * g.kh + ky) * g.kw + kx) * cg + ci;
          gw[i] = r;
          gwa[i] = ra;
          gw32[i] = acc;
        }
  return { gx, gxa, gx32, gw, gwa, gw32 };
}

function expectClose(got: Float32Array, want: Float64Array, scale: Float64Array, terms: number, what: string) {
  const eps = 2 ** -23;
  expect(got.length).toBe(want.length);
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

const CASES: [string, Partial<ConvGeom>][] = [
  ['3x3 pad 1, C 3, batch 2, odd sizes', { n: 2, h: 5, w: 7, c: 3, cout: 4 }],
  ['C 1, Cout 3, dilation 2, pad 2', { n: 2, h: 9, w: 7, c: 1, cout: 3, padding: [2, 2], dilation: [2, 2] }],
  ['C 65, Cout 65, stride 2', { n: 1, h: 7, w: 5, c: 65, cout: 65, stride: [2, 2] }],
  ['stride 2 on an even size, kernel 2x3, pad [1, 0]', { n: 3, h: 8, w: 6, c: 3, cout: 5, kh: 2, kw: 3, stride: [2, 1], padding: [1, 0] }],
  ['groups 3, C 6', { n: 2, h: 5, w: 5, c: 6, cout: 6, groups: 3 }],
  ['groups 2, C 130 (65 per group, unaligned)', { n: 1, h: 5, w: 3, c: 130, cout: 4, groups: 2, stride: [1, 2], dilation: [1, 2], padding: [1, 2] }],
  ['depthwise, C 65', { n: 1, h: 4, w: 5, c: 65, cout: 65, groups: 65, padding: [0, 1] }],
  ['1x1, C 65, Cout 7', { n: 2, h: 3, w: 5, c: 65, cout: 7, kh: 1, kw: 1, padding: [0, 0] }],
  ['pad larger than the image', { n: 1, h: 2, w: 3, c: 3, cout: 2, padding: [3, 2] }],
];

describe('conv backward against float64 and the exact float32 replay', () => {
  for (const [name, p] of CASES)
    for (const padMode of ['zero', 'one'] as const)
      for (const path of PATHS)
        test(`${name}, ${padMode}, ${path}`, () => {
          bitgrad.setSimd(path);
          const g = geom({ ...p, padMode });
          const s = setup(g.n * 131 + g.c * 7 + g.h, g);
          const r = refs(g, s.xs, s.ws, s.gf, s.alpha);
          const opts = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups, padMode };
          const gi = conv2dBackwardInputSync(s.gt, s.w, { ...opts, alpha: s.alpha, inputSize: [g.h, g.w] });
          const gw = conv2dBackwardWeightSync(s.gt, s.x, { ...opts, kernelSize: [g.kh, g.kw] });
          expect(gi.shape).toEqual([g.n, g.h, g.w, g.c]);
          expect(gw.shape).toEqual([g.cout, g.kh, g.kw, s.cg]);
          const gid = gi.dataSync() as Float32Array;
          const gwd = gw.dataSync() as Float32Array;
          expectClose(gid, r.gx, r.gxa, g.cout * g.kh * g.kw, 'gradInput');
          expectClose(gwd, r.gw, r.gwa, g.n * s.ho * s.wo, 'gradWeight');
          expectSameFloats(gid, r.gx32, 'gradInput replay');
          expectSameFloats(gwd, r.gw32, 'gradWeight replay');
          for (const t of [s.x, s.w, s.gt, gi, gw]) t.dispose();
        });
});

test('without alpha, the default input size, async', async () => {
  const g = geom({ n: 2, h: 7, w: 7, c: 5, cout: 3, stride: [2, 2] });
  const s = setup(77, g);
  const r = refs(g, s.xs, s.ws, s.gf, null);
  const gi = await conv2dBackwardInput(s.gt, s.w, { stride: 2, padding: 1 });
  expect(gi.shape).toEqual([2, 7, 7, 5]);
  expectSameFloats(gi.dataSync() as Float32Array, r.gx32, 'gradInput');
  const gw = await conv2dBackwardWeight(s.gt, s.x, { stride: 2, padding: 1, kernelSize: 3 });
  expectSameFloats(gw.dataSync() as Float32Array, r.gw32, 'gradWeight');
  for (const t of [s.x, s.w, s.gt, gi, gw]) t.dispose();
});

test('every path and 1 or 2 threads give the same bits on a larger conv, sync and async', async () => {
  const g = geom({ n: 2, h: 13, w: 11, c: 70, cout: 67, stride: [1, 1], padding: [1, 1] });
  for (const padMode of ['zero', 'one'] as const) {
    const s = setup(9, { ...g, padMode });
    let first: { gi: Float32Array; gw: Float32Array } | null = null;
    for (const path of PATHS)
      for (const threads of [1, 2]) {
        bitgrad.setSimd(path);
        bitgrad.setNumThreads(threads);
        const o = { padding: 1, padMode };
        const gi = threads === 1 ? conv2dBackwardInputSync(s.gt, s.w, { ...o, alpha: s.alpha }) : await conv2dBackwardInput(s.gt, s.w, { ...o, alpha: s.alpha });
        const gw = threads === 1 ? conv2dBackwardWeightSync(s.gt, s.x, { ...o, kernelSize: 3 }) : await conv2dBackwardWeight(s.gt, s.x, { ...o, kernelSize: 3 });
        const a = gi.dataSync() as Float32Array;
        const b = gw.dataSync() as Float32Array;
        if (!first) {
          first = { gi: a, gw: b };
          const r = refs({ ...g, padMode }, s.xs, s.ws, s.gf, s.alpha);
          expectSameFloats(a, r.gx32, 'gradInput replay');
          expectSameFloats(b, r.gw32, 'gradWeight replay');
        } else {
          expectSameFloats(a, first.gi, `${path} ${threads}t gradInput`);
          expectSameFloats(b, first.gw, `${path} ${threads}t gradWeight`);
        }
        gi.dispose();
        gw.dispose();
      }
    for (const t of [s.x, s.w, s.gt]) t.dispose();
  }
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

describe('finite differences through conv2d (float epilogue)', () => {
  // L = Σ conv2d(x_b, w_b)·alpha ⊙ R is linear in every ±1 entry: flipping one bit moves
  // L by exactly (new − old) · ∂L/∂entry.
  for (const padMode of ['zero', 'one'] as const)
    test(`bit flips and the STE, ${padMode}`, () => {
      const g = geom({ n: 2, h: 5, w: 4, c: 3, cout: 2, stride: [2, 1], padMode });
      const s = setup(31, g);
      const opts = { stride: g.stride, padding: g.padding, padMode };
      const loss = (xv: Float32Array, wv: Float32Array) => {
        const x = packSync(xv, { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] });
        const w = packSync(wv, { layout: 'weights', shape: [g.cout, g.kh, g.kw, s.cg] });
        const out = conv2dSync(x, w, { ...opts, outputType: 'float', scale: s.alpha });
        const o = out.dataSync() as Float32Array;
        let sum = 0;
        for (let i = 0; i < o.length; i++) sum += o[i] * s.gf[i];
        for (const t of [x, w, out]) t.dispose();
        return sum;
      };
      const gi = conv2dBackwardInputSync(s.gt, s.w, { ...opts, alpha: s.alpha, inputSize: [g.h, g.w] });
      const gw = conv2dBackwardWeightSync(s.gt, s.x, { ...opts, kernelSize: 3 });
      const gid = gi.dataSync() as Float32Array;
      const gwd = gw.dataSync() as Float32Array;
      const L0 = loss(s.xf, s.wf);
      for (let i = 0; i < s.xf.length; i += 2) {
        const xv = s.xf.slice();
        const old = xv[i] >= 0 ? 1 : -1;
        xv[i] = -old * 0.5;
        const fd = (loss(xv, s.wf) - L0) / (-2 * old);
        expect(Math.abs(fd - gid[i])).toBeLessThan(1e-4 * (1 + Math.abs(gid[i])));
      }
      for (let i = 0; i < s.wf.length; i += 2) {
        const wv = s.wf.slice();
        const old = wv[i] >= 0 ? 1 : -1;
        wv[i] = -old * 0.5;
        const fd = (loss(s.xf, wv) - L0) / (-2 * old);
        const co = Math.floor(i / (g.kh * g.kw * s.cg));
        expect(Math.abs(fd - s.alpha[co] * gwd[i])).toBeLessThan(1e-4 * (1 + Math.abs(gwd[i])));
      }
      // Through the STE: latent z (some outside [-1, 1]); the surrogate clip(z, -1, 1) makes
      // L linear per entry, dL/dz = 1{|z| <= 1} · (L(+1) − L(−1)) / 2.
      const z = s.xf.map((v, i) => (i % 5 === 0 ? 1.5 * (i % 2 ? 1 : -1) : v));
      const zb = packSync(z, { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] });
      const gz = conv2dBackwardInputSync(s.gt, s.w, { ...opts, alpha: s.alpha, inputSize: [g.h, g.w] });
      const { grad } = bitgrad.binarize.ste.backwardSync(z, gz.dataSync() as Float32Array);
      for (let i = 0; i < z.length; i++) {
        const plus = z.slice();
        plus[i] = 1;
        const minus = z.slice();
        minus[i] = -1;
        const fd = Math.abs(z[i]) <= 1 ? (loss(plus, s.wf) - loss(minus, s.wf)) / 2 : 0;
        expect(Math.abs((grad as Float32Array)[i] - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
      }
      for (const t of [s.x, s.w, s.gt, gi, gw, zb, gz]) t.dispose();
    });
});

describe('coded errors', () => {
  test('validation', async () => {
    const g = geom({ n: 1, h: 5, w: 5, c: 3, cout: 4 });
    const s = setup(3, g);
    const bad = bitgrad.tensor(new Float32Array(5 * 5 * 3), [1, 5, 5, 3]);
    const rank3 = bitgrad.tensor(new Float32Array(5 * 5 * 4), [5, 5, 4]);
    const i32 = bitgrad.tensor(new Int32Array(100), [1, 5, 5, 4]);
    const xr = packSync(s.xf, { layout: 'rows', shape: [25, 3] });
    expect(thrown(() => conv2dBackwardInputSync(bad, s.w, { padding: 1 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dBackwardInputSync(rank3, s.w, { padding: 1 })).code).toBe('BITGRAD_INVALID_SHAPE');
    expect(thrown(() => conv2dBackwardInputSync(i32, s.w, { padding: 1 })).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => conv2dBackwardInputSync(s.gf as never, s.w, { padding: 1 })).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.x, { padding: 1 })).code).toBe('BITGRAD_INVALID_LAYOUT');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: 1, alpha: new Float32Array(3) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: 1, alpha: NaN })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: 1, inputSize: [9, 9] })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: 1, groups: 3 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: -1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: 1, padMode: 'two' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dBackwardInputSync(s.gt, s.w, { padding: 1, bogus: 1 } as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dBackwardWeightSync(s.gt, s.x, { padding: 1 } as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dBackwardWeightSync(s.gt, s.x, { padding: 0, kernelSize: 3 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dBackwardWeightSync(s.gt, s.x, { padding: 1, kernelSize: 0 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => conv2dBackwardWeightSync(s.gt, s.x, { padding: 1, kernelSize: 3, groups: 2 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => conv2dBackwardWeightSync(s.gt, xr, { padding: 1, kernelSize: 3 })).code).toBe('BITGRAD_INVALID_LAYOUT');
    expect(thrown(() => conv2dBackwardWeightSync(s.gt, s.w, { padding: 1, kernelSize: 3 })).code).toBe('BITGRAD_INVALID_LAYOUT');
    expect((await rejected(conv2dBackwardInput(bad, s.w, { padding: 1 }))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect((await rejected(conv2dBackwardWeight(s.gt, s.x, { padding: 0, kernelSize: 3 }))).code).toBe('BITGRAD_SHAPE_MISMATCH');
    const wd = packSync(s.wf, { layout: 'weights', shape: [4, 3, 3, 3] });
    wd.dispose();
    expect(thrown(() => conv2dBackwardInputSync(s.gt, wd, { padding: 1 })).code).toBe('BITGRAD_DISPOSED');
    for (const t of [s.x, s.w, s.gt, bad, rank3, i32, xr]) t.dispose();
  });
});

// Plain-JS references for the XNOR tests: ±1 floats, float GEMM / conv over the
// unpacked ±1 values (zero padding = pad the binarized input with 0, one padding = +1),
// and the float64 epilogues.
import { rng } from './helpers';

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/**
 * The 'float' epilogue: fmaf(float32(acc), scale, bias), one rounding to float32 of the
 * exact value. The product of two 24-bit significands is exact in float64; the sum's
 * rounding error (TwoSum) makes the float64 sum round-to-odd, after which rounding to
 * float32 is the single correct rounding (float64 has more than 24 + 2 bits).
 */
export function fmaf32(acc: number, scale: number, bias: number): number {
  const p = Math.fround(acc) * scale;
  const s = p + bias;
  const t = s - p;
  const err = p - (s - t) + (bias - t);
  if (err === 0 || !Number.isFinite(s)) return Math.fround(s);
  f64[0] = s;
  if ((u64[0] & 1n) === 0n) u64[0] += err > 0 === s > 0 ? 1n : -1n;
  return Math.fround(f64[0]);
}

/** n random values in [-1, 1) (packing keeps only the sign, so these are ±1 after binarizing). */
export function randomFloats(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

/** The ±1 values a packed float array stands for. */
export function signs(x: Float32Array): Int8Array {
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] >= 0 ? 1 : -1;
  return out;
}

/** a [M, K] times b [N, K] transposed. */
export function refGemm(a: Int8Array, b: Int8Array, m: number, n: number, k: number): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[i * k + q] * b[j * k + q];
      out[i * n + j] = s;
    }
  return out;
}

export interface ConvGeom {
  n: number;
  h: number;
  w: number;
  c: number;
  cout: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  padMode: 'zero' | 'one';
}

export function outDims(g: ConvGeom): [number, number] {
  const ho = Math.floor((g.h + 2 * g.padding[0] - g.dilation[0] * (g.kh - 1) - 1) / g.stride[0]) + 1;
  const wo = Math.floor((g.w + 2 * g.padding[1] - g.dilation[1] * (g.kw - 1) - 1) / g.stride[1]) + 1;
  return [Math.max(ho, 0), Math.max(wo, 0)];
}

/** NHWC x [n,h,w,c] (±1) conv weights [cout,kh,kw,c/groups] (±1) -> NHWC int32. */
export function refConv(x: Int8Array, wt: Int8Array, g: ConvGeom): Int32Array {
  const [ho, wo] = outDims(g);
  const cg = g.c / g.groups;
  const coutg = g.cout / g.groups;
  const pad = g.padMode === 'one' ? 1 : 0;
  const out = new Int32Array(g.n * ho * wo * g.cout);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++)
        for (let co = 0; co < g.cout; co++) {
          const grp = Math.floor(co / coutg);
          let s = 0;
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.stride[0] - g.padding[0] + ky * g.dilation[0];
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.stride[1] - g.padding[1] + kx * g.dilation[1];
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              const wbase = ((co * g.kh + ky) * g.kw + kx) * cg;
              const xbase = ((b * g.h + iy) * g.w + ix) * g.c + grp * cg;
              for (let ci = 0; ci < cg; ci++) s += (inside ? x[xbase + ci] : pad) * wt[wbase + ci];
            }
          }
          out[((b * ho + oy) * wo + ox) * g.cout + co] = s;
        }
  return out;
}

/** float64 epilogue value of accumulator `acc` in channel `c`. */
export function affine(acc: number, scale: Float32Array, bias: Float32Array, c: number): number {
  return acc * scale[c] + bias[c];
}

/** Bits of an [rows][cout] 0/1 matrix packed like a BitTensor ('rows' / 'nhwc'). */
export function packFlags(flags: Uint8Array, rows: number, cout: number): BigUint64Array {
  const words = Math.ceil(cout / 64);
  const out = new BigUint64Array(rows * words);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cout; c++) if (flags[r * cout + c]) out[r * words + Math.floor(c / 64)] |= 1n << BigInt(c % 64);
  return out;
}

export function expectSameInts(got: Int32Array, want: Int32Array, what = ''): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`${what} element ${i}: got ${got[i]}, want ${want[i]}`);
}

export function expectSameWords(got: BigUint64Array, want: BigUint64Array, what = ''): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) throw new Error(`${what} word ${i}: got ${got[i].toString(16)}, want ${want[i].toString(16)}`);
}

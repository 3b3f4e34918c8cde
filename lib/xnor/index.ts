/**
 * Bit-packed XNOR-popcount GEMM and convolution on {@link BitTensor}s, with fused
 * epilogues (float scale/bias/residual, or re-binarized bits for the next layer).
 *
 * Arithmetic: bit 1 means +1, bit 0 means −1; the ±1 dot product of two K-bit rows is
 * `K − 2·popc(a XOR b)` with the true K (padding bits are 0 in both operands). Results
 * are exact integers, so they never depend on the SIMD path or the thread count.
 *
 * ```ts
 * const x = await bitgrad.binarize.pack(act, { layout: 'nhwc', shape: [1, 56, 56, 64] });
 * const w = await bitgrad.binarize.pack(wts, { layout: 'weights', shape: [64, 3, 3, 64] });
 * const y = await bitgrad.xnor.conv2d(x, w, { padding: 1, padMode: 'zero' }); // int32 [1,56,56,64]
 * ```
 * @packageDocumentation
 */
import { BitTensor, allocBitTensor } from '../bit-tensor';
import type { Operand, XnorConvSpec, XnorLinearBackwardSpec } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, tensor } from '../tensor';
import { checkOptions } from '../validate';

export * from './conv-train';

/** What an XNOR op writes. */
export type XnorOutputType = 'int32' | 'float' | 'bits';

/** A per-output-channel float vector: a number (every channel), a Float32Array or a float32 tensor of `Cout` (or 1) values. */
export type ChannelVector = number | Float32Array | Tensor;

/**
 * Fused epilogue options shared by {@link gemm} and {@link conv2d}. With `acc` the exact
 * ±1 dot product of output channel `c`:
 * - `'int32'` (default): `acc` itself.
 * - `'float'`: `fmaf(acc, scale[c], bias[c])`: `acc · scale[c] + bias[c]` rounded once
 *   to float32 (exact rounding for |acc| ≤ 2^24, i.e. K up to 16 M bits; above that `acc`
 *   is first rounded to float32), then `+ residual` (float32 add) when given. The same
 *   bits on every CPU path and on CUDA.
 * - `'bits'`: bit 1 (+1) where `acc · scale[c] + bias[c] >= 0` (the exact sign), packed along
 *   the channels for the next layer; a negative scale flips the comparison by
 *   construction.
 */
export interface XnorEpilogueOptions {
  /** `'int32'` (default), `'float'` or `'bits'`. */
  outputType?: XnorOutputType;
  /** Per-output-channel scale (alpha), default 1. Only with `'float'` / `'bits'`. */
  scale?: ChannelVector;
  /** Per-output-channel bias (beta), default 0. Only with `'float'` / `'bits'`. */
  bias?: ChannelVector;
  /** Float added after scale and bias, same element count as the output. Only with `'float'`. */
  residual?: Float32Array | Tensor;
}

/** Options of {@link gemm}. */
export type GemmOptions = XnorEpilogueOptions;

/** Zero padding (exact: padded taps add nothing and are left out of K) or one padding (padded taps are +1, Larq's default). */
export type PadMode = 'zero' | 'one';

/** Options of {@link conv2d}. A number applies to both spatial dims; a pair is `[h, w]`. */
export interface Conv2dOptions extends XnorEpilogueOptions {
  /** Stride, default 1. */
  stride?: number | readonly [number, number];
  /** Symmetric padding on each side, default 0. */
  padding?: number | readonly [number, number];
  /** Dilation, default 1. */
  dilation?: number | readonly [number, number];
  /** Groups, default 1; must divide C and Cout; the weights hold C / groups input channels. */
  groups?: number;
  /** How padded taps count (default `'zero'`): see {@link PadMode}. */
  padMode?: PadMode;
}

/** Result type of an XNOR op for an output type. */
export type XnorResult<O extends XnorOutputType | undefined> = O extends 'float' ? Tensor<'float32'> : O extends 'bits' ? BitTensor : Tensor<'int32'>;

/** Result type of an XNOR op for its options. */
export type XnorResultOf<O> = O extends { outputType: infer T } ? (T extends XnorOutputType | undefined ? XnorResult<T> : never) : Tensor<'int32'>;

interface Prepared {
  spec: XnorConvSpec;
  result: Tensor | BitTensor;
  temps: Tensor[];
}

function bad(msg: string, code = 'BITGRAD_INVALID_ARGUMENT'): never {
  throw new ValidationError(msg, code);
}

function bits(v: unknown, name: string, layout: string): BitTensor {
  if (!(v instanceof BitTensor)) bad(`${name} must be a BitTensor`);
  void v.buffer; // throws BITGRAD_DISPOSED
  if (v.layout !== layout) bad(`${name} must have layout '${layout}' (got '${v.layout}')`, 'BITGRAD_INVALID_LAYOUT');
  return v;
}

function pair(v: unknown, name: string, dflt: number, min: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= 2 ** 30;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  return bad(`${name} must be an integer >= ${min} or a pair of them (got ${show(v)})`);
}

function outCode(v: unknown): 0 | 1 | 2 {
  if (v === undefined || v === 'int32') return 0;
  if (v === 'float') return 1;
  if (v === 'bits') return 2;
  return bad(`outputType must be 'int32', 'float' or 'bits' (got ${show(v)})`);
}

/** A channel vector as an operand on `dev`: host arrays for the CPU, tensors on a GPU. */
function channelVector(v: unknown, name: string, cout: number, dflt: number, dev: number, temps: Tensor[]): Operand {
  let host: Float32Array | null = null;
  if (v === undefined) host = new Float32Array(cout).fill(dflt);
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(`${name} must be finite (got ${v})`);
    host = new Float32Array(cout).fill(v);
  } else if (v instanceof Float32Array) {
    if (v.length === cout) host = v;
    else if (v.length === 1) host = new Float32Array(cout).fill(v[0]);
    else bad(`${name} has ${v.length} values; the output has ${cout} channels`, 'BITGRAD_SHAPE_MISMATCH');
  } else if (v instanceof Tensor) {
    if (v.dtype !== 'float32') bad(`${name} must be a float32 tensor (got ${v.dtype})`, 'BITGRAD_INVALID_DTYPE');
    if (deviceIndex(v.device) !== dev) bad(`${name} is on ${v.device}, the operands are not`, 'BITGRAD_DEVICE_MISMATCH');
    if (v.size !== cout) bad(`${name} has ${v.size} values; the output has ${cout} channels`, 'BITGRAD_SHAPE_MISMATCH');
    return v.buffer;
  } else {
    bad(`${name} must be a number, a Float32Array or a float32 tensor`, ArrayBuffer.isView(v) ? 'BITGRAD_INVALID_DTYPE' : 'BITGRAD_INVALID_ARGUMENT');
  }
  if (dev < 0) return host!;
  const t = tensor(host!, [cout], { device: `cuda:${dev}` });
  temps.push(t);
  return t.buffer;
}

function residualOperand(v: unknown, size: number, dev: number, temps: Tensor[]): Operand {
  if (v instanceof Float32Array) {
    if (v.length !== size) bad(`residual has ${v.length} values; the output has ${size}`, 'BITGRAD_SHAPE_MISMATCH');
    if (dev < 0) return v;
    const t = tensor(v, [size], { device: `cuda:${dev}` });
    temps.push(t);
    return t.buffer;
  }
  if (v instanceof Tensor) {
    if (v.dtype !== 'float32') bad(`residual must be float32 (got ${v.dtype})`, 'BITGRAD_INVALID_DTYPE');
    if (deviceIndex(v.device) !== dev) bad(`residual is on ${v.device}, the operands are not`, 'BITGRAD_DEVICE_MISMATCH');
    if (v.size !== size) bad(`residual has ${v.size} values; the output has ${size}`, 'BITGRAD_SHAPE_MISMATCH');
    return v.buffer;
  }
  return bad('residual must be a Float32Array or a float32 tensor', ArrayBuffer.isView(v) ? 'BITGRAD_INVALID_DTYPE' : 'BITGRAD_INVALID_ARGUMENT');
}

interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  cout: number;
  kh: number;
  kw: number;
  groups: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  padMode: 0 | 1;
  /** Logical shape of the output. */
  outShape: number[];
  /** Layout of a bits output. */
  bitsLayout: 'rows' | 'nhwc';
}

const KNOWN = new Set(['outputType', 'scale', 'bias', 'residual', 'stride', 'padding', 'dilation', 'groups', 'padMode']);

function prepare(x: BitTensor, wt: BitTensor, g: Geometry, opts: Record<string, unknown>): Prepared {
  for (const k of Object.keys(opts)) if (!KNOWN.has(k)) bad(`unknown option ${show(k)}`);
  if (x.device !== wt.device) bad(`operands on ${x.device} and ${wt.device}`, 'BITGRAD_DEVICE_MISMATCH');
  const dev = deviceIndex(x.device);
  const outType = outCode(opts.outputType);
  if (outType === 0 && (opts.scale !== undefined || opts.bias !== undefined || opts.residual !== undefined))
    bad("scale, bias and residual need outputType 'float' or 'bits'");
  if (outType === 2 && opts.residual !== undefined) bad("residual needs outputType 'float'");
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const eh = g.h + 2 * ph - dh * (g.kh - 1) - 1;
  const ew = g.w + 2 * pw - dw * (g.kw - 1) - 1;
  const ho = eh < 0 ? 0 : Math.floor(eh / sh) + 1;
  const wo = ew < 0 ? 0 : Math.floor(ew / sw) + 1;
  const outShape = g.bitsLayout === 'rows' ? g.outShape : [g.n, ho, wo, g.cout];
  const size = g.n * ho * wo * g.cout;
  const temps: Tensor[] = [];
  let result: Tensor | BitTensor | null = null;
  try {
    let alpha: Operand | undefined;
    let beta: Operand | undefined;
    let residual: Operand | undefined;
    if (outType !== 0) {
      alpha = channelVector(opts.scale, 'scale', g.cout, 1, dev, temps);
      beta = channelVector(opts.bias, 'bias', g.cout, 0, dev, temps);
      if (opts.residual !== undefined) residual = residualOperand(opts.residual, size, dev, temps);
    }
    result = outType === 2 ? allocBitTensor(outShape, g.bitsLayout, dev) : allocTensor(outShape, outType === 0 ? 'int32' : 'float32', dev);
    const cg = g.c / g.groups;
    const spec: XnorConvSpec = {
      x: x.buffer,
      wt: wt.buffer,
      out: result.buffer,
      n: g.n,
      h: g.h,
      w: g.w,
      c: g.c,
      xwords: x.words,
      cout: g.cout,
      kh: g.kh,
      kw: g.kw,
      cg,
      gwords: wt.words,
      groups: g.groups,
      sh,
      sw,
      ph,
      pw,
      dh,
      dw,
      ho,
      wo,
      padMode: g.padMode,
      outType,
    };
    if (alpha !== undefined) spec.alpha = alpha;
    if (beta !== undefined) spec.beta = beta;
    if (residual !== undefined) spec.residual = residual;
    return { spec, result, temps };
  } catch (e) {
    result?.dispose();
    for (const t of temps) t.dispose();
    throw e;
  }
}

function gemmGeometry(a: unknown, b: unknown, rawOpts: unknown): { x: BitTensor; w: BitTensor; g: Geometry; opts: Record<string, unknown> } {
  const opts = checkOptions(rawOpts, 'gemm');
  const x = bits(a, 'a', 'rows');
  const w = bits(b, 'b', 'rows');
  if (x.k !== w.k) bad(`a has K = ${x.k} bits per row but b has K = ${w.k}`, 'BITGRAD_SHAPE_MISMATCH');
  for (const k of ['stride', 'padding', 'dilation', 'groups', 'padMode']) if (opts[k] !== undefined) bad(`gemm has no ${k} option`);
  const g: Geometry = {
    n: 1,
    h: 1,
    w: x.rows,
    c: x.k,
    cout: w.rows,
    kh: 1,
    kw: 1,
    groups: 1,
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    padMode: 1,
    outShape: [x.rows, w.rows],
    bitsLayout: 'rows',
  };
  return { x, w, g, opts };
}

function convGeometry(xv: unknown, wv: unknown, rawOpts: unknown): { x: BitTensor; w: BitTensor; g: Geometry; opts: Record<string, unknown> } {
  const opts = checkOptions(rawOpts, 'conv2d');
  const x = bits(xv, 'x', 'nhwc');
  const w = bits(wv, 'w', 'weights');
  const [n, h, wd, c] = x.shape;
  const [cout, kh, kw, cin] = w.shape;
  const groups = opts.groups === undefined ? 1 : opts.groups;
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) bad(`groups must be a positive integer (got ${show(groups)})`);
  if (c % groups !== 0 || cout % groups !== 0) bad(`groups = ${groups} must divide C = ${c} and Cout = ${cout}`, 'BITGRAD_SHAPE_MISMATCH');
  if (cin * groups !== c) bad(`w has ${cin} input channels per group; x has C = ${c} in ${groups} group(s)`, 'BITGRAD_SHAPE_MISMATCH');
  if (kh < 1 || kw < 1) bad(`kernel dims must be positive (got ${kh}x${kw})`, 'BITGRAD_INVALID_SHAPE');
  const padMode = opts.padMode === undefined || opts.padMode === 'zero' ? 0 : opts.padMode === 'one' ? 1 : bad(`padMode must be 'zero' or 'one' (got ${show(opts.padMode)})`);
  const stride = pair(opts.stride, 'stride', 1, 1);
  const padding = pair(opts.padding, 'padding', 0, 0);
  const dilation = pair(opts.dilation, 'dilation', 1, 1);
  const g: Geometry = { n, h, w: wd, c, cout, kh, kw, groups, stride, padding, dilation, padMode, outShape: [], bitsLayout: 'nhwc' };
  return { x, w, g, opts };
}

async function runAsync(p: Prepared): Promise<never> {
  try {
    await native().binding.xnorConv(p.spec, true);
  } catch (e) {
    p.result.dispose();
    for (const t of p.temps) t.dispose();
    throw e;
  }
  for (const t of p.temps) t.dispose(); // stream-ordered on CUDA
  return p.result as never;
}

function runSync(p: Prepared): never {
  try {
    native().binding.xnorConv(p.spec, false);
  } catch (e) {
    p.result.dispose();
    for (const t of p.temps) t.dispose();
    throw e;
  }
  for (const t of p.temps) t.dispose();
  return p.result as never;
}

/**
 * Binary GEMM: `a` (BitTensor `'rows'`, M rows of K bits) times `b` (BitTensor `'rows'`,
 * N rows of K bits) transposed, i.e. `out[i][j] = K − 2·popc(a_i XOR b_j)`, the exact ±1
 * dot product. Returns an int32 tensor `[M, N]` (or float32 / a `'rows'` BitTensor
 * `[M, N]` with the epilogue options). CPU: AVX-512 VPOPCNTDQ register-blocked
 * micro-kernel (AVX2 nibble-LUT and scalar popcount paths chosen at run time,
 * `bitgrad.setSimd` forces one), large inputs off the main thread over the cores.
 *
 * @throws ValidationError `BITGRAD_SHAPE_MISMATCH` (different K, wrong scale/bias/residual
 *   size), `BITGRAD_INVALID_LAYOUT` (not `'rows'`), `BITGRAD_DISPOSED`,
 *   `BITGRAD_DEVICE_MISMATCH`, `BITGRAD_INVALID_ARGUMENT`; DeviceError on GPU failure
 */
export async function gemm<O extends GemmOptions = {}>(a: BitTensor, b: BitTensor, opts?: O): Promise<XnorResultOf<O>> {
  const { x, w, g, opts: o } = gemmGeometry(a, b, opts);
  return runAsync(prepare(x, w, g, o));
}

/** Synchronous {@link gemm}: runs on the calling thread for CPU data; stream-ordered on CUDA. */
export function gemmSync<O extends GemmOptions = {}>(a: BitTensor, b: BitTensor, opts?: O): XnorResultOf<O> {
  const { x, w, g, opts: o } = gemmGeometry(a, b, opts);
  return runSync(prepare(x, w, g, o));
}

/**
 * Binary 2-d convolution (cross-correlation, as PyTorch's `conv2d`) of `x` (BitTensor
 * `'nhwc'` `[N, H, W, C]`) with `w` (BitTensor `'weights'` `[Cout, kh, kw, C / groups]`),
 * giving an NHWC int32 tensor `[N, Ho, Wo, Cout]` of exact ±1 dot products, with
 * `Ho = floor((H + 2·padH − dilH·(kh − 1) − 1) / strideH) + 1` (same for W).
 * `padMode: 'zero'` (default) is exact zero padding: padded taps contribute 0 and are
 * left out of K, as when a float model binarizes then zero-pads; `'one'` pads with +1
 * (Larq's `pad_values=1`). The epilogue options give float32 output (scale, bias,
 * residual) or bits (`'nhwc'` BitTensor `[N, Ho, Wo, Cout]`) for the next layer.
 * Implicit GEMM over word-major 64-pixel panels, same CPU paths as {@link gemm}.
 *
 * @throws ValidationError `BITGRAD_SHAPE_MISMATCH` (channels, groups, sizes),
 *   `BITGRAD_INVALID_LAYOUT`, `BITGRAD_DISPOSED`, `BITGRAD_DEVICE_MISMATCH`,
 *   `BITGRAD_INVALID_SHAPE`, `BITGRAD_INVALID_ARGUMENT`; DeviceError on GPU failure
 */
export async function conv2d<O extends Conv2dOptions = {}>(x: BitTensor, w: BitTensor, opts?: O): Promise<XnorResultOf<O>> {
  const { x: xx, w: ww, g, opts: o } = convGeometry(x, w, opts);
  return runAsync(prepare(xx, ww, g, o));
}

/** Synchronous {@link conv2d}: runs on the calling thread for CPU data; stream-ordered on CUDA. */
export function conv2dSync<O extends Conv2dOptions = {}>(x: BitTensor, w: BitTensor, opts?: O): XnorResultOf<O> {
  const { x: xx, w: ww, g, opts: o } = convGeometry(x, w, opts);
  return runSync(prepare(xx, ww, g, o));
}

/**
 * Name of the CPU micro-kernel the active SIMD path runs: `'avx512-vpopcntdq'`,
 * `'avx2-pshufb'`, `'scalar-popcnt'` or `'scalar'` (an AVX-512 CPU without VPOPCNTDQ
 * uses the AVX2 kernel). For benchmarks and reports.
 */
export function cpuKernel(): string {
  return native().binding.xnorKernelName();
}

/** Options of {@link linear}. */
export interface LinearOptions {
  /** Per-output-feature bias added after the scale, default 0. */
  bias?: ChannelVector;
}

function linearGeometry(xv: unknown, wv: unknown, alpha: unknown, rawOpts: unknown): { x: BitTensor; w: BitTensor; g: Geometry; opts: Record<string, unknown> } {
  const opts = checkOptions(rawOpts, 'linear');
  for (const k of Object.keys(opts)) if (k !== 'bias') bad(`unknown option ${show(k)}`);
  if (alpha === undefined) bad('alpha is required (a number, a Float32Array or a float32 tensor of N values)');
  const { x, w, g } = gemmGeometry(xv, wv, undefined);
  const o: Record<string, unknown> = { outputType: 'float', scale: alpha };
  if (opts.bias !== undefined) o.bias = opts.bias;
  return { x, w, g, opts: o };
}

/**
 * Forward pass of a binary dense layer: `out[i][j] = (x_b[i] · w_b[j]) · alpha[j] + bias[j]`
 * with `x` a `'rows'` BitTensor `[M, K]` (leading dims flatten into M), `w` a `'rows'`
 * BitTensor `[N, K]` (one row per output feature) and `alpha` the per-feature scale
 * (XNOR-Net's mean |W|, or learned). Returns float32 `[M, N]`; this is {@link gemm}
 * with the fused float epilogue (exact integer dot, then scale and bias in one float32
 * FMA). Backward: {@link linearBackward}.
 *
 * @throws ValidationError as {@link gemm}; `BITGRAD_SHAPE_MISMATCH` when alpha / bias
 *   do not have N values
 */
export async function linear(x: BitTensor, w: BitTensor, alpha: ChannelVector, opts?: LinearOptions): Promise<Tensor<'float32'>> {
  const { x: xx, w: ww, g, opts: o } = linearGeometry(x, w, alpha, opts);
  return runAsync(prepare(xx, ww, g, o));
}

/** Synchronous {@link linear}: runs on the calling thread for CPU data; stream-ordered on CUDA. */
export function linearSync(x: BitTensor, w: BitTensor, alpha: ChannelVector, opts?: LinearOptions): Tensor<'float32'> {
  const { x: xx, w: ww, g, opts: o } = linearGeometry(x, w, alpha, opts);
  return runSync(prepare(xx, ww, g, o));
}

/** Gradients of a binary dense layer, see {@link linearBackward}. */
export interface LinearGrads {
  /** `gradOut · (alpha ⊙ W_b)`: float32, same logical shape as `x` (`[..., K]`). */
  gradInput: Tensor<'float32'>;
  /** `gradOutᵀ · X_b`: float32, same logical shape as `w` (`[N, K]`). */
  gradWeight: Tensor<'float32'>;
}

interface PreparedBackward {
  spec: XnorLinearBackwardSpec;
  results: Tensor[];
  temps: Tensor[];
}

function prepareBackward(gradOut: unknown, xv: unknown, wv: unknown, alpha: unknown): PreparedBackward {
  const x = bits(xv, 'x', 'rows');
  const w = bits(wv, 'w', 'rows');
  if (x.k !== w.k) bad(`x has K = ${x.k} bits per row but w has K = ${w.k}`, 'BITGRAD_SHAPE_MISMATCH');
  if (x.device !== w.device) bad(`operands on ${x.device} and ${w.device}`, 'BITGRAD_DEVICE_MISMATCH');
  if (alpha === undefined) bad('alpha is required (a number, a Float32Array or a float32 tensor of N values)');
  const dev = deviceIndex(x.device);
  const m = x.rows;
  const n = w.rows;
  const temps: Tensor[] = [];
  const results: Tensor[] = [];
  try {
    let g: Operand;
    if (gradOut instanceof Float32Array) {
      if (gradOut.length !== m * n) bad(`gradOut has ${gradOut.length} values; the layer output [${m}, ${n}] has ${m * n}`, 'BITGRAD_SHAPE_MISMATCH');
      if (dev < 0) g = gradOut;
      else {
        const t = tensor(gradOut, [m * n], { device: `cuda:${dev}` });
        temps.push(t);
        g = t.buffer;
      }
    } else if (gradOut instanceof Tensor) {
      if (gradOut.dtype !== 'float32') bad(`gradOut must be float32 (got ${gradOut.dtype})`, 'BITGRAD_INVALID_DTYPE');
      if (deviceIndex(gradOut.device) !== dev) bad(`gradOut is on ${gradOut.device}, the bit operands on ${x.device}`, 'BITGRAD_DEVICE_MISMATCH');
      if (gradOut.size !== m * n) bad(`gradOut has ${gradOut.size} values; the layer output [${m}, ${n}] has ${m * n}`, 'BITGRAD_SHAPE_MISMATCH');
      g = gradOut.buffer;
    } else {
      return bad('gradOut must be a Float32Array or a float32 tensor', ArrayBuffer.isView(gradOut) ? 'BITGRAD_INVALID_DTYPE' : 'BITGRAD_INVALID_ARGUMENT');
    }
    const al = channelVector(alpha, 'alpha', n, 1, dev, temps);
    const gx = allocTensor(x.shape, 'float32', dev);
    results.push(gx);
    const gw = allocTensor(w.shape, 'float32', dev);
    results.push(gw);
    const spec: XnorLinearBackwardSpec = { g, alpha: al, x: x.buffer, w: w.buffer, gx: gx.buffer, gw: gw.buffer, m, n, k: x.k, words: x.words };
    return { spec, results, temps };
  } catch (e) {
    for (const t of [...results, ...temps]) t.dispose();
    throw e;
  }
}

/**
 * Backward pass of {@link linear} without unpacking the bits: with `g = gradOut`
 * (float32 `[M, N]`, a tensor or a Float32Array of M·N values),
 * - `gradInput = g · (alpha ⊙ W_b)` (float32, shape of `x`): the gradient with respect to
 *   the binarized input, to chain through the input's estimator (e.g.
 *   `bitgrad.binarize.ste.backward`);
 * - `gradWeight = gᵀ · X_b` (float32, shape of `w`): the gradient with respect to the
 *   scaled weights `alpha ⊙ W_b` (multiply row j by `alpha[j]` for the gradient with
 *   respect to `W_b`; the gradient of a learned alpha is `Σ_k gradWeight[j][k]·W_b[j][k]`).
 *
 * Both are float × ±1 GEMMs that read the packed bits (CPU: AVX-512 / AVX2 FMAs with ±1
 * picked by the bits, one rounding per step like an add; scalar; CUDA: one thread per
 * element). Each element is the sum of the coefficients, each with the sign of its bit
 * (+c for +1, −c for −1), in float32 in increasing index order, so results are
 * deterministic and bit-identical across SIMD paths, thread counts and CUDA. Non-finite
 * gradients give non-finite results.
 *
 * @throws ValidationError `BITGRAD_SHAPE_MISMATCH` (K, gradOut or alpha size),
 *   `BITGRAD_INVALID_LAYOUT` (not `'rows'`), `BITGRAD_INVALID_DTYPE`, `BITGRAD_DISPOSED`,
 *   `BITGRAD_DEVICE_MISMATCH`, `BITGRAD_INVALID_ARGUMENT`; DeviceError on GPU failure
 */
export async function linearBackward(gradOut: Tensor | Float32Array, x: BitTensor, w: BitTensor, alpha: ChannelVector): Promise<LinearGrads> {
  const p = prepareBackward(gradOut, x, w, alpha);
  try {
    await native().binding.xnorLinearBackward(p.spec, true);
  } catch (e) {
    for (const t of [...p.results, ...p.temps]) t.dispose();
    throw e;
  }
  for (const t of p.temps) t.dispose(); // stream-ordered on CUDA
  return { gradInput: p.results[0] as Tensor<'float32'>, gradWeight: p.results[1] as Tensor<'float32'> };
}

/** Synchronous {@link linearBackward}: runs on the calling thread for CPU data; stream-ordered on CUDA. */
export function linearBackwardSync(gradOut: Tensor | Float32Array, x: BitTensor, w: BitTensor, alpha: ChannelVector): LinearGrads {
  const p = prepareBackward(gradOut, x, w, alpha);
  try {
    native().binding.xnorLinearBackward(p.spec, false);
  } catch (e) {
    for (const t of [...p.results, ...p.temps]) t.dispose();
    throw e;
  }
  for (const t of p.temps) t.dispose();
  return { gradInput: p.results[0] as Tensor<'float32'>, gradWeight: p.results[1] as Tensor<'float32'> };
}

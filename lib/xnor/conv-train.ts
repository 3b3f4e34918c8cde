/**
 * Backward pass of the binary convolution (`xnor.conv2d`) without unpacking bits:
 * the input gradient (transposed convolution of the float gradient with the ±1 weight
 * bits) and the weight gradient (correlation of the float gradient with the ±1 input
 * bits), as implicit GEMMs over the packed layouts. Re-exported from `bitgrad.xnor`.
 * @packageDocumentation
 */
import { BitTensor } from '../bit-tensor';
import type { Operand, XnorConvBackwardSpec } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, tensor } from '../tensor';
import { checkOptions } from '../validate';

/** Geometry options shared by the conv backward ops: as the forward `xnor.conv2d` options. */
export interface Conv2dBackwardGeometry {
  /** Stride of the forward conv, default 1. */
  stride?: number | readonly [number, number];
  /** Symmetric padding of the forward conv, default 0. */
  padding?: number | readonly [number, number];
  /** Dilation of the forward conv, default 1. */
  dilation?: number | readonly [number, number];
  /** Groups of the forward conv, default 1. */
  groups?: number;
  /** Padding mode of the forward conv, default `'zero'`. */
  padMode?: 'zero' | 'one';
}

/** Options of {@link conv2dBackwardInput}. */
export interface Conv2dBackwardInputOptions extends Conv2dBackwardGeometry {
  /** Per-output-channel scale of the forward (alpha), applied to gradOut; default 1 (none). */
  alpha?: number | Float32Array | Tensor;
  /**
   * Spatial size `[H, W]` (or one number for both) of the forward input. Default: the
   * smallest size giving gradOut's `Ho, Wo` (`(Ho − 1)·stride − 2·pad + dil·(k − 1) + 1`);
   * needed when a stride > 1 dropped rows or columns.
   */
  inputSize?: number | readonly [number, number];
}

/** Options of {@link conv2dBackwardWeight}. */
export interface Conv2dBackwardWeightOptions extends Conv2dBackwardGeometry {
  /** Kernel size `[kh, kw]` (or one number for both); required. */
  kernelSize: number | readonly [number, number];
}

const GEOM = ['stride', 'padding', 'dilation', 'groups', 'padMode'];

function bad(msg: string, code = 'BITGRAD_INVALID_ARGUMENT'): never {
  throw new ValidationError(msg, code);
}

function bitsOf(v: unknown, name: string, layout: string): BitTensor {
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

interface Geom {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  padMode: 0 | 1;
}

function geometry(opts: Record<string, unknown>, extra: string[], name: string): Geom {
  for (const k of Object.keys(opts)) if (!GEOM.includes(k) && !extra.includes(k)) bad(`${name}: unknown option ${show(k)}`);
  const groups = opts.groups === undefined ? 1 : opts.groups;
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) bad(`groups must be a positive integer (got ${show(groups)})`);
  const padMode = opts.padMode === undefined || opts.padMode === 'zero' ? 0 : opts.padMode === 'one' ? 1 : bad(`padMode must be 'zero' or 'one' (got ${show(opts.padMode)})`);
  return { stride: pair(opts.stride, 'stride', 1, 1), padding: pair(opts.padding, 'padding', 0, 0), dilation: pair(opts.dilation, 'dilation', 1, 1), groups, padMode };
}

function outDim(i: number, k: number, s: number, p: number, d: number): number {
  const e = i + 2 * p - d * (k - 1) - 1;
  return e < 0 ? 0 : Math.floor(e / s) + 1;
}

/** gradOut as a rank-4 float32 tensor on `dev`. */
function gradTensor(v: unknown, dev: number, devName: string): Tensor {
  if (!(v instanceof Tensor)) return bad('gradOut must be a float32 tensor [N, Ho, Wo, Cout]', ArrayBuffer.isView(v) ? 'BITGRAD_INVALID_DTYPE' : 'BITGRAD_INVALID_ARGUMENT');
  void v.buffer;
  if (v.dtype !== 'float32') bad(`gradOut must be float32 (got ${v.dtype})`, 'BITGRAD_INVALID_DTYPE');
  if (v.shape.length !== 4) bad(`gradOut must be NHWC [N, Ho, Wo, Cout] (got [${v.shape.join(', ')}])`, 'BITGRAD_INVALID_SHAPE');
  if (deviceIndex(v.device) !== dev) bad(`gradOut is on ${v.device}, the bit operand on ${devName}`, 'BITGRAD_DEVICE_MISMATCH');
  return v;
}

interface PreparedConvBwd {
  spec: XnorConvBackwardSpec;
  result: Tensor;
  temps: Tensor[];
}

function alphaOperand(v: unknown, cout: number, dev: number, temps: Tensor[]): Operand | undefined {
  if (v === undefined) return undefined;
  let host: Float32Array;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(`alpha must be finite (got ${v})`);
    host = new Float32Array(cout).fill(v);
  } else if (v instanceof Float32Array) {
    if (v.length === cout) host = v;
    else if (v.length === 1) host = new Float32Array(cout).fill(v[0]);
    else return bad(`alpha has ${v.length} values; the output has ${cout} channels`, 'BITGRAD_SHAPE_MISMATCH');
  } else if (v instanceof Tensor) {
    if (v.dtype !== 'float32') bad(`alpha must be a float32 tensor (got ${v.dtype})`, 'BITGRAD_INVALID_DTYPE');
    if (deviceIndex(v.device) !== dev) bad(`alpha is on ${v.device}, the operands are not`, 'BITGRAD_DEVICE_MISMATCH');
    if (v.size !== cout) bad(`alpha has ${v.size} values; the output has ${cout} channels`, 'BITGRAD_SHAPE_MISMATCH');
    return v.buffer;
  } else {
    return bad('alpha must be a number, a Float32Array or a float32 tensor', ArrayBuffer.isView(v) ? 'BITGRAD_INVALID_DTYPE' : 'BITGRAD_INVALID_ARGUMENT');
  }
  if (dev < 0) return host;
  const t = tensor(host, [cout], { device: `cuda:${dev}` });
  temps.push(t);
  return t.buffer;
}

function baseSpec(n: number, h: number, w: number, c: number, xwords: number, cout: number, kh: number, kw: number, g: Geom, ho: number, wo: number, g0: Tensor): XnorConvBackwardSpec {
  const cg = c / g.groups;
  return {
    g: g0.buffer,
    n,
    h,
    w,
    c,
    xwords,
    cout,
    kh,
    kw,
    cg,
    gwords: Math.ceil(cg / 64),
    groups: g.groups,
    sh: g.stride[0],
    sw: g.stride[1],
    ph: g.padding[0],
    pw: g.padding[1],
    dh: g.dilation[0],
    dw: g.dilation[1],
    ho,
    wo,
    padMode: g.padMode,
  };
}

function prepareInput(gradOut: unknown, wv: unknown, rawOpts: unknown): PreparedConvBwd {
  const opts = checkOptions(rawOpts, 'conv2dBackwardInput');
  const g = geometry(opts, ['alpha', 'inputSize'], 'conv2dBackwardInput');
  const w = bitsOf(wv, 'w', 'weights');
  const dev = deviceIndex(w.device);
  const go = gradTensor(gradOut, dev, w.device);
  const [cout, kh, kw, cin] = w.shape;
  const [n, ho, wo, gc] = go.shape;
  if (gc !== cout) bad(`gradOut has ${gc} channels; w has Cout = ${cout}`, 'BITGRAD_SHAPE_MISMATCH');
  if (cout % g.groups !== 0) bad(`groups = ${g.groups} must divide Cout = ${cout}`, 'BITGRAD_SHAPE_MISMATCH');
  const c = cin * g.groups;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const dflt = (o: number, k: number, s: number, p: number, d: number) => Math.max(0, (o - 1) * s - 2 * p + d * (k - 1) + 1);
  const [h, wd] = opts.inputSize === undefined ? [dflt(ho, kh, sh, ph, dh), dflt(wo, kw, sw, pw, dw)] : pair(opts.inputSize, 'inputSize', 0, 0);
  if (outDim(h, kh, sh, ph, dh) !== ho || outDim(wd, kw, sw, pw, dw) !== wo)
    bad(`gradOut is ${ho}x${wo} but an input of ${h}x${wd} gives ${outDim(h, kh, sh, ph, dh)}x${outDim(wd, kw, sw, pw, dw)}`, 'BITGRAD_SHAPE_MISMATCH');
  const temps: Tensor[] = [];
  let result: Tensor | null = null;
  try {
    const alpha = alphaOperand(opts.alpha, cout, dev, temps);
    result = allocTensor([n, h, wd, c], 'float32', dev);
    const spec = baseSpec(n, h, wd, c, Math.ceil(c / 64), cout, kh, kw, g, ho, wo, go);
    spec.wt = w.buffer;
    spec.gx = result.buffer;
    if (alpha !== undefined) spec.alpha = alpha;
    return { spec, result, temps };
  } catch (e) {
    result?.dispose();
    for (const t of temps) t.dispose();
    throw e;
  }
}

function prepareWeight(gradOut: unknown, xv: unknown, rawOpts: unknown): PreparedConvBwd {
  const opts = checkOptions(rawOpts, 'conv2dBackwardWeight');
  const g = geometry(opts, ['kernelSize'], 'conv2dBackwardWeight');
  if (opts.kernelSize === undefined) bad('conv2dBackwardWeight: kernelSize is required');
  const [kh, kw] = pair(opts.kernelSize, 'kernelSize', 1, 1);
  const x = bitsOf(xv, 'x', 'nhwc');
  const dev = deviceIndex(x.device);
  const go = gradTensor(gradOut, dev, x.device);
  const [n, h, wd, c] = x.shape;
  const [gn, ho, wo, cout] = go.shape;
  if (c % g.groups !== 0 || cout % g.groups !== 0) bad(`groups = ${g.groups} must divide C = ${c} and Cout = ${cout}`, 'BITGRAD_SHAPE_MISMATCH');
  const eho = outDim(h, kh, g.stride[0], g.padding[0], g.dilation[0]);
  const ewo = outDim(wd, kw, g.stride[1], g.padding[1], g.dilation[1]);
  if (gn !== n || ho !== eho || wo !== ewo) bad(`gradOut is [${go.shape.join(', ')}]; x [${x.shape.join(', ')}] gives [${n}, ${eho}, ${ewo}, Cout]`, 'BITGRAD_SHAPE_MISMATCH');
  const result = allocTensor([cout, kh, kw, c / g.groups], 'float32', dev);
  const spec = baseSpec(n, h, wd, c, x.words, cout, kh, kw, g, ho, wo, go);
  spec.x = x.buffer;
  spec.gw = result.buffer;
  return { spec, result, temps: [] };
}

async function runAsync(p: PreparedConvBwd): Promise<Tensor<'float32'>> {
  try {
    await native().binding.xnorConvBackward(p.spec, true);
  } catch (e) {
    p.result.dispose();
    for (const t of p.temps) t.dispose();
    throw e;
  }
  for (const t of p.temps) t.dispose(); // stream-ordered on CUDA
  return p.result as Tensor<'float32'>;
}

function runSync(p: PreparedConvBwd): Tensor<'float32'> {
  try {
    native().binding.xnorConvBackward(p.spec, false);
  } catch (e) {
    p.result.dispose();
    for (const t of p.temps) t.dispose();
    throw e;
  }
  for (const t of p.temps) t.dispose();
  return p.result as Tensor<'float32'>;
}

/**
 * Gradient of `xnor.conv2d` with respect to its binarized input: the transposed
 * convolution of `gradOut` (float32 tensor NHWC `[N, Ho, Wo, Cout]`) with the ±1 weights
 * read from `w` (BitTensor `'weights'` `[Cout, kh, kw, C / groups]`), each output
 * channel's gradient scaled by `opts.alpha` first when given. Returns float32 NHWC
 * `[N, H, W, C]`, to chain through the input's estimator (e.g.
 * `bitgrad.binarize.ste.backward`). Same stride / padding / dilation / groups
 * conventions as `xnor.conv2d`; padded taps are constants, so `padMode` does not change
 * this gradient. `opts.inputSize` picks `H, W` when a stride > 1 makes it ambiguous.
 *
 * Implicit GEMM over the packed weights (CPU: AVX-512 / AVX2 FMAs with ±1 picked by the
 * bits, scalar; CUDA: one thread per element). Every element is the sum of the
 * coefficients, each with the sign of its bit (+c for +1, −c for −1), over
 * `j = tap·(Cout / groups) + co` (tap-major) in increasing order, float32 throughout, so results are
 * deterministic and bit-identical across SIMD paths, thread counts and CUDA
 * (native/ops/xnor_conv_train_args.h).
 *
 * @throws ValidationError `BITGRAD_SHAPE_MISMATCH` (channels, groups, sizes, alpha),
 *   `BITGRAD_INVALID_SHAPE` (gradOut not 4-d), `BITGRAD_INVALID_DTYPE`,
 *   `BITGRAD_INVALID_LAYOUT`, `BITGRAD_DISPOSED`, `BITGRAD_DEVICE_MISMATCH`,
 *   `BITGRAD_INVALID_ARGUMENT`; DeviceError on GPU failure
 */
export async function conv2dBackwardInput(gradOut: Tensor, w: BitTensor, opts?: Conv2dBackwardInputOptions): Promise<Tensor<'float32'>> {
  return runAsync(prepareInput(gradOut, w, opts));
}

/** Synchronous {@link conv2dBackwardInput}: runs on the calling thread for CPU data; stream-ordered on CUDA. */
export function conv2dBackwardInputSync(gradOut: Tensor, w: BitTensor, opts?: Conv2dBackwardInputOptions): Tensor<'float32'> {
  return runSync(prepareInput(gradOut, w, opts));
}

/**
 * Gradient of `xnor.conv2d` with respect to its (scaled) ±1 weights: the correlation of
 * `gradOut` (float32 tensor NHWC `[N, Ho, Wo, Cout]`) with the ±1 input read from `x`
 * (BitTensor `'nhwc'` `[N, H, W, C]`), giving float32 `[Cout, kh, kw, C / groups]`
 * (`opts.kernelSize` is required). Padded taps count as in the forward: 0 with
 * `padMode: 'zero'` (default), +1 with `'one'`. Multiply channel `co` by its alpha for
 * the gradient with respect to `W_b`.
 *
 * Implicit GEMM over the packed input (one tap's words gathered per output pixel);
 * every element is `2·(sum of the gradients whose bit is +1) − (sum of all)` over the
 * output pixels in increasing order, float32, so results are deterministic and
 * bit-identical across SIMD paths, thread counts and CUDA.
 *
 * @throws ValidationError as {@link conv2dBackwardInput}
 */
export async function conv2dBackwardWeight(gradOut: Tensor, x: BitTensor, opts: Conv2dBackwardWeightOptions): Promise<Tensor<'float32'>> {
  return runAsync(prepareWeight(gradOut, x, opts));
}

/** Synchronous {@link conv2dBackwardWeight}: runs on the calling thread for CPU data; stream-ordered on CUDA. */
export function conv2dBackwardWeightSync(gradOut: Tensor, x: BitTensor, opts: Conv2dBackwardWeightOptions): Tensor<'float32'> {
  return runSync(prepareWeight(gradOut, x, opts));
}

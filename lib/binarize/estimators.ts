/**
 * Straight-through estimators (STE): a sign in the forward pass, a surrogate gradient in
 * the backward pass. Every estimator is one object with the same four methods:
 *
 * ```ts
 * const b = await bitgrad.binarize.ste.forward(x);                 // sign(x), +1 at 0
 * const { grad } = await bitgrad.binarize.ste.backward(x, g);      // g * 1{|x| <= 1}
 * const { grad: dx, alphaGrad } = bitgrad.binarize.rsign.backwardSync(x, g, { alpha, shape: [N, C, H, W] });
 * ```
 *
 * `forward(x, opts)` / `backward(x, g, opts)` return promises (large CPU inputs run off
 * the main thread; CUDA work completes asynchronously); `forwardSync` / `backwardSync`
 * compute on the calling thread (CUDA: enqueue and return). Inputs are a Float32Array
 * (results are Float32Arrays) or a float32 tensor on the CPU or a GPU (results are
 * tensors on the same device).
 *
 * Conventions (all estimators): the forward sign is +1 for x >= 0 (compared by value,
 * so -0 gives +1) unless `zeroMode: 'zero'` (0 at x == 0, as PyTorch's `sign`); +-Infinity
 * binarize to +-1; NaN propagates to the output and to the gradient; gradient windows
 * pass |x| == bound unless `steBoundary: 'exclusive'`.
 * @packageDocumentation
 */
import type { EstimatorSpec, Operand } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, shapeSize, tensor } from '../tensor';
import { checkOptions } from '../validate';

/** An estimator input: host data or a float32 tensor. */
export type EstimatorInput = Float32Array | Tensor;
/** The output type for an input type: Float32Array for host data, a float32 tensor for tensors. */
export type EstimatorOutput<T extends EstimatorInput> = T extends Tensor ? Tensor<'float32'> : Float32Array;

/** Options every estimator takes. */
export interface EstimatorOptions {
  /** Forward value at x == 0 (and -0): `'plusOne'` (default, the package and bit-packing rule) or `'zero'` (PyTorch `sign`). */
  zeroMode?: 'plusOne' | 'zero';
  /** Gradient window boundary: `'inclusive'` (default, |x| == bound passes, as clamp-based STEs) or `'exclusive'` (as `F.hardtanh`). */
  steBoundary?: 'inclusive' | 'exclusive';
  /** Shape of a Float32Array input (default `[length]`); needed for per-channel parameters. */
  shape?: readonly number[];
  /**
   * Write the forward output / dL/dx into this Float32Array or float32 tensor (same
   * element count, shape and device as x) instead of a new one, so a training loop
   * reuses its buffers. It may be x or g itself.
   */
  into?: Float32Array | Tensor;
}

/** Backward result: the gradient with respect to the input. */
export interface BackwardResult<T extends EstimatorInput> {
  /** dL/dx = g * (surrogate derivative), same shape and device as x. */
  grad: EstimatorOutput<T>;
}

/** One straight-through estimator: forward and backward, async and sync. */
export interface Estimator<O extends EstimatorOptions, R> {
  /** Name under `bitgrad.binarize`. */
  readonly name: string;
  /** The binarized input (async). */
  forward<T extends EstimatorInput>(x: T, opts?: O): Promise<EstimatorOutput<T>>;
  /** The binarized input, computed on the calling thread (CUDA: enqueued). */
  forwardSync<T extends EstimatorInput>(x: T, opts?: O): EstimatorOutput<T>;
  /** Gradients given the upstream gradient `g` (same shape as x) (async). */
  backward<T extends EstimatorInput>(x: T, g: T, opts?: O): Promise<R & BackwardResult<T>>;
  /** Gradients computed on the calling thread (CUDA: enqueued). */
  backwardSync<T extends EstimatorInput>(x: T, g: T, opts?: O): R & BackwardResult<T>;
}

// Native kinds: the order of EstKind in native/ops/estimator_args.h.
const KIND = { ste: 0, approxSign: 1, swishSign: 2, reste: 3, biper: 4, ede: 5, rsign: 6, fda: 7, elastic: 8 } as const;

type Hyper = Omit<EstimatorSpec, 'kind' | 'backward' | 'n' | 'x' | 'g' | 'out' | 'param' | 'paramDiv' | 'paramMod' | 'dparam'>;

function positive(v: unknown, name: string, dflt: number, min = 0, inclusiveMin = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (inclusiveMin ? v < min : v <= min))
    throw new ValidationError(`${name} must be a finite number ${inclusiveMin ? '>=' : '>'} ${min} (got ${show(v)})`, 'BITGRAD_INVALID_ARGUMENT');
  return v;
}

function common(opts: EstimatorOptions): Hyper {
  const z = opts.zeroMode;
  if (z !== undefined && z !== 'plusOne' && z !== 'zero')
    throw new ValidationError(`zeroMode must be 'plusOne' or 'zero' (got ${show(z)})`, 'BITGRAD_INVALID_ARGUMENT');
  const b = opts.steBoundary;
  if (b !== undefined && b !== 'inclusive' && b !== 'exclusive')
    throw new ValidationError(`steBoundary must be 'inclusive' or 'exclusive' (got ${show(b)})`, 'BITGRAD_INVALID_ARGUMENT');
  return { zero: z === 'zero' ? 0 : 1, inclusive: b !== 'exclusive' };
}

function f32(v: number, name: string): number {
  const r = Math.fround(v);
  if (!Number.isFinite(r)) throw new ValidationError(`${name} is out of float32 range`, 'BITGRAD_INVALID_ARGUMENT');
  return r;
}

/** A per-channel parameter as given by the user. */
type ParamLike = number | Float32Array | Tensor;

interface ParamDesc {
  value: unknown;
  name: string;
  axis: unknown;
}

interface Prepared<R> {
  spec: EstimatorSpec;
  finish(): R;
  fail(): void;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function channelForm(shape: readonly number[], axisRaw: unknown, len: number, name: string): { div: number; mod: number } {
  if (len === 1) return { div: 1, mod: 1 };
  const rank = shape.length;
  const dflt = rank >= 2 ? 1 : 0;
  const axis0 = axisRaw === undefined ? dflt : axisRaw;
  if (typeof axis0 !== 'number' || !Number.isInteger(axis0) || axis0 < -rank || axis0 >= rank)
    throw new ValidationError(`channelAxis must be an integer in [${-rank}, ${rank - 1}] (got ${show(axis0)})`, 'BITGRAD_INVALID_ARGUMENT');
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  if (shape[axis] !== len)
    throw new ValidationError(
      `${name} has ${len} values but axis ${axis} of the input [${shape.join(', ')}] has ${shape[axis]}`,
      'BITGRAD_SHAPE_MISMATCH',
    );
  let div = 1;
  for (let j = axis + 1; j < rank; j++) div *= shape[j];
  return { div: Math.max(div, 1), mod: len };
}

function prepare(kind: number, fname: string, x: unknown, g: unknown, backward: boolean, hyper: Hyper, param: ParamDesc | null, opts: EstimatorOptions): Prepared<Record<string, unknown>> {
  const paramGradKey = param ? `${param.name}Grad` : '';
  if (x instanceof Float32Array) {
    const n = x.length;
    if (backward && !(g instanceof Float32Array))
      throw new ValidationError(`${fname}: g must be a Float32Array like x`, 'BITGRAD_INVALID_DTYPE');
    if (backward && (g as Float32Array).length !== n)
      throw new ValidationError(`${fname}: x has ${n} elements but g has ${(g as Float32Array).length}`, 'BITGRAD_SHAPE_MISMATCH');
    const shape = opts.shape ?? [n];
    if (shapeSize(shape as number[], 'shape') !== n)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
    const into = opts.into;
    if (into !== undefined && !(into instanceof Float32Array && into.length === n))
      throw new ValidationError(`into must be a Float32Array of ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
    const out = into ?? new Float32Array(n);
    const spec: EstimatorSpec = { ...hyper, kind, backward, n, x, out };
    if (backward) spec.g = g as Float32Array;
    let dparam: Float32Array | undefined;
    if (param) {
      let data: Float32Array;
      if (typeof param.value === 'number') data = Float32Array.of(f32(param.value, param.name));
      else if (param.value instanceof Float32Array) data = param.value;
      else throw new ValidationError(`${param.name} must be a number or a Float32Array for Float32Array inputs`, 'BITGRAD_INVALID_ARGUMENT');
      if (data.length === 0) throw new ValidationError(`${param.name} is empty`, 'BITGRAD_SHAPE_MISMATCH');
      const form = channelForm(shape, param.axis, data.length, param.name);
      spec.param = data;
      spec.paramDiv = form.div;
      spec.paramMod = form.mod;
      if (backward) spec.dparam = dparam = new Float32Array(data.length);
    }
    return {
      spec,
      finish: () => (backward ? { grad: out, ...(param ? { [paramGradKey]: dparam } : {}) } : { out }),
      fail: () => undefined,
    };
  }
  if (!(x instanceof Tensor)) throw new ValidationError(`${fname}: x must be a Float32Array or a float32 tensor`, 'BITGRAD_INVALID_ARGUMENT');
  if (x.dtype !== 'float32') throw new ValidationError(`${fname}: x must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
  if (opts.shape !== undefined) throw new ValidationError(`${fname}: shape is only for Float32Array inputs (tensors carry theirs)`, 'BITGRAD_INVALID_ARGUMENT');
  const device = x.device;
  const dev = deviceIndex(device);
  const shape = x.shape;
  const n = x.size;
  if (backward) {
    if (!(g instanceof Tensor)) throw new ValidationError(`${fname}: g must be a tensor like x`, 'BITGRAD_INVALID_ARGUMENT');
    if (g.dtype !== 'float32') throw new ValidationError(`${fname}: g must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
    if (!sameShape(g.shape, shape))
      throw new ValidationError(`${fname}: x [${shape.join(', ')}] and g [${g.shape.join(', ')}] must have the same shape`, 'BITGRAD_SHAPE_MISMATCH');
    if (g.device !== device) throw new ValidationError(`${fname}: x is on ${device} but g on ${g.device}`, 'BITGRAD_DEVICE_MISMATCH');
  }
  const xb = x.buffer;
  const gb = backward ? (g as Tensor).buffer : undefined;
  const temps: Tensor[] = [];
  let paramT: Tensor | undefined;
  if (param) {
    if (typeof param.value === 'number') {
      paramT = tensor(Float32Array.of(f32(param.value, param.name)), [1], { device });
      temps.push(paramT);
    } else if (param.value instanceof Tensor) {
      const p = param.value;
      if (p.dtype !== 'float32') throw new ValidationError(`${param.name} must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
      if (p.device !== device) throw new ValidationError(`${param.name} is on ${p.device} but x on ${device}`, 'BITGRAD_DEVICE_MISMATCH');
      if (p.shape.length > 1) throw new ValidationError(`${param.name} must be 1-D (one value per channel)`, 'BITGRAD_SHAPE_MISMATCH');
      if (p.size === 0) throw new ValidationError(`${param.name} is empty`, 'BITGRAD_SHAPE_MISMATCH');
      paramT = p;
    } else {
      throw new ValidationError(`${param.name} must be a number or a tensor for tensor inputs`, 'BITGRAD_INVALID_ARGUMENT');
    }
  }
  const form = param && paramT ? channelForm(shape, param.axis, paramT.size, param.name) : null;
  const into = opts.into;
  if (into !== undefined && !(into instanceof Tensor && into.dtype === 'float32' && sameShape(into.shape, shape) && into.device === device))
    throw new ValidationError(`into must be a float32 tensor of shape [${shape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
  if (into !== undefined) void into.buffer; // throws BITGRAD_DISPOSED before any allocation
  const outT = (into as Tensor<'float32'> | undefined) ?? allocTensor(shape, 'float32', dev);
  let dpT: Tensor<'float32'> | undefined;
  const fail = () => {
    if (outT !== into) outT.dispose();
    dpT?.dispose();
    for (const t of temps) t.dispose();
  };
  try {
    const spec: EstimatorSpec = { ...hyper, kind, backward, n, x: xb, out: outT.buffer };
    if (gb) spec.g = gb;
    if (param && paramT && form) {
      spec.param = paramT.buffer as Operand;
      spec.paramDiv = form.div;
      spec.paramMod = form.mod;
      if (backward) {
        dpT = allocTensor(paramT.shape.length === 0 ? [] : [paramT.size], 'float32', dev);
        spec.dparam = dpT.buffer;
      }
    }
    return {
      spec,
      finish: () => {
        for (const t of temps) t.dispose(); // stream-ordered on CUDA; CPU work has finished
        return backward ? { grad: outT, ...(param ? { [paramGradKey]: dpT } : {}) } : { out: outT };
      },
      fail,
    };
  } catch (e) {
    fail();
    throw e;
  }
}

function makeEstimator<O extends EstimatorOptions, R>(
  name: keyof typeof KIND,
  parse: (opts: O) => Hyper,
  paramOf?: (opts: O) => ParamDesc,
): Estimator<O, R> {
  const kind = KIND[name];
  const run = (x: unknown, g: unknown, backward: boolean, rawOpts: unknown, async: boolean): unknown => {
    const fname = `binarize.${name}.${backward ? 'backward' : 'forward'}${async ? '' : 'Sync'}`;
    const opts = checkOptions(rawOpts, fname) as O;
    const hyper = { ...common(opts), ...parse(opts) };
    const param = paramOf ? paramOf(opts) : null;
    const p = prepare(kind, fname, x, g, backward, hyper, param, opts);
    const pick = (r: Record<string, unknown>) => (backward ? r : r.out);
    if (!async) {
      try {
        native().binding.estimator(p.spec, false);
      } catch (e) {
        p.fail();
        throw e;
      }
      return pick(p.finish());
    }
    return native()
      .binding.estimator(p.spec, true)
      .then(
        () => pick(p.finish()),
        (e: unknown) => {
          p.fail();
          throw e;
        },
      );
  };
  const asyncRun = (x: unknown, g: unknown, backward: boolean, opts: unknown): Promise<never> => {
    try {
      return run(x, g, backward, opts, true) as Promise<never>;
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return Object.freeze({
    name,
    forward: (x: unknown, opts?: unknown) => asyncRun(x, undefined, false, opts),
    forwardSync: (x: unknown, opts?: unknown) => run(x, undefined, false, opts, false) as never,
    backward: (x: unknown, g: unknown, opts?: unknown) => asyncRun(x, g, true, opts),
    backwardSync: (x: unknown, g: unknown, opts?: unknown) => run(x, g, true, opts, false) as never,
  }) as Estimator<O, R>;
}

// ---- estimators ---------------------------------------------------------------------

/** Options of {@link ste}. */
export interface SteOptions extends EstimatorOptions {
  /** Half-width of the gradient window (default 1). */
  clip?: number;
}

/**
 * Hardtanh straight-through estimator (BinaryConnect forward; BNN / BinaryNet backward,
 * Courbariaux et al. 2015/2016): forward `sign(x)`, backward `dL/dx = g * 1{|x| <= clip}`
 * (`clip` default 1; `steBoundary: 'exclusive'` uses `|x| < clip`). NaN passes NaN.
 */
export const ste: Estimator<SteOptions, {}> = makeEstimator<SteOptions, {}>('ste', (o) => ({ clip: f32(positive(o.clip, 'clip', 1), 'clip') }));

/**
 * Bi-Real Net ApproxSign (Liu et al., ECCV 2018): forward `sign(x)`, backward the
 * derivative of the piecewise-quadratic surrogate, `dL/dx = g * max(0, 2 - 2|x|)`
 * (2 at x = 0, 0 for |x| >= 1). No hyper-parameters.
 */
export const approxSign: Estimator<EstimatorOptions, {}> = makeEstimator<EstimatorOptions, {}>('approxSign', () => ({}));

/** Options of {@link swishSign}. */
export interface SwishSignOptions extends EstimatorOptions {
  /** Sharpness beta > 0 (default 5, our choice; the gradient at 0 equals beta). */
  beta?: number;
}

/**
 * SwishSign (BNN+, Darabi et al. 2018): forward `sign(x)`, backward the derivative of
 * `2 sigmoid(beta x) [1 + beta x (1 - sigmoid(beta x))] - 1`, i.e.
 * `dL/dx = g * beta [2 - beta x tanh(beta x / 2)] / (1 + cosh(beta x))`
 * (evaluated without overflow; beta at x = 0, slightly negative for large |x|, 0 at +-Infinity).
 */
export const swishSign: Estimator<SwishSignOptions, {}> = makeEstimator<SwishSignOptions, {}>('swishSign', (o) => ({
  beta: f32(positive(o.beta, 'beta', 5), 'beta'),
}));

/** Options of {@link reste}. */
export interface ResteOptions extends EstimatorOptions {
  /** Power o >= 1 (default 3, the paper's end value; see {@link resteSchedule}). o = 1 is the identity STE clipped at t. */
  o?: number;
  /** Gradient threshold t (default 1.5, code constant): 0 beyond |x| > t. */
  t?: number;
  /** Near-zero half-width delta (default 0.1, code constant), 0 < delta < t. */
  delta?: number;
}

/**
 * ReSTE, rectified straight-through estimator (Wu et al., ICCV 2023): forward `sign(x)`;
 * backward the derivative of the rectified power function `sign(x)|x|^(1/o)`:
 * `dL/dx = g (1/o)|x|^((1-o)/o)` for `delta < |x| <= t`, `g delta^((1-o)/o)` for `|x| <= delta`
 * (the secant slope, finite at 0), `0` beyond t. Defaults o = 3, t = 1.5, delta = 0.1.
 */
export const reste: Estimator<ResteOptions, {}> = makeEstimator<ResteOptions, {}>('reste', (opt) => {
  const o = positive(opt.o, 'o', 3, 1, true);
  const t = positive(opt.t, 't', 1.5);
  const delta = positive(opt.delta, 'delta', 0.1);
  if (!(delta < t)) throw new ValidationError('delta must be smaller than t', 'BITGRAD_INVALID_ARGUMENT');
  const expo = (1 - o) / o;
  return { invO: 1 / o, expo, slope0: f32(Math.pow(Math.fround(delta), expo), 'slope0'), t: f32(t, 't'), delta: f32(delta, 'delta') };
});

/**
 * ReSTE's power schedule: `o(e) = 1 + (oEnd - 1)(1 - cos(pi/2 * e/E))`, growing from 1
 * at epoch 0 to oEnd at epoch E (`e` 0-based; default oEnd = 3).
 */
export function resteSchedule(e: number, E: number, oEnd = 3): number {
  positive(e, 'e', 0, 0, true);
  positive(E, 'E', 0);
  positive(oEnd, 'oEnd', 1, 1, true);
  return 1 + (oEnd - 1) * (1 - Math.cos((Math.PI / 2) * (e / E)));
}

/** Options of {@link biper}. */
export interface BiperOptions extends EstimatorOptions {
  /** Frequency omega0 > 0 of the square wave (default 20, as in all BiPer scripts). */
  omega0?: number;
}

/**
 * BiPer weights (Vargas et al., CVPR 2024): forward the square wave `sign(sin(omega0 x))`,
 * backward through the sine surrogate, `dL/dx = g omega0 cos(omega0 x)` (no window).
 * +-Infinity give +-1 forward and gradient 0 (package rule). Default omega0 = 20.
 * The SIMD paths are accurate (<= 1.6 ulp sin/cos, checked for every float) for |omega0 x| <= 2^17.
 */
export const biper: Estimator<BiperOptions, {}> = makeEstimator<BiperOptions, {}>('biper', (o) => ({
  omega: f32(positive(o.omega0, 'omega0', 20), 'omega0'),
}));

/** Options of {@link ede}. */
export interface EdeOptions extends EstimatorOptions {
  /** Sharpness t > 0 (default 1; see {@link edeSchedule}). */
  t?: number;
  /** Gain k > 0 (default max(1/t, 1)). */
  k?: number;
}

/**
 * IR-Net error decay estimator (Qin et al., CVPR 2020): forward `sign(x)`, backward
 * `dL/dx = g k t (1 - tanh^2(t x))`, computed as `4kt e^{-2t|x|} / (1 + e^{-2t|x|})^2`
 * (no cancellation in the tails). Defaults t = 1, k = max(1/t, 1).
 */
export const ede: Estimator<EdeOptions, {}> = makeEstimator<EdeOptions, {}>('ede', (o) => {
  const t = positive(o.t, 't', 1);
  const k = positive(o.k, 'k', Math.max(1 / t, 1));
  return { kt4: f32(4 * k * t, '4kt'), t2: f32(2 * t, '2t') };
});

/**
 * IR-Net's EDE schedule for epoch `e` (0-based) of `E`: `t = tMin (tMax/tMin)^(e/E)`,
 * `k = max(1/t, 1)`. Defaults tMin = 1e-3, tMax = 10 (the CIFAR-10 trainer).
 */
export function edeSchedule(e: number, E: number, tMin = 1e-3, tMax = 10): { t: number; k: number } {
  positive(e, 'e', 0, 0, true);
  positive(E, 'E', 0);
  positive(tMin, 'tMin', 0);
  positive(tMax, 'tMax', 0);
  const t = tMin * Math.pow(tMax / tMin, e / E);
  return { t, k: Math.max(1 / t, 1) };
}

/** Options of {@link rsign}. */
export interface RsignOptions extends EstimatorOptions {
  /** Per-channel thresholds alpha_c (one value per channel, or a number for all). Required. */
  alpha?: ParamLike;
  /** Channel axis of x (default 1 for rank >= 2, as NCHW; 0 for 1-D). Negative counts from the end. */
  channelAxis?: number;
}

/** Extra backward output of {@link rsign}. */
export interface RsignGrads {
  /** dL/dalpha_c = -sum over the other axes of g max(0, 2 - 2|x - alpha_c|) (a Float32Array or tensor like alpha). */
  alphaGrad: Float32Array | Tensor<'float32'>;
}

/**
 * ReActNet RSign with learnable per-channel thresholds (Liu et al., ECCV 2020; also the
 * learnable sign threshold of CSCE-Net hashing): forward `sign(x - alpha_c)` (+1 at
 * equality by the package rule), backward `dL/dx = g max(0, 2 - 2|x - alpha_c|)` and
 * `dL/dalpha_c = -sum_{other axes} (the same)`, summed deterministically.
 */
export const rsign: Estimator<RsignOptions, RsignGrads> = makeEstimator<RsignOptions, RsignGrads>(
  'rsign',
  () => ({}),
  (o) => {
    if (o.alpha === undefined) throw new ValidationError('rsign needs alpha (per-channel thresholds)', 'BITGRAD_INVALID_ARGUMENT');
    return { value: o.alpha, name: 'alpha', axis: o.channelAxis };
  },
);

/** Options of {@link fda}. */
export interface FdaOptions extends EstimatorOptions {
  /** Base frequency omega > 0 (default 0.1, as BiBench). */
  omega?: number;
  /** Highest series index n >= 0 (integer, default 9; see {@link fdaSchedule}). */
  n?: number;
  /** Window half-width (default 1). */
  clip?: number;
}

/**
 * FDA, Fourier-series sign gradient (Xu et al., NeurIPS 2021; BiBench operator): forward
 * `sign(x)`, backward `dL/dx = g (4 omega/pi) sum_{i=0..n} cos((2i+1) omega x)` for
 * `|x| <= clip`, else 0. When `omega clip <= pi/4` and `n <= 32` (the BiBench range) the
 * sum is accumulated term by term with a cosine recurrence in difference form (accurate
 * near x = 0); otherwise it is evaluated in closed form as
 * `sin(2(n+1) omega x) / (2 sin(omega x))`. Defaults omega = 0.1, n = 9, clip = 1.
 */
export const fda: Estimator<FdaOptions, {}> = makeEstimator<FdaOptions, {}>('fda', (o) => {
  const omega = positive(o.omega, 'omega', 0.1);
  const n = o.n === undefined ? 9 : o.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1e6)
    throw new ValidationError(`n must be an integer in [0, 1e6] (got ${show(n)})`, 'BITGRAD_INVALID_ARGUMENT');
  return {
    omega: f32(omega, 'omega'),
    fdaScale: f32((4 * omega) / Math.PI, 'omega'),
    fdaM: f32(2 * (n + 1) * omega, 'omega'),
    fdaTerms: n + 1,
    clip: f32(positive(o.clip, 'clip', 1), 'clip'),
  };
});

/** BiBench's FDA schedule: the series index `n = 9 + floor(9 e / E)` for epoch e of E. */
export function fdaSchedule(e: number, E: number): number {
  positive(e, 'e', 0, 0, true);
  positive(E, 'E', 0);
  return 9 + Math.floor((9 * e) / E);
}

/** Options of {@link elastic}. */
export interface ElasticOptions extends EstimatorOptions {
  /** The learnable scale alpha > 0 (a number, or one value per channel). Required; see `elasticInit`. */
  alpha?: ParamLike;
  /** `'binary'` (default, signed: alpha sign(x)), `'ternary'` (signed 2-bit: alpha clip(round(x/alpha), -1, 1)) or `'unsignedBinary'` (alpha clip(round(x/alpha), 0, 1)). */
  mode?: 'binary' | 'ternary' | 'unsignedBinary';
  /** LSQ gradient scale s of dL/dalpha (default 1/sqrt(N), N = number of elements, Qp = 1). */
  gradScale?: number;
  /** Channel axis for a per-channel alpha (default 1 for rank >= 2). */
  channelAxis?: number;
}

/** Extra backward output of {@link elastic}. */
export interface ElasticGrads {
  /** dL/dalpha = s sum g c (a Float32Array or tensor like alpha). */
  alphaGrad: Float32Array | Tensor<'float32'>;
}

/**
 * Elastic (LSQ-style) binary / ternary activation quantizer of the binary / ternary NLG
 * transformer (TBT, Liu et al., ACL 2023) with a learnable scale alpha: with `q = x/alpha`,
 * forward `alpha sign(x)` (binary), `alpha clip(round(q), -1, 1)` (ternary, ties to even) or
 * `alpha clip(round(q), 0, 1)` (unsignedBinary); backward `dL/dx = g 1{Qn <= q <= Qp}`
 * (boundaries pass; Qn = -1 signed, 0 unsigned; Qp = 1) and
 * `dL/dalpha = s sum g c` with `c = sign(x)` (binary) or `Qn` below, `Qp` above,
 * `round(q) - q` inside; `s = 1/sqrt(N Qp)`. Use `elasticInit` for the first-batch init.
 */
export const elastic: Estimator<ElasticOptions, ElasticGrads> = makeEstimator<ElasticOptions, ElasticGrads>(
  'elastic',
  (o) => {
    const m = o.mode ?? 'binary';
    if (m !== 'binary' && m !== 'ternary' && m !== 'unsignedBinary')
      throw new ValidationError(`mode must be 'binary', 'ternary' or 'unsignedBinary' (got ${show(m)})`, 'BITGRAD_INVALID_ARGUMENT');
    const h: Hyper = { lsqMode: m === 'binary' ? 0 : m === 'ternary' ? 1 : 2 };
    if (o.gradScale !== undefined) h.lsqGs = f32(positive(o.gradScale, 'gradScale', 1), 'gradScale');
    return h;
  },
  (o) => {
    if (o.alpha === undefined) throw new ValidationError('elastic needs alpha (the learnable scale)', 'BITGRAD_INVALID_ARGUMENT');
    return { value: o.alpha, name: 'alpha', axis: o.channelAxis };
  },
);

/**
 * Scaling factors and row-statistic binarizers (issue 4 items 1-2): per-output-channel
 * scales computed from weight statistics (XNOR-Net / Bi-Real / DoReFa, IR-Net Libra-PB,
 * ReCU, TBT ternary), learnable scales with their gradients (BiViT, BinaryDM multi-basis,
 * XNOR++), and the XNOR-Net activation scale K.
 *
 * Weights are viewed as `rows x cols`: rows = the first axis of `shape` (output
 * channels, `[Cout, Cin, kh, kw]` or `[out, in]`), cols = everything else. A Float32Array
 * without `shape` is one row (a layer-wide statistic). Every statistic is a deterministic
 * reduction (fixed-order partials in double on the CPU, fixed-shape block reductions on
 * CUDA). Forward returns `{ out, alpha }` (alpha: the scale(s) used, one per row);
 * backward returns `{ grad }` plus `alphaGrad` for learnable scales. As with the
 * estimators, `into` names a buffer for the forward `out` / the backward `grad` (same
 * element count, shape and device as the input), so a training loop reuses its buffers.
 *
 * ```ts
 * const { out, alpha } = bitgrad.binarize.xnor.forwardSync(W, { shape: [64, 3, 3, 3] });
 * const { grad } = bitgrad.binarize.xnor.backwardSync(W, g, { shape: [64, 3, 3, 3], scaleGrad: 'full' });
 * ```
 * @packageDocumentation
 */
import type { Operand } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, shapeSize } from '../tensor';
import { checkOptions } from '../validate';

/** Host data or a float32 tensor (CPU or GPU). */
export type ScaleInput = Float32Array | Tensor;
/** Float32Array for host inputs, a float32 tensor on the same device for tensors. */
export type ScaleOutput<T extends ScaleInput> = T extends Tensor ? Tensor<'float32'> : Float32Array;

/** Options every row-statistic binarizer takes. */
export interface RowOptions {
  /** Forward value at 0: `'plusOne'` (default) or `'zero'` (PyTorch `sign`). */
  zeroMode?: 'plusOne' | 'zero';
  /** STE window boundary: `'inclusive'` (default, clamp-based STEs) or `'exclusive'` (`F.hardtanh`, BiBench DoReFa / XNOR++, BiViT). */
  steBoundary?: 'inclusive' | 'exclusive';
  /** Shape of a Float32Array input (default `[length]`, one row); the first axis is the output channel. */
  shape?: readonly number[];
  /**
   * Write the forward `out` / the backward `grad` (dL/dW) into this Float32Array or float32
   * tensor (same element count, shape and device as the input) instead of a new one, so a
   * training loop reuses its buffers; the result holds this very object. Wrong length,
   * shape, device or dtype: `BITGRAD_SHAPE_MISMATCH`; a disposed tensor: `BITGRAD_DISPOSED`.
   * Unlike the estimators it must not be (or overlap) the input or g (the row statistics and
   * gradient sums read them after the output is written): `BITGRAD_INVALID_ARGUMENT`.
   */
  into?: Float32Array | Tensor;
}

/** Forward result of a row-statistic binarizer. */
export interface RowForward<T extends ScaleInput> {
  /** The binarized (scaled) weights, same shape and device as the input. */
  out: ScaleOutput<T>;
  /** The scale(s) used: one per row (multiBasis: `[bases][rows]`; recu: the clamp bound Q, one value; recuActivation: the per-sample divisor s). */
  alpha: ScaleOutput<T>;
}

/** Backward result: dL/dW and, for learnable scales, dL/dalpha. */
export interface RowBackward<T extends ScaleInput> {
  /** dL/dW, same shape and device as the input. */
  grad: ScaleOutput<T>;
  /** dL/dalpha (bivitWeights, multiBasis), laid out like `alpha`. */
  alphaGrad?: ScaleOutput<T>;
}

/** A row-statistic binarizer: forward and backward, async and sync. */
export interface RowBinarizer<O extends RowOptions> {
  /** Name under `bitgrad.binarize`. */
  readonly name: string;
  /** Binarized weights and the scale(s) used (async). */
  forward<T extends ScaleInput>(w: T, opts?: O): Promise<RowForward<T>>;
  /** Same, on the calling thread (CUDA: enqueued). */
  forwardSync<T extends ScaleInput>(w: T, opts?: O): RowForward<T>;
  /** Gradients given the upstream gradient `g` (same shape as w) (async). */
  backward<T extends ScaleInput>(w: T, g: T, opts?: O): Promise<RowBackward<T>>;
  /** Same, on the calling thread (CUDA: enqueued). */
  backwardSync<T extends ScaleInput>(w: T, g: T, opts?: O): RowBackward<T>;
}

// Native kinds: the order of ScaleKind in native/ops/scale_args.h.
const KIND = { mas: 0, ternary: 1, libra: 2, recu: 3, bivit: 4, multi: 5, recuAct: 6 } as const;

type Spec = Record<string, unknown>;

function bad(msg: string, code = 'BITGRAD_INVALID_ARGUMENT'): ValidationError {
  return new ValidationError(msg, code);
}

function num(v: unknown, name: string, dflt: number, lo: number, hi: number, loIncl = false, hiIncl = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (loIncl ? v < lo : v <= lo) || (hiIncl ? v > hi : v >= hi))
    throw bad(`${name} must be a finite number in ${loIncl ? '[' : '('}${lo}, ${hi}${hiIncl ? ']' : ')'} (got ${show(v)})`);
  return v;
}

function enumOpt<T extends string>(v: unknown, name: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw bad(`${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')} (got ${show(v)})`);
  return v as T;
}

function common(o: RowOptions): Spec {
  const z = enumOpt(o.zeroMode, 'zeroMode', ['plusOne', 'zero'], 'plusOne');
  const b = enumOpt(o.steBoundary, 'steBoundary', ['inclusive', 'exclusive'], 'inclusive');
  return { zero: z === 'zero' ? 0 : 1, inclusive: b === 'inclusive' };
}

/** Where a call's inputs live and how to make outputs like them. */
interface Io {
  shape: readonly number[];
  n: number;
  device: number | null; // null: host
  op(v: ScaleInput): Operand;
  alloc(count: number, shape?: readonly number[]): ScaleInput;
  owned: Tensor[];
  fail(): void;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function makeIo(fname: string, x: unknown, g: unknown, backward: boolean, shapeOpt: unknown): Io {
  if (x instanceof Float32Array) {
    const n = x.length;
    if (backward && !(g instanceof Float32Array)) throw bad(`${fname}: g must be a Float32Array like the input`, 'BITGRAD_INVALID_DTYPE');
    if (backward && (g as Float32Array).length !== n) throw bad(`${fname}: the input has ${n} elements but g has ${(g as Float32Array).length}`, 'BITGRAD_SHAPE_MISMATCH');
    const shape = (shapeOpt ?? [n]) as number[];
    if (shapeSize(shape, 'shape') !== n) throw bad(`shape [${shape.join(', ')}] does not have ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
    return {
      shape, n, device: null, owned: [],
      op: (v) => v as Float32Array,
      alloc: (c) => new Float32Array(c),
      fail: () => undefined,
    };
  }
  if (!(x instanceof Tensor)) throw bad(`${fname}: the input must be a Float32Array or a float32 tensor`);
  if (x.dtype !== 'float32') throw bad(`${fname}: the input must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
  if (shapeOpt !== undefined) throw bad(`${fname}: shape is only for Float32Array inputs (tensors carry theirs)`);
  if (backward) {
    if (!(g instanceof Tensor)) throw bad(`${fname}: g must be a tensor like the input`);
    if (g.dtype !== 'float32') throw bad(`${fname}: g must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
    if (!sameShape(g.shape, x.shape)) throw bad(`${fname}: input [${x.shape.join(', ')}] and g [${g.shape.join(', ')}] must have the same shape`, 'BITGRAD_SHAPE_MISMATCH');
    if (g.device !== x.device) throw bad(`${fname}: the input is on ${x.device} but g on ${g.device}`, 'BITGRAD_DEVICE_MISMATCH');
  }
  const dev = deviceIndex(x.device);
  const owned: Tensor[] = [];
  return {
    shape: x.shape, n: x.size, device: dev, owned,
    op: (v) => (v as Tensor).buffer as Operand,
    alloc: (c, shape) => {
      const t = allocTensor(shape ?? [c], 'float32', dev);
      owned.push(t);
      return t;
    },
    fail: () => {
      for (const t of owned) t.dispose();
    },
  };
}

/** A user-given parameter vector of `count` floats, on the input's device. */
function paramOf(io: Io, v: unknown, name: string, count: number): ScaleInput {
  if (io.device === null) {
    if (!(v instanceof Float32Array)) throw bad(`${name} must be a Float32Array for Float32Array inputs`);
    if (v.length !== count) throw bad(`${name} has ${v.length} values, expected ${count}`, 'BITGRAD_SHAPE_MISMATCH');
    return v;
  }
  if (!(v instanceof Tensor)) throw bad(`${name} must be a float32 tensor for tensor inputs`);
  if (v.dtype !== 'float32') throw bad(`${name} must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
  if (deviceIndex(v.device) !== io.device) throw bad(`${name} is on ${v.device}, not on the input's device`, 'BITGRAD_DEVICE_MISMATCH');
  if (v.size !== count) throw bad(`${name} has ${v.size} values, expected ${count}`, 'BITGRAD_SHAPE_MISMATCH');
  return v;
}

function overlaps(a: Float32Array, b: unknown): boolean {
  if (!(b instanceof Float32Array) || a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * The caller's `into` output buffer (validated as the estimators do), or a new one of
 * `count` floats shaped `shape`. `inputs` are the operands it must not alias.
 */
function outOf(io: Io, into: unknown, count: number, shape: readonly number[], inputs: unknown[]): ScaleInput {
  if (into === undefined) return io.alloc(count, shape);
  if (io.device === null) {
    if (!(into instanceof Float32Array && into.length === count))
      throw bad(`into must be a Float32Array of ${count} elements`, 'BITGRAD_SHAPE_MISMATCH');
    if (inputs.some((v) => overlaps(into, v))) throw bad('into must not overlap the input or g');
    return into;
  }
  if (!(into instanceof Tensor && into.dtype === 'float32' && sameShape(into.shape, shape) && deviceIndex(into.device) === io.device))
    throw bad(`into must be a float32 tensor of shape [${shape.join(', ')}] on the input's device`, 'BITGRAD_SHAPE_MISMATCH');
  void into.buffer; // throws BITGRAD_DISPOSED before any allocation
  if (inputs.includes(into)) throw bad('into must not be the input or g');
  return into;
}

/** Runs a native call sync or async; on failure disposes what was allocated. */
function runNative<R>(fn: 'scaleRows' | 'xnorK' | 'xnorPP', spec: Spec, io: Io, async: boolean, finish: () => R): R | Promise<R> {
  const b = native().binding as unknown as Record<string, (s: Spec, a: boolean) => unknown>;
  if (!async) {
    try {
      b[fn](spec, false);
    } catch (e) {
      io.fail();
      throw e;
    }
    return finish();
  }
  let p: Promise<unknown>;
  try {
    p = b[fn](spec, true) as Promise<unknown>;
  } catch (e) {
    io.fail();
    throw e;
  }
  return p.then(finish, (e: unknown) => {
    io.fail();
    throw e;
  });
}

function asyncOf<A extends unknown[]>(f: (...a: A) => unknown): (...a: A) => Promise<never> {
  return (...a: A) => {
    try {
      return Promise.resolve(f(...a)) as Promise<never>;
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

interface RowDef<O> {
  kind: number;
  hyper(o: O): Spec;
  /** number of scale vectors (multiBasis: bases) */
  bases?(o: O): number;
  /** rows override (dorefa layer-wide) */
  layerWide?(o: O): boolean;
  learnable?: boolean;
  alphaCount?(rows: number, o: O): number;
  /** extra shape checks once rows and cols are known (throws a coded error) */
  check?(rows: number, cols: number, o: O, fname: string): void;
}

function makeRow<O extends RowOptions>(name: string, def: RowDef<O>): RowBinarizer<O> {
  const run = (x: unknown, g: unknown, backward: boolean, raw: unknown, async: boolean): unknown => {
    const fname = `binarize.${name}.${backward ? 'backward' : 'forward'}${async ? '' : 'Sync'}`;
    const o = checkOptions(raw, fname) as O;
    const hyper = { ...common(o), ...def.hyper(o) };
    const io = makeIo(fname, x, g, backward, o.shape);
    if (io.n === 0) throw bad(`${fname}: the input is empty`, 'BITGRAD_SHAPE_MISMATCH');
    const rows = def.layerWide?.(o) || io.shape.length < 2 ? 1 : io.shape[0];
    const cols = io.n / rows;
    def.check?.(rows, cols, o, fname);
    const nb = def.bases ? def.bases(o) : 1;
    const acount = def.alphaCount ? def.alphaCount(rows, o) : rows * nb;
    const spec: Spec = { ...hyper, kind: def.kind, backward, rows, cols, x: io.op(x as ScaleInput) };
    if (backward) spec.g = io.op(g as ScaleInput);
    const given = (o as { alpha?: unknown }).alpha;
    if (def.learnable && given !== undefined) spec.alphaIn = io.op(paramOf(io, given, 'alpha', acount));
    const out = outOf(io, o.into, io.n, io.shape, [x, g]);
    try {
      spec.out = io.op(out);
      let alpha: ScaleInput | undefined;
      let dalpha: ScaleInput | undefined;
      if (!backward) spec.alphaOut = io.op((alpha = io.alloc(acount)));
      if (backward && def.learnable) spec.dalpha = io.op((dalpha = io.alloc(acount)));
      return runNative('scaleRows', spec, io, async, () =>
        backward ? { grad: out, ...(dalpha ? { alphaGrad: dalpha } : {}) } : { out, alpha },
      );
    } catch (e) {
      io.fail();
      throw e;
    }
  };
  return Object.freeze({
    name,
    forward: asyncOf((x: unknown, o?: unknown) => run(x, undefined, false, o, true)),
    forwardSync: (x: unknown, o?: unknown) => run(x, undefined, false, o, false) as never,
    backward: asyncOf((x: unknown, g: unknown, o?: unknown) => run(x, g, true, o, true)),
    backwardSync: (x: unknown, g: unknown, o?: unknown) => run(x, g, true, o, false) as never,
  }) as RowBinarizer<O>;
}

const f32 = (v: number): number => Math.fround(v);

// ---- magnitude-aware sign / XNOR-Net / DoReFa --------------------------------------

/** Options of {@link magnitudeAwareSign}, {@link xnor} and {@link dorefa}. */
export interface MeanAbsSignOptions extends RowOptions {
  /** `'detach'` (default): alpha is a constant in backward. `'full'`: the exact chain rule through alpha = mean|W|. */
  scaleGrad?: 'detach' | 'full';
  /** Half-width of the clamp-STE window (default 1). */
  clip?: number;
}

function masHyper(o: MeanAbsSignOptions): Spec {
  return {
    full: enumOpt(o.scaleGrad, 'scaleGrad', ['detach', 'full'], 'detach') === 'full',
    clip: f32(num(o.clip, 'clip', 1, 0, Infinity)),
  };
}

/**
 * Magnitude-aware sign (Bi-Real Net / ReActNet weights, Liu et al. 2018/2020): per output
 * channel `alpha_o = mean_k |W_o,k|`, forward `alpha_o sign(W)`, backward the clamp STE
 * `dL/dW = g alpha_o 1{|W| <= clip}` (alpha detached, `scaleGrad: 'detach'`, default), or
 * with `scaleGrad: 'full'` the exact chain rule adding `sgn0(W_i)/K sum_j g_j sign(W_j)`
 * (`sgn0(0) = 0`, as autograd's d|W|/dW). Defaults clip = 1, inclusive window.
 */
export const magnitudeAwareSign: RowBinarizer<MeanAbsSignOptions> = makeRow<MeanAbsSignOptions>('magnitudeAwareSign', { kind: KIND.mas, hyper: masHyper });

/**
 * XNOR-Net binary weights (Rastegari et al., ECCV 2016): `W ~ alpha_o sign(W)` with
 * `alpha_o = ||W_o||_1 / K` per output filter (K = Cin kh kw). Backward as
 * {@link magnitudeAwareSign}: clamp STE with alpha detached by default; `scaleGrad: 'full'`
 * gives the exact chain rule `(sgn0(W_i)/K) sum_j g_j sign(W_j) + alpha 1{|W_i| <= 1} g_i`
 * (not the paper's simplified `1/K + alpha` per-element factor). See {@link xnorK} for the
 * activation scale.
 */
export const xnor: RowBinarizer<MeanAbsSignOptions> = makeRow<MeanAbsSignOptions>('xnor', { kind: KIND.mas, hyper: masHyper });

/**
 * BiBench's XNOR activation binarizer (specs/binarize-mst.md §1.3 and §5): one detached
 * scale per sample, `beta_n = mean_{c,h,w} |I_n|`, forward `beta_n sign(I)`, backward the
 * clamp STE `dL/dI = g beta_n 1{|I| <= clip}` (beta detached; `scaleGrad: 'full'` adds the
 * exact chain rule through beta). The input's first axis is the sample: pass `[N, C, H, W]`
 * (or `[N, features]`); `alpha` of the result holds the N betas. The same row-statistic
 * kernels as {@link xnor} (rows = samples), so a tensor input stays on its device.
 * XNOR-Net's spatial activation scale is {@link xnorK}.
 */
export const xnorActivation: RowBinarizer<MeanAbsSignOptions> = makeRow<MeanAbsSignOptions>('xnorActivation', { kind: KIND.mas, hyper: masHyper });

/** Options of {@link dorefa}. */
export interface DorefaOptions extends MeanAbsSignOptions {
  /** `true` (default, BiBench): alpha per output channel; `false`: one layer-wide `E(|W|)` (original DoReFa-Net). */
  perChannel?: boolean;
}

/**
 * DoReFa-Net binary weights (Zhou et al. 2016, as in BiBench): forward `alpha sign(W)` with
 * `alpha = mean|W|` per output channel (`perChannel: false`: over the whole tensor),
 * clamp-STE backward with alpha detached. BiBench's DoReFa window is exclusive at |W| = 1:
 * pass `steBoundary: 'exclusive'` for parity (the package default is inclusive).
 */
export const dorefa: RowBinarizer<DorefaOptions> = makeRow<DorefaOptions>('dorefa', {
  kind: KIND.mas,
  hyper: masHyper,
  layerWide: (o) => {
    if (o.perChannel !== undefined && typeof o.perChannel !== 'boolean') throw bad(`perChannel must be a boolean (got ${show(o.perChannel)})`);
    return o.perChannel === false;
  },
});

// ---- TBT statistics-based ternary / binary weights --------------------------------------

/** Options of {@link ternaryWeights}. */
export interface TernaryOptions extends RowOptions {
  /** 3 (default): ternary, alpha = 4/3 mean|W|; 2: binary, alpha = mean|W|. */
  levels?: 2 | 3;
}

/**
 * Statistics-based weights of the binary / ternary NLG transformer (TBT, Liu et al., ACL
 * 2023), per output row: ternary `alpha = (4/3) mean|W|`, `Wq = alpha round(clip(W/alpha, -1, 1))`
 * (round half to even); binary (`levels: 2`) `alpha = mean|W|`, `Wq = alpha sign(W)`.
 * Backward: identity STE (`dL/dW = g`, no window), alpha detached. An all-zero row gives 0.
 */
export const ternaryWeights: RowBinarizer<TernaryOptions> = makeRow<TernaryOptions>('ternaryWeights', {
  kind: KIND.ternary,
  hyper: (o) => {
    if (o.levels !== undefined && o.levels !== 2 && o.levels !== 3) throw bad(`levels must be 2 or 3 (got ${show(o.levels)})`);
    return { levels: o.levels ?? 3 };
  },
});

// ---- IR-Net Libra-PB ----------------------------------------------------------------

/** Options of {@link libraPB}. */
export interface LibraOptions extends RowOptions {
  /** EDE sharpness t > 0 (default 1; see `edeSchedule`). */
  t?: number;
  /** EDE gain k > 0 (default max(1/t, 1)). */
  k?: number;
}

/**
 * IR-Net Libra-PB weights (Qin et al., CVPR 2020): per output channel standardize
 * `w^ = (w - mean)/std` (Bessel-corrected std), forward `s sign(w^)` with the detached
 * power-of-two scale `s = 2^round(log2(mean|w^|))` (ties to even); backward the EDE
 * `h = g s k t sech^2(t w^)` through the sign, then the exact gradient of the
 * standardization `dL/dw = (h - mean h - w^ sum(h w^)/(K-1)) / std`. A constant row
 * (std = 0) gives `w^ = 0`, `s = 1` and gradient 0 (package rule). `alpha` reports s.
 */
export const libraPB: RowBinarizer<LibraOptions> = makeRow<LibraOptions>('libraPB', {
  kind: KIND.libra,
  hyper: (o) => {
    const t = num(o.t, 't', 1, 0, Infinity);
    const k = num(o.k, 'k', Math.max(1 / t, 1), 0, Infinity);
    return { kt4: f32(4 * k * t), t2: f32(2 * t) };
  },
});

// ---- ReCU ----------------------------------------------------------------------------

/** Options of {@link recu}. */
export interface RecuOptions extends RowOptions {
  /** Clamp quantile tau in (0.5, 1) (default 0.85, the schedule's start; see {@link recuTau}). */
  tau?: number;
}

/**
 * ReCU rectified clamp (Xu et al., ICCV 2021; BiBench operator): per output channel
 * `w0 = W - mean`, `w1 = 2 sqrt(2) w0 / sqrt(Var(w0) + 1e-5)` (unbiased variance), clamp
 * bound over the whole tensor `Q = -mean(|w1|) ln(2 - 2 tau)` (detached),
 * forward `sign(clamp(w1, -Q, Q))`; backward identity through the sign, 0 outside the
 * clamp (`|w1| <= Q` passes), and the exact gradient of the standardization. `alpha`
 * reports Q. The learnable output scale alpha_o is {@link bivitWeights}-style channel
 * scaling applied by the caller.
 */
export const recu: RowBinarizer<RecuOptions> = makeRow<RecuOptions>('recu', {
  kind: KIND.recu,
  hyper: (o) => ({ qfac: f32(-Math.log(2 - 2 * num(o.tau, 'tau', 0.85, 0.5, 1))) }),
  alphaCount: () => 1,
});

/**
 * ReCU's tau schedule for epoch e (0-based) of E: `tau = A exp(e/E) + B` with
 * `A = (tauMax - tauMin)/(Euler's e - 1)`, `B = tauMin - A` (defaults 0.85 .. 0.99).
 */
export function recuTau(e: number, E: number, tauMin = 0.85, tauMax = 0.99): number {
  num(e, 'e', 0, 0, Infinity, true);
  num(E, 'E', 1, 0, Infinity);
  num(tauMin, 'tauMin', 0.85, 0.5, 1);
  num(tauMax, 'tauMax', 0.99, 0.5, 1);
  const A = (tauMax - tauMin) / (Math.E - 1);
  return A * Math.exp(e / E) + tauMin - A;
}

// ---- ReCU activations ----------------------------------------------------------------

/** Options of {@link recuActivation}. */
export interface RecuActivationOptions extends RowOptions {
  /**
   * `true` (default): normalize each sample by `sqrt(Var + 1e-5)` and differentiate through
   * it (BiBench's training branch); `false`: eval mode, `a = x` (plain ApproxSign).
   */
  training?: boolean;
}

/**
 * ReCU activation binarizer (Xu et al., "ReCU: Reviving the Dead Weights in Binary Neural
 * Networks", ICCV 2021; BiBench operator, specs/binarize-mst.md §5; BiPer's activations are
 * the same). Per sample (the first axis of `shape`, `[N, C, H, W]` or `[N, features]`;
 * a Float32Array without `shape` is one sample), with `n` elements per sample:
 *
 * - training (default): `a = x / s`, `s = sqrt(Var(x) + 1e-5)` with the unbiased variance
 *   over the sample, forward `sign(a) = sign(x)` (s > 0; `zeroMode` as the estimators),
 *   backward the ApproxSign surrogate on `a`, `gA_i = g_i max(0, 2 - 2|a_i|)`, and the
 *   normalization differentiated (the variance is not detached):
 *   `dL/dx_j = gA_j / s - (x_j - m) / (s^3 (n - 1)) sum_i gA_i x_i` (m the sample mean);
 * - `training: false`: `a = x`, `dL/dx = g max(0, 2 - 2|x|)`.
 *
 * The spec only says "per-sample normalized, sign" with backward `max(0, 2 - 2|x|)`; the
 * normalization `x / sqrt(x.var(dim=[1, 2, 3], unbiased) + 1e-5)` and the non-detached
 * variance are taken from BiBench's code (`ReCuActivationQuantization`), not from the spec.
 * `alpha` reports s per sample (1 in eval mode). Edge cases: in training a sample of one
 * element has no unbiased variance (PyTorch gives NaN): rejected with
 * `BITGRAD_SHAPE_MISMATCH`. NaN in the input gives NaN at that element of the forward
 * output (the sign is taken per element), but NaN for the sample's s and for the whole
 * sample's gradient in training (it enters the variance, as in autograd); in eval mode
 * only that element's gradient is NaN. `steBoundary` has no effect (the surrogate is
 * continuous at |a| = 1).
 */
export const recuActivation: RowBinarizer<RecuActivationOptions> = makeRow<RecuActivationOptions>('recuActivation', {
  kind: KIND.recuAct,
  hyper: (o) => {
    if (o.training !== undefined && typeof o.training !== 'boolean') throw bad(`training must be a boolean (got ${show(o.training)})`);
    return { training: o.training ?? true };
  },
  check: (rows, cols, o, fname) => {
    if (o.training !== false && cols < 2)
      throw bad(`${fname}: training mode needs at least 2 elements per sample (the unbiased variance of one is undefined; got ${rows} x ${cols})`, 'BITGRAD_SHAPE_MISMATCH');
  },
});

// ---- BiViT learnable channel-wise scale ------------------------------------------------

/** Options of {@link bivitWeights}. */
export interface BivitOptions extends RowOptions {
  /** The learnable per-row scale alpha (one per output row). Default: initialized to mean|W| per row (BiViT's first forward). */
  alpha?: Float32Array | Tensor;
  /** Half-width of the STE window (default 1). BiViT's code is exclusive: pass `steBoundary: 'exclusive'` for parity. */
  clip?: number;
}

/**
 * BiViT parameterized weight scales (He et al., ICCV 2023): per output row
 * `mu = mean_k W`, forward `alpha_o sign(W - mu)` with a learnable `alpha_o` (initialized
 * to mean|W_o| of the uncentered weights); backward `dL/dalpha_o = sum_k g sign(W - mu)`,
 * `h = g alpha 1{|W - mu| <= clip}` and the centering differentiated,
 * `dL/dW = h - mean_k h`.
 */
export const bivitWeights: RowBinarizer<BivitOptions> = makeRow<BivitOptions>('bivitWeights', {
  kind: KIND.bivit,
  learnable: true,
  hyper: (o) => ({ clip: f32(num(o.clip, 'clip', 1, 0, Infinity)) }),
});

// ---- multi-basis residual binarization ----------------------------------------------------

/** Options of {@link multiBasis}. */
export interface MultiBasisOptions extends RowOptions {
  /** Number of bases T, 1..4 (default 2, BinaryDM's order). */
  bases?: number;
  /** Learnable scales `[bases][rows]` (BinaryDM sigma). Default: the greedy residual statistics `alpha_i = mean|r_i|`. */
  alpha?: Float32Array | Tensor;
  /** Half-width of the STE windows (default 1). */
  clip?: number;
}

/**
 * Multi-basis residual binarization `x ~ sum_i alpha_i b_i` (BinaryDM learnable
 * multi-basis binarizer, Zheng et al. 2024; residual / recurrent binarization as in BEBR):
 * per row `r_1 = W`, `b_i = sign(r_i)`, `r_{i+1} = r_i - alpha_i b_i`, i = 1..T (T = 1..4);
 * alphas given (learnable) or `alpha_i = mean|r_i|`. Backward through every sign with the
 * STE window `m_i = 1{|r_i| <= clip}`: `D_i = alpha_i m_i + (1 - alpha_i m_i) D_{i+1}`
 * (`D_{T+1} = 0`), `dL/dW = g D_1`, `dL/dalpha_i = sum g b_i (1 - D_{i+1})`.
 */
export const multiBasis: RowBinarizer<MultiBasisOptions> = makeRow<MultiBasisOptions>('multiBasis', {
  kind: KIND.multi,
  learnable: true,
  bases: (o) => {
    const b = o.bases ?? 2;
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > 4) throw bad(`bases must be an integer in [1, 4] (got ${show(b)})`);
    return b;
  },
  hyper: (o) => ({ bases: o.bases ?? 2, clip: f32(num(o.clip, 'clip', 1, 0, Infinity)) }),
});

// ---- XNOR-Net activation scale K --------------------------------------------------

/** Options of {@link xnorK}. */
export interface XnorKOptions {
  /** Shape `[N, C, H, W]` of a Float32Array input (tensors carry theirs; rank 4 required). */
  shape?: readonly number[];
  /** Box filter size `[kh, kw]` or one number (required; the conv's kernel). */
  kernel?: number | readonly number[];
  /** Stride (default 1). */
  stride?: number | readonly number[];
  /** Zero padding (default 0). */
  padding?: number | readonly number[];
  /** Write K into this Float32Array or float32 tensor (`N Ho Wo` elements / shape `[N, Ho, Wo]`, the input's device) instead of a new one; coded errors as {@link RowOptions.into}. */
  into?: Float32Array | Tensor;
}

function pair(v: unknown, name: string, dflt: number | undefined, min: number): [number, number] {
  if (v === undefined) {
    if (dflt === undefined) throw bad(`${name} is required`);
    return [dflt, dflt];
  }
  const a = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  if (!a || !a.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= min && d <= 1 << 20))
    throw bad(`${name} must be an integer >= ${min} or a pair of them (got ${show(v)})`);
  return a as [number, number];
}

function kRun(x: unknown, raw: unknown, async: boolean): unknown {
  const fname = `binarize.xnorK${async ? '' : 'Sync'}`;
  const o = checkOptions(raw, fname) as XnorKOptions;
  const io = makeIo(fname, x, undefined, false, o.shape);
  if (io.shape.length !== 4) throw bad(`${fname}: the input must be [N, C, H, W] (got [${io.shape.join(', ')}])`, 'BITGRAD_SHAPE_MISMATCH');
  const [N, C, H, W] = io.shape;
  if (io.n === 0) throw bad(`${fname}: the input is empty`, 'BITGRAD_SHAPE_MISMATCH');
  const [kh, kw] = pair(o.kernel, 'kernel', undefined, 1);
  const [sh, sw] = pair(o.stride, 'stride', 1, 1);
  const [ph, pw] = pair(o.padding, 'padding', 0, 0);
  if (H + 2 * ph < kh || W + 2 * pw < kw) throw bad(`${fname}: the kernel is larger than the padded input`, 'BITGRAD_SHAPE_MISMATCH');
  const ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const out = outOf(io, o.into, N * ho * wo, [N, ho, wo], [x]);
  const spec: Spec = { n: N, c: C, h: H, w: W, kh, kw, sh, sw, ph, pw, x: io.op(x as ScaleInput), out: io.op(out) };
  return runNative('xnorK', spec, io, async, () => out);
}

/**
 * XNOR-Net activation scale (Rastegari et al., ECCV 2016): per sample
 * `A = (1/C) sum_c |I_c|` (an H x W map), then `K = A * k` with the kh x kw box filter
 * (every weight `1/(kh kw)`), the conv's stride and zero padding; output `[N, Ho, Wo]`.
 * K is a constant in backward (no gradient). Defaults stride 1, padding 0.
 */
export const xnorK = asyncOf(<T extends ScaleInput>(x: T, opts?: XnorKOptions) => kRun(x, opts, true) as ScaleOutput<T>) as <T extends ScaleInput>(
  x: T,
  opts?: XnorKOptions,
) => Promise<ScaleOutput<T>>;
/** {@link xnorK} on the calling thread (CUDA: enqueued). */
export function xnorKSync<T extends ScaleInput>(x: T, opts?: XnorKOptions): ScaleOutput<T> {
  return kRun(x, opts, false) as ScaleOutput<T>;
}

// ---- XNOR++ -----------------------------------------------------------------------

/** Options of {@link xnorPlusPlus}: the three learnable factors of Gamma. */
export interface XnorPPOptions {
  /** Shape `[N, C, H, W]` of a Float32Array input. */
  shape?: readonly number[];
  /** Channel factor o (C values; required). */
  o?: Float32Array | Tensor;
  /** Row factor h (H values; required). */
  h?: Float32Array | Tensor;
  /** Column factor w (W values; required). */
  w?: Float32Array | Tensor;
  /** Write the forward `y Gamma` / the backward `grad` into this Float32Array or float32 tensor (shape and device of y) instead of a new one; coded errors as {@link RowOptions.into}. */
  into?: Float32Array | Tensor;
}

/** Backward result of {@link xnorPlusPlus}. */
export interface XnorPPGrads<T extends ScaleInput> {
  /** dL/dy = g Gamma. */
  grad: ScaleOutput<T>;
  /** dL/do_c = sum_{n,h,w} g y h_h w_w. */
  oGrad: ScaleOutput<T>;
  /** dL/dh_h = sum_{n,c,w} g y o_c w_w. */
  hGrad: ScaleOutput<T>;
  /** dL/dw_w = sum_{n,c,h} g y o_c h_h. */
  wGrad: ScaleOutput<T>;
}

function ppRun(y: unknown, g: unknown, backward: boolean, raw: unknown, async: boolean): unknown {
  const fname = `binarize.xnorPlusPlus.${backward ? 'backward' : 'forward'}${async ? '' : 'Sync'}`;
  const o = checkOptions(raw, fname) as XnorPPOptions;
  const io = makeIo(fname, y, g, backward, o.shape);
  if (io.shape.length !== 4) throw bad(`${fname}: the input must be [N, C, H, W] (got [${io.shape.join(', ')}])`, 'BITGRAD_SHAPE_MISMATCH');
  const [N, C, H, W] = io.shape;
  if (io.n === 0) throw bad(`${fname}: the input is empty`, 'BITGRAD_SHAPE_MISMATCH');
  const spec: Spec = {
    backward, n: N, c: C, h: H, w: W, y: io.op(y as ScaleInput),
    o: io.op(paramOf(io, o.o, 'o', C)), fh: io.op(paramOf(io, o.h, 'h', H)), fw: io.op(paramOf(io, o.w, 'w', W)),
  };
  if (backward) spec.g = io.op(g as ScaleInput);
  const out = outOf(io, o.into, io.n, io.shape, [y, g]);
  spec.out = io.op(out);
  if (!backward) return runNative('xnorPP', spec, io, async, () => out);
  const dO = io.alloc(C), dH = io.alloc(H), dW = io.alloc(W);
  Object.assign(spec, { dO: io.op(dO), dH: io.op(dH), dW: io.op(dW) });
  return runNative('xnorPP', spec, io, async, () => ({ grad: out, oGrad: dO, hGrad: dH, wGrad: dW }));
}

/**
 * XNOR++ learnable scale factors (Bulat & Tzimiropoulos, BMVC 2019; BiBench operator):
 * the binary conv output y `[N, C, H, W]` is multiplied by `Gamma[c,h,w] = o_c h_h w_w`
 * (three learnable vectors, initialized to 1). Backward gives `g Gamma` and the
 * deterministic sums `dL/do`, `dL/dh`, `dL/dw`.
 */
export const xnorPlusPlus = Object.freeze({
  name: 'xnorPlusPlus',
  /** `y Gamma` (async). */
  forward: asyncOf(<T extends ScaleInput>(y: T, opts?: XnorPPOptions) => ppRun(y, undefined, false, opts, true)) as <T extends ScaleInput>(
    y: T,
    opts?: XnorPPOptions,
  ) => Promise<ScaleOutput<T>>,
  /** `y Gamma` on the calling thread. */
  forwardSync: <T extends ScaleInput>(y: T, opts?: XnorPPOptions): ScaleOutput<T> => ppRun(y, undefined, false, opts, false) as ScaleOutput<T>,
  /** Gradients (async). */
  backward: asyncOf(<T extends ScaleInput>(y: T, g: T, opts?: XnorPPOptions) => ppRun(y, g, true, opts, true)) as <T extends ScaleInput>(
    y: T,
    g: T,
    opts?: XnorPPOptions,
  ) => Promise<XnorPPGrads<T>>,
  /** Gradients on the calling thread. */
  backwardSync: <T extends ScaleInput>(y: T, g: T, opts?: XnorPPOptions): XnorPPGrads<T> => ppRun(y, g, true, opts, false) as XnorPPGrads<T>,
});

// ---- elastic quantizer init ---------------------------------------------------------

/**
 * Initial scale of the TBT elastic activation quantizer ({@link elastic}) from a first
 * batch: `2 mean|x|` for signed binary / ternary, `4 mean|x|` for unsigned binary,
 * clamped below at 1e-5 (computed in float64 on the host).
 */
export function elasticInit(x: Float32Array, mode: 'binary' | 'ternary' | 'unsignedBinary' = 'binary'): number {
  if (!(x instanceof Float32Array)) throw bad('elasticInit: x must be a Float32Array');
  enumOpt(mode, 'mode', ['binary', 'ternary', 'unsignedBinary'], 'binary');
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]);
  const m = x.length ? s / x.length : 0;
  return Math.max((mode === 'unsignedBinary' ? 4 : 2) * m, 1e-5);
}

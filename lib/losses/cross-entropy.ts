/**
 * Class-dimension losses, each fused with its gradient: crossEntropy (online softmax,
 * large vocabularies, in place), nllLoss and multiMarginLoss.
 * @packageDocumentation
 */
import type { ClassLossSpec, NativeBuffer, Operand } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { Tensor, allocTensor, shapeSize } from '../tensor';
import { Reduction, bool, checkOptions, finiteNumber, reductionCode } from '../validate';
import { Prepared, runLoss } from './common';

/** Options shared by {@link crossEntropy}, {@link nllLoss} and {@link multiMarginLoss}. */
export interface ClassLossOptions {
  /** Class weights `[C]` (Float32Array, or a float32 tensor on the input's device). */
  weight?: Float32Array | Tensor;
  /** `'mean'` (default), `'sum'` or `'none'` (one loss per row: the input shape without the class dim). */
  reduction?: Reduction;
  /**
   * Upstream gradient. For `'none'`: one value per row (Float32Array or float32 tensor of the
   * loss shape; default ones). For `'mean'` / `'sum'`: a number (default 1).
   */
  gradOutput?: number | Float32Array | Tensor;
  /** Compute the gradient (default true). */
  grad?: boolean;
  /**
   * Shape of a Float32Array input: `[C]`, `[N, C]` or `[N, C, d1, ...]` (class dim 1).
   * Default: `[N, length / N]` for N index targets; `[length]` (one row) for probability targets.
   */
  shape?: readonly number[];
}

/** Options of {@link crossEntropy}. Names follow PyTorch's `cross_entropy`. */
export interface CrossEntropyOptions extends ClassLossOptions {
  /** Index-target rows equal to this are ignored (default -100). Must stay negative for probability targets. */
  ignoreIndex?: number;
  /** Label smoothing in [0, 1] (default 0), PyTorch's exact decomposition. */
  labelSmoothing?: number;
  /**
   * Write the gradient over the logits (Liger-style: no second buffer of the logits'
   * size). The returned `grad` is then the logits array / tensor itself.
   */
  inPlace?: boolean;
  /**
   * Write the gradient into this array / tensor (the logits' size, dtype and device)
   * instead of a new one: a training loop reuses its buffer. Returned as `grad`.
   */
  gradInto?: Float32Array | Tensor;
}

/** Options of {@link nllLoss}. Names follow PyTorch's `nll_loss`. */
export interface NllLossOptions extends ClassLossOptions {
  /** Target rows equal to this are ignored (default -100). */
  ignoreIndex?: number;
}

/** Options of {@link multiMarginLoss}. Names follow PyTorch's `multi_margin_loss`. */
export interface MultiMarginLossOptions extends ClassLossOptions {
  /** Exponent, 1 (default) or 2. */
  p?: 1 | 2;
  /** Margin (default 1). */
  margin?: number;
}

/** Result for Float32Array inputs. */
export interface ClassLossHostResult {
  /** A number for `'mean'` / `'sum'`; one loss per row for `'none'`. */
  loss: number | Float32Array;
  /** d loss / d input (times the upstream gradient), or null when `grad: false`. */
  grad: Float32Array | null;
}

/** Result for tensor inputs: tensors on the inputs' device. */
export interface ClassLossTensorResult {
  /** Shape `[]` for `'mean'` / `'sum'`, the row shape (input shape without the class dim) for `'none'`. */
  loss: Tensor<'float32'>;
  /** d loss / d input, the input's shape and dtype, or null when `grad: false`. */
  grad: Tensor | null;
}

/** Index targets: Int32Array or int32 tensor. Probability targets (crossEntropy only): Float32Array or float32 tensor. */
export type ClassTarget = Int32Array | Float32Array | Tensor;

type Kind = 0 | 1 | 2;
const NAMES = ['crossEntropy', 'nllLoss', 'multiMarginLoss'] as const;
const DTYPE_CODE: Record<string, 0 | 1 | 2> = { float32: 0, bfloat16: 1, float16: 2 };

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function int32(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
    throw new ValidationError(`${name} must be a 32-bit integer (got ${show(v)})`, 'BITGRAD_INVALID_ARGUMENT');
  return v;
}

/** [outer, C, inner] and the row (loss) shape of an input shape. */
function layout(shape: readonly number[], name: string): { outer: number; C: number; inner: number; rowShape: number[] } {
  if (shape.length === 0) throw new ValidationError(`${name}: the input needs a class dimension (got a scalar)`, 'BITGRAD_INVALID_SHAPE');
  if (shape.length === 1) return { outer: 1, C: shape[0], inner: 1, rowShape: [] };
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  return { outer: shape[0], C: shape[1], inner, rowShape: [shape[0], ...shape.slice(2)] };
}

function prepare(kind: Kind, input: unknown, target: unknown, rawOpts: unknown): Prepared<ClassLossHostResult | ClassLossTensorResult, ClassLossSpec> {
  const name = NAMES[kind];
  const opts = checkOptions(rawOpts, name) as CrossEntropyOptions & MultiMarginLossOptions;
  const reduction = reductionCode(opts.reduction);
  const wantGrad = bool(opts.grad, 'grad', true);
  const inPlace = kind === 0 ? bool(opts.inPlace, 'inPlace', false) : false;
  const eps = kind === 0 && opts.labelSmoothing !== undefined ? finiteNumber(opts.labelSmoothing, 'labelSmoothing') : 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValidationError(`labelSmoothing must be in [0, 1] (got ${eps})`, 'BITGRAD_INVALID_ARGUMENT');
  const ignoreIndex = kind === 2 ? -100 : int32(opts.ignoreIndex, 'ignoreIndex', -100);
  let p = 1;
  let margin = 1;
  if (kind === 2) {
    if (opts.p !== undefined && opts.p !== 1 && opts.p !== 2) throw new ValidationError(`p must be 1 or 2 (got ${show(opts.p)})`, 'BITGRAD_INVALID_ARGUMENT');
    p = opts.p ?? 1;
    margin = opts.margin === undefined ? 1 : finiteNumber(opts.margin, 'margin');
  }
  const host = input instanceof Float32Array || target instanceof Int32Array || (target instanceof Float32Array && !(input instanceof Tensor));
  const probTarget = target instanceof Float32Array || (target instanceof Tensor && target.dtype === 'float32');
  if (probTarget && kind !== 0) throw new ValidationError(`${name} takes class-index targets (Int32Array or int32 tensor)`, 'BITGRAD_INVALID_DTYPE');
  if (probTarget && opts.ignoreIndex !== undefined && ignoreIndex >= 0)
    throw new ValidationError('ignoreIndex is not supported for probability targets', 'BITGRAD_INVALID_ARGUMENT');

  const base = (outer: number, C: number, inner: number, dtype: 0 | 1 | 2, x: Operand): ClassLossSpec => ({
    kind, dtype, outer, classes: C, inner, x, ignoreIndex, labelSmoothing: eps, p, margin, reduction, gradScale: 1, loss: undefined as never,
  });
  const checkLayout = (L: { outer: number; C: number; inner: number }) => {
    if (L.C === 0 && L.outer * L.inner > 0) throw new ValidationError(`${name}: the class dimension is empty`, 'BITGRAD_INVALID_SHAPE');
    if (kind === 2 && L.inner !== 1) throw new ValidationError('multiMarginLoss takes [N, C] or [C] input', 'BITGRAD_INVALID_SHAPE');
  };

  if (host) {
    if (!(input instanceof Float32Array)) throw new ValidationError(`${name}: input must be a Float32Array like the targets`, 'BITGRAD_INVALID_DTYPE');
    if (!(target instanceof Int32Array) && !(target instanceof Float32Array))
      throw new ValidationError(`${name}: targets must be an Int32Array (class indices) or a Float32Array (probabilities)`, 'BITGRAD_INVALID_DTYPE');
    const len = input.length;
    let shape: readonly number[];
    if (opts.shape !== undefined) {
      shapeSize(opts.shape as unknown as number[], 'shape');
      shape = opts.shape;
    } else if (target instanceof Int32Array) {
      const N = target.length;
      if (N === 0 ? len !== 0 : len % N !== 0)
        throw new ValidationError(`${name}: ${len} logits do not split into ${N} rows; pass shape`, 'BITGRAD_SHAPE_MISMATCH');
      shape = [N, N === 0 ? 0 : len / N];
    } else {
      shape = [len];
    }
    if (shapeSize(shape as number[], 'shape') !== len)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have ${len} elements`, 'BITGRAD_SHAPE_MISMATCH');
    const L = layout(shape, name);
    checkLayout(L);
    const rows = L.outer * L.inner;
    if (target instanceof Int32Array ? target.length !== rows : target.length !== len)
      throw new ValidationError(`${name}: targets have ${target.length} elements, expected ${target instanceof Int32Array ? rows : len}`, 'BITGRAD_SHAPE_MISMATCH');
    const spec = base(L.outer, L.C, L.inner, 0, input);
    if (target instanceof Int32Array) spec.target = target;
    else spec.prob = target;
    if (opts.weight !== undefined) {
      if (!(opts.weight instanceof Float32Array) || opts.weight.length !== L.C)
        throw new ValidationError(`weight must be a Float32Array of ${L.C} class weights`, 'BITGRAD_SHAPE_MISMATCH');
      spec.weight = opts.weight;
    }
    spec.loss = new Float32Array(reduction === 0 ? rows : 1);
    const into = kind === 0 ? opts.gradInto : undefined;
    if (into !== undefined && (!(into instanceof Float32Array) || into.length !== len))
      throw new ValidationError(`gradInto must be a Float32Array of ${len} elements`, 'BITGRAD_SHAPE_MISMATCH');
    if (wantGrad) spec.grad = inPlace ? input : (into ?? new Float32Array(len));
    if (opts.gradOutput !== undefined) {
      if (reduction === 0) {
        if (!(opts.gradOutput instanceof Float32Array) || opts.gradOutput.length !== rows)
          throw new ValidationError(`gradOutput for reduction 'none' must be a Float32Array of ${rows} values`, 'BITGRAD_SHAPE_MISMATCH');
        spec.gradOut = opts.gradOutput;
      } else spec.gradScale = finiteNumber(opts.gradOutput, 'gradOutput');
    }
    return {
      spec,
      finish: () => ({
        loss: reduction === 0 ? (spec.loss as Float32Array) : (spec.loss as Float32Array)[0],
        grad: (spec.grad as Float32Array | undefined) ?? null,
      }),
      fail: () => undefined,
    };
  }

  if (!(input instanceof Tensor) || !(target instanceof Tensor))
    throw new ValidationError(`${name}: input and targets must both be typed arrays or both tensors`, 'BITGRAD_INVALID_ARGUMENT');
  const dtype = DTYPE_CODE[input.dtype];
  if (dtype === undefined || (dtype !== 0 && kind !== 0))
    throw new ValidationError(`${name}: input must be a float32${kind === 0 ? ' (or, on CUDA, bfloat16 / float16)' : ''} tensor`, 'BITGRAD_INVALID_DTYPE');
  if (target.dtype !== 'int32' && target.dtype !== 'float32')
    throw new ValidationError(`${name}: targets must be an int32 or float32 tensor`, 'BITGRAD_INVALID_DTYPE');
  const device = input.device;
  if (target.device !== device) throw new ValidationError(`input is on ${device} but targets on ${target.device}`, 'BITGRAD_DEVICE_MISMATCH');
  const dev = deviceIndex(device);
  if (dev < 0 && dtype !== 0) throw new ValidationError('bfloat16 / float16 logits are supported on CUDA only', 'BITGRAD_INVALID_DTYPE');
  const shape = input.shape;
  const L = layout(shape, name);
  checkLayout(L);
  if (target.dtype === 'int32' ? !same(target.shape, L.rowShape) : !same(target.shape, shape))
    throw new ValidationError(
      `${name}: targets [${target.shape.join(', ')}] must have shape [${(target.dtype === 'int32' ? L.rowShape : shape).join(', ')}]`,
      'BITGRAD_SHAPE_MISMATCH',
    );
  const spec = base(L.outer, L.C, L.inner, dtype, input.buffer);
  if (target.dtype === 'int32') spec.target = target.buffer;
  else spec.prob = target.buffer;
  if (opts.weight !== undefined) {
    const w = opts.weight;
    if (!(w instanceof Tensor) || w.dtype !== 'float32' || !same(w.shape, [L.C]) || w.device !== device)
      throw new ValidationError(`weight must be a float32 tensor of shape [${L.C}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
    spec.weight = w.buffer;
  }
  let gradOut: NativeBuffer | undefined;
  let gradScale = 1;
  if (opts.gradOutput !== undefined) {
    const g = opts.gradOutput;
    if (reduction === 0) {
      if (!(g instanceof Tensor) || g.dtype !== 'float32' || !same(g.shape, L.rowShape) || g.device !== device)
        throw new ValidationError(`gradOutput must be a float32 tensor of shape [${L.rowShape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
      gradOut = g.buffer;
    } else gradScale = finiteNumber(g, 'gradOutput');
  }
  const into = kind === 0 ? opts.gradInto : undefined;
  if (into !== undefined && !(into instanceof Tensor && into.dtype === input.dtype && same(into.shape, shape) && into.device === device))
    throw new ValidationError(`gradInto must be a ${input.dtype} tensor of shape [${shape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
  if (into !== undefined) void into.buffer; // BITGRAD_DISPOSED before any allocation
  const lossT = allocTensor(reduction === 0 ? L.rowShape : [], 'float32', dev);
  const gradT: Tensor | null = wantGrad ? (inPlace ? input : ((into as Tensor | undefined) ?? allocTensor(shape, input.dtype, dev))) : null;
  const fail = () => {
    lossT.dispose();
    if (gradT !== input && gradT !== into) gradT?.dispose();
  };
  spec.loss = lossT.buffer;
  if (gradT) spec.grad = gradT.buffer;
  if (gradOut) spec.gradOut = gradOut;
  spec.gradScale = gradScale;
  return { spec, finish: () => ({ loss: lossT, grad: gradT }), fail };
}

/**
 * Cross-entropy on logits and its gradient with respect to the logits, from one fused
 * call. Exactly PyTorch's `cross_entropy`: logits `[C]`, `[N, C]` or `[N, C, d...]`
 * (class dim 1); targets are class indices (Int32Array / int32 tensor, the input shape
 * without the class dim; rows equal to `ignoreIndex` contribute nothing) or
 * probabilities (Float32Array / float32 tensor, the input's shape). `weight` [C],
 * `labelSmoothing` and the reductions follow PyTorch's decomposition, including the
 * mean's denominator: the sum of `weight[target]` over non-ignored rows for index
 * targets, the row count for probability targets. All rows ignored with `'mean'` gives
 * NaN and an all-zero gradient (as PyTorch).
 *
 * Computed with an online softmax (one read of each row for max and sum, a second one
 * writing the gradient); nothing of the logits' size is allocated besides the gradient,
 * and `inPlace: true` writes the gradient over the logits. CPU: vectorized (AVX-512 /
 * AVX2), rows over the thread pool, bit-identical for any thread count. CUDA: one block
 * per row, float32 or bfloat16 / float16 logits (float32 accumulation; the gradient has
 * the logits' dtype), deterministic.
 *
 * @returns a promise of the loss and the gradient with respect to the logits
 * @throws ValidationError for bad arguments: `BITGRAD_TARGET_OUT_OF_RANGE` (with the
 *   offending row `index` and `value`) for a class index outside [0, C) that is not
 *   `ignoreIndex`, `BITGRAD_SHAPE_MISMATCH`, `BITGRAD_INVALID_DTYPE`, ...; DeviceError on GPU failure
 */
export async function crossEntropy(logits: Float32Array, target: Int32Array | Float32Array, opts?: CrossEntropyOptions): Promise<ClassLossHostResult>;
export async function crossEntropy(logits: Tensor, target: Tensor, opts?: CrossEntropyOptions): Promise<ClassLossTensorResult>;
export async function crossEntropy(logits: unknown, target: unknown, opts?: CrossEntropyOptions): Promise<ClassLossHostResult | ClassLossTensorResult> {
  return runLoss('classLoss', prepare(0, logits, target, opts), true);
}

/**
 * Synchronous {@link crossEntropy}: computes on the calling thread for CPU inputs. For
 * CUDA tensors it enqueues the kernels and returns at once (stream-ordered results); bad
 * targets cannot be reported there (use the async form).
 */
export function crossEntropySync(logits: Float32Array, target: Int32Array | Float32Array, opts?: CrossEntropyOptions): ClassLossHostResult;
export function crossEntropySync(logits: Tensor, target: Tensor, opts?: CrossEntropyOptions): ClassLossTensorResult;
export function crossEntropySync(logits: unknown, target: unknown, opts?: CrossEntropyOptions): ClassLossHostResult | ClassLossTensorResult {
  return runLoss('classLoss', prepare(0, logits, target, opts), false);
}

/**
 * Negative log-likelihood on log-probabilities and its gradient (PyTorch's `nll_loss`):
 * `l_n = -weight[y_n] * input[n, y_n]`, 0 for rows equal to `ignoreIndex`; `'mean'`
 * divides by the sum of `weight[y_n]` over non-ignored rows (NaN when all are ignored,
 * with a zero gradient). The gradient is `-weight[y_n] * scale` at `(n, y_n)`, zero elsewhere.
 * Input `[C]`, `[N, C]` or `[N, C, d...]`, float32; targets Int32Array / int32 tensor.
 * CPU: rows over the thread pool in fixed chunks, bit-identical for any thread count.
 * CUDA tensors: one thread per row, the batch sum by one block in a fixed order
 * (deterministic).
 * @throws ValidationError (`BITGRAD_TARGET_OUT_OF_RANGE` with `index` and `value`, ...)
 */
export async function nllLoss(logProbs: Float32Array, target: Int32Array, opts?: NllLossOptions): Promise<ClassLossHostResult>;
export async function nllLoss(logProbs: Tensor, target: Tensor, opts?: NllLossOptions): Promise<ClassLossTensorResult>;
export async function nllLoss(logProbs: unknown, target: unknown, opts?: NllLossOptions): Promise<ClassLossHostResult | ClassLossTensorResult> {
  return runLoss('classLoss', prepare(1, logProbs, target, opts), true);
}

/**
 * Synchronous {@link nllLoss}. For CUDA tensors it enqueues the kernels and returns at
 * once (stream-ordered results); bad targets cannot be reported there (use the async form).
 */
export function nllLossSync(logProbs: Float32Array, target: Int32Array, opts?: NllLossOptions): ClassLossHostResult;
export function nllLossSync(logProbs: Tensor, target: Tensor, opts?: NllLossOptions): ClassLossTensorResult;
export function nllLossSync(logProbs: unknown, target: unknown, opts?: NllLossOptions): ClassLossHostResult | ClassLossTensorResult {
  return runLoss('classLoss', prepare(1, logProbs, target, opts), false);
}

/**
 * Multi-class margin (hinge) loss and its gradient (PyTorch's `multi_margin_loss`): per
 * row `sum_{i != y} max(0, margin - x[y] + x[i])^p / C`, times `weight[y]` when given;
 * `'mean'` divides by the row count. Input `[N, C]` or `[C]`, float32 (CPU or CUDA; on
 * CUDA one block per row with a fixed-shape block reduction, deterministic); targets
 * Int32Array / int32 tensor.
 * @throws ValidationError (`BITGRAD_TARGET_OUT_OF_RANGE` with `index` and `value`, ...)
 */
export async function multiMarginLoss(x: Float32Array, target: Int32Array, opts?: MultiMarginLossOptions): Promise<ClassLossHostResult>;
export async function multiMarginLoss(x: Tensor, target: Tensor, opts?: MultiMarginLossOptions): Promise<ClassLossTensorResult>;
export async function multiMarginLoss(x: unknown, target: unknown, opts?: MultiMarginLossOptions): Promise<ClassLossHostResult | ClassLossTensorResult> {
  return runLoss('classLoss', prepare(2, x, target, opts), true);
}

/**
 * Synchronous {@link multiMarginLoss}. For CUDA tensors it enqueues the kernels and
 * returns at once; bad targets cannot be reported there (use the async form).
 */
export function multiMarginLossSync(x: Float32Array, target: Int32Array, opts?: MultiMarginLossOptions): ClassLossHostResult;
export function multiMarginLossSync(x: Tensor, target: Tensor, opts?: MultiMarginLossOptions): ClassLossTensorResult;
export function multiMarginLossSync(x: unknown, target: unknown, opts?: MultiMarginLossOptions): ClassLossHostResult | ClassLossTensorResult {
  return runLoss('classLoss', prepare(2, x, target, opts), false);
}

/**
 * Binary cross-entropy on logits, fused with its gradient.
 * @packageDocumentation
 */
import { Tensor } from '../tensor';
import { Reduction, bool, checkOptions, reductionCode } from '../validate';
import { Prepared, WeightLike, prepareLoss, runLoss } from './common';

export type { WeightLike } from './common';

/** Options of {@link bceWithLogits}. Names follow PyTorch's `binary_cross_entropy_with_logits`. */
export interface BceWithLogitsOptions {
  /** Rescaling weight broadcast to the input shape (PyTorch `weight`). Not in the mean's denominator. */
  weight?: WeightLike;
  /** Weight of positive examples broadcast to the input shape, usually `[C]` (PyTorch `pos_weight`). */
  posWeight?: WeightLike;
  /** `'mean'` (default), `'sum'` or `'none'`. */
  reduction?: Reduction;
  /**
   * Upstream gradient. For `'none'`: one value per element (Float32Array or tensor; default ones).
   * For `'mean'` / `'sum'`: a number (default 1).
   */
  gradOutput?: number | Float32Array | Tensor;
  /** Compute the gradient (default true). */
  grad?: boolean;
  /**
   * Write the gradient into this array or tensor (same element count / shape and device
   * as the logits) instead of a new one: a training loop reuses its buffers. It is
   * returned as `grad`. It may be the logits themselves (the gradient overwrites them).
   */
  gradInto?: Float32Array | Tensor;
  /**
   * Reject targets that are NaN or outside [0, 1] with `BITGRAD_TARGET_OUT_OF_RANGE`
   * (default true). PyTorch does not check; pass false for its exact behaviour.
   */
  checkTargets?: boolean;
  /** Shape of Float32Array inputs (default `[length]`), used to broadcast the weights. */
  shape?: readonly number[];
  /** Shape of a Float32Array `weight` (default: input shape, `[]` for length 1, else `[last dim]`). */
  weightShape?: readonly number[];
  /** Shape of a Float32Array `posWeight` (same defaults as `weightShape`). */
  posWeightShape?: readonly number[];
}

/** Result for Float32Array inputs. */
export interface BceHostResult {
  /** A number for `'mean'` / `'sum'`; one loss per element for `'none'`. */
  loss: number | Float32Array;
  /** d loss / d logits (times the upstream gradient), or null when `grad: false`. */
  grad: Float32Array | null;
}

/** Result for tensor inputs: tensors on the inputs' device. */
export interface BceTensorResult {
  /** Shape `[]` for `'mean'` / `'sum'`, the input shape for `'none'`. */
  loss: Tensor<'float32'>;
  /** d loss / d logits, or null when `grad: false`. */
  grad: Tensor<'float32'> | null;
}

const WEIGHTS = [
  { key: 'weight', shapeKey: 'weightShape' },
  { key: 'posWeight', shapeKey: 'posWeightShape' },
] as const;

function prepare(logits: unknown, targets: unknown, rawOpts: unknown): Prepared<BceHostResult | BceTensorResult> {
  const opts = checkOptions(rawOpts, 'bceWithLogits') as BceWithLogitsOptions & Record<string, unknown>;
  const reduction = reductionCode(opts.reduction);
  const wantGrad = bool(opts.grad, 'grad', true);
  const checkTargets = bool(opts.checkTargets, 'checkTargets', true);
  return prepareLoss(logits, targets, opts, {
    names: ['logits', 'targets'],
    reduction,
    wantGrad,
    weights: WEIGHTS,
    base: { checkTargets },
  }) as Prepared<BceHostResult | BceTensorResult>;
}

/**
 * Binary cross-entropy with logits and its gradient, in one fused pass. Exactly
 * PyTorch's `binary_cross_entropy_with_logits`: with `lw = 1 + (posWeight - 1) y`,
 * `loss = weight [(1 - y) x + lw softplus(-x)]`, `d/dx = weight [lw sigmoid(x) - posWeight y]`;
 * `'mean'` divides by the element count (weights do not enter the denominator); an
 * empty input gives NaN for `'mean'` and 0 for `'sum'`.
 *
 * Inputs are both Float32Arrays (computed on the CPU, off the main thread when large)
 * or both float32 tensors on one device. NaN logits give NaN loss and gradient (as in
 * PyTorch); targets that are NaN or outside [0, 1] are rejected unless
 * `checkTargets: false`.
 *
 * @returns a promise of the loss and the gradient with respect to the logits
 * @throws ValidationError for bad arguments (codes `BITGRAD_SHAPE_MISMATCH`,
 *   `BITGRAD_INVALID_DTYPE`, `BITGRAD_TARGET_OUT_OF_RANGE`, ...), DeviceError on GPU failure
 */
export async function bceWithLogits(logits: Float32Array, targets: Float32Array, opts?: BceWithLogitsOptions): Promise<BceHostResult>;
export async function bceWithLogits(logits: Tensor, targets: Tensor, opts?: BceWithLogitsOptions): Promise<BceTensorResult>;
export async function bceWithLogits(logits: unknown, targets: unknown, opts?: BceWithLogitsOptions): Promise<BceHostResult | BceTensorResult> {
  return runLoss('bceWithLogits', prepare(logits, targets, opts), true);
}

/**
 * Synchronous {@link bceWithLogits}: computes on the calling thread for CPU inputs
 * (use it for small inputs or inside worker threads). For CUDA tensors it enqueues
 * the kernel and returns at once; the result tensors are stream-ordered, and bad
 * targets cannot be reported (use the async form for that).
 */
export function bceWithLogitsSync(logits: Float32Array, targets: Float32Array, opts?: BceWithLogitsOptions): BceHostResult;
export function bceWithLogitsSync(logits: Tensor, targets: Tensor, opts?: BceWithLogitsOptions): BceTensorResult;
export function bceWithLogitsSync(logits: unknown, targets: unknown, opts?: BceWithLogitsOptions): BceHostResult | BceTensorResult {
  return runLoss('bceWithLogits', prepare(logits, targets, opts), false);
}

/**
 * Elementwise losses fused with their gradients: binaryCrossEntropy,
 * sigmoidFocalLoss, softMarginLoss, hingeEmbeddingLoss, klDiv, marginBce. One native
 * engine runs them all (the per-element math of each is one functor in
 * native/math/loss_ew.h, shared by the CPU scalar / AVX2 / AVX-512 paths and CUDA).
 * @packageDocumentation
 */
import { ValidationError } from '../errors';
import { Tensor } from '../tensor';
import { Reduction, bool, checkOptions, finiteNumber, reductionCode } from '../validate';
import { LossHostResult, LossOptionsBase, LossPrepConfig, LossTensorResult, Prepared, WeightLike, WeightSlot, prepareLoss, runLoss } from './common';

/** Native loss kinds: the order of LossKind in native/ops/loss_ew_args.h. */
const KIND = { bceProb: 0, focal: 1, softMargin: 2, hingeEmbedding: 3, klDiv: 4, marginBce: 5 } as const;
const WEIGHT: readonly WeightSlot[] = [{ key: 'weight', shapeKey: 'weightShape' }];

/** Options every elementwise loss accepts. */
export interface ElementwiseLossOptions {
  /** `'mean'`, `'sum'` or `'none'` (the default depends on the loss, as in PyTorch). */
  reduction?: Reduction;
  /**
   * Upstream gradient. For `'none'`: one value per element (Float32Array or tensor; default ones).
   * For reductions: a number (default 1).
   */
  gradOutput?: number | Float32Array | Tensor;
  /** Compute the gradient with respect to the input (default true). */
  grad?: boolean;
  /** Write the input gradient into this array or tensor (same size, shape and device as the input); returned as `grad`. */
  gradInto?: Float32Array | Tensor;
  /** Shape of Float32Array inputs (default `[length]`), for weight broadcasting and `'batchmean'`. */
  shape?: readonly number[];
}

/** Options with a rescaling weight broadcast to the input shape (PyTorch `weight`; not in the mean's denominator). */
export interface WeightedLossOptions extends ElementwiseLossOptions {
  /** Rescaling weight of each element's loss and gradient, broadcast to the input shape. */
  weight?: WeightLike;
  /** Shape of a Float32Array `weight` (default: input shape, `[]` for length 1, else `[last dim]`). */
  weightShape?: readonly number[];
}

/** Options of {@link binaryCrossEntropy} (PyTorch `binary_cross_entropy`). */
export interface BinaryCrossEntropyOptions extends WeightedLossOptions {
  /**
   * Reject inputs that are NaN or outside [0, 1] with `BITGRAD_INPUT_OUT_OF_RANGE`
   * (default true, as PyTorch raises "all elements of input should be between 0 and 1").
   */
  checkInput?: boolean;
}

/** Options of {@link sigmoidFocalLoss} (torchvision `sigmoid_focal_loss`; default reduction `'none'`). */
export interface SigmoidFocalLossOptions extends ElementwiseLossOptions {
  /** Weight of the positive class in (0, 1) (default 0.25); a negative value disables the alpha factor. */
  alpha?: number;
  /** Focusing exponent gamma >= 0 (default 2). */
  gamma?: number;
}

/** Options of {@link softMarginLoss} (PyTorch `soft_margin_loss`). */
export type SoftMarginLossOptions = ElementwiseLossOptions;

/** Options of {@link hingeEmbeddingLoss} (PyTorch `hinge_embedding_loss`). */
export interface HingeEmbeddingLossOptions extends ElementwiseLossOptions {
  /** Margin (default 1). */
  margin?: number;
}

/** Options of {@link klDiv} (PyTorch `kl_div`). */
export interface KlDivOptions extends Omit<ElementwiseLossOptions, 'reduction'> {
  /**
   * `'mean'` (default, PyTorch's: over all elements), `'batchmean'` (sum / input.size(0),
   * the mathematical KL divergence per sample), `'sum'` or `'none'`.
   */
  reduction?: Reduction | 'batchmean';
  /** The target is given as log-probabilities (default false). */
  logTarget?: boolean;
  /** Also compute the gradient with respect to the target, returned as `gradTarget` (default false). */
  targetGrad?: boolean;
  /** Write the target gradient here instead of a new array or tensor (implies `targetGrad`). */
  gradTargetInto?: Float32Array | Tensor;
}

/** Options of {@link marginBce} (GridFormer margin BCE). */
export interface MarginBceOptions extends WeightedLossOptions {
  /** Margin m >= 0 (default 0: plain BCE with logits). */
  margin?: number;
  /** Reject targets that are NaN or outside [0, 1] with `BITGRAD_TARGET_OUT_OF_RANGE` (default true). */
  checkTargets?: boolean;
}

/** Result of an elementwise loss on Float32Array inputs. */
export interface ElementwiseHostResult {
  /** A number for reductions; one loss per element for `'none'`. */
  loss: number | Float32Array;
  /** d loss / d input (times the upstream gradient), or null when `grad: false`. */
  grad: Float32Array | null;
}

/** Result of an elementwise loss on tensor inputs (tensors on the inputs' device). */
export interface ElementwiseTensorResult {
  /** Shape `[]` for reductions, the input shape for `'none'`. */
  loss: Tensor<'float32'>;
  /** d loss / d input, or null when `grad: false`. */
  grad: Tensor<'float32'> | null;
}

/** Result of {@link klDiv} on Float32Array inputs. */
export interface KlDivHostResult extends ElementwiseHostResult {
  /** d loss / d target, or null unless `targetGrad` (NaN where a non-log target is 0, as PyTorch 1.13). */
  gradTarget: Float32Array | null;
}

/** Result of {@link klDiv} on tensor inputs. */
export interface KlDivTensorResult extends ElementwiseTensorResult {
  /** d loss / d target, or null unless `targetGrad`. */
  gradTarget: Tensor<'float32'> | null;
}

type Builder = (opts: Record<string, unknown>) => { cfg: LossPrepConfig };

function common(opts: Record<string, unknown>, dflt: Reduction): { reduction: 0 | 1 | 2; wantGrad: boolean } {
  return { reduction: reductionCode(opts.reduction ?? dflt), wantGrad: bool(opts.grad, 'grad', true) };
}

function margin(v: unknown, dflt: number): number {
  return v === undefined ? dflt : finiteNumber(v, 'margin');
}

const BUILD: Record<keyof typeof KIND, Builder> = {
  bceProb: (o) => {
    const { reduction, wantGrad } = common(o, 'mean');
    const check = bool(o.checkInput, 'checkInput', true) ? 1 : 0;
    return { cfg: { names: ['input', 'target'], reduction, wantGrad, weights: WEIGHT, base: { kind: KIND.bceProb, check } } };
  },
  focal: (o) => {
    const { reduction, wantGrad } = common(o, 'none');
    const alpha = o.alpha === undefined ? 0.25 : finiteNumber(o.alpha, 'alpha');
    const gamma = o.gamma === undefined ? 2 : finiteNumber(o.gamma, 'gamma');
    if (gamma < 0) throw new ValidationError(`gamma must be >= 0 (got ${gamma})`, 'BITGRAD_INVALID_ARGUMENT');
    return { cfg: { names: ['logits', 'targets'], reduction, wantGrad, weights: [], base: { kind: KIND.focal, check: 0, alpha, gamma } } };
  },
  softMargin: (o) => {
    const { reduction, wantGrad } = common(o, 'mean');
    return { cfg: { names: ['input', 'target'], reduction, wantGrad, weights: [], base: { kind: KIND.softMargin, check: 0 } } };
  },
  hingeEmbedding: (o) => {
    const { reduction, wantGrad } = common(o, 'mean');
    return { cfg: { names: ['input', 'target'], reduction, wantGrad, weights: [], base: { kind: KIND.hingeEmbedding, check: 0, margin: margin(o.margin, 1) } } };
  },
  klDiv: (o) => {
    const batchmean = o.reduction === 'batchmean';
    const { reduction, wantGrad } = common(batchmean ? { ...o, reduction: 'mean' } : o, 'mean');
    const logTarget = bool(o.logTarget, 'logTarget', false);
    const targetGrad = bool(o.targetGrad, 'targetGrad', false) || o.gradTargetInto !== undefined;
    const divisor = batchmean
      ? (shape: readonly number[]) => {
          if (shape.length === 0) throw new ValidationError("reduction 'batchmean' needs an input with at least one dim", 'BITGRAD_SHAPE_MISMATCH');
          return shape[0];
        }
      : undefined;
    return {
      cfg: { names: ['input', 'target'], reduction, wantGrad, weights: [], targetGrad, divisor, base: { kind: KIND.klDiv, check: 0, logTarget } },
    };
  },
  marginBce: (o) => {
    const { reduction, wantGrad } = common(o, 'mean');
    const m = margin(o.margin, 0);
    if (m < 0) throw new ValidationError(`margin must be >= 0 (got ${m})`, 'BITGRAD_INVALID_ARGUMENT');
    const check = bool(o.checkTargets, 'checkTargets', true) ? 2 : 0;
    return { cfg: { names: ['logits', 'targets'], reduction, wantGrad, weights: WEIGHT, base: { kind: KIND.marginBce, check, margin: m } } };
  },
};

function prepare(which: keyof typeof KIND, name: string, input: unknown, target: unknown, rawOpts: unknown): Prepared<LossHostResult | LossTensorResult> {
  const opts = checkOptions(rawOpts, name);
  const { cfg } = BUILD[which](opts);
  return prepareLoss(input, target, opts as LossOptionsBase & Record<string, unknown>, cfg);
}

/**
 * Binary cross-entropy on probabilities with its gradient, exactly PyTorch's
 * `binary_cross_entropy` (`torch.nn.BCELoss`, aten/src/ATen/native/Loss.cpp):
 * `loss = weight [(y - 1) max(log(1 - x), -100) - y max(log x, -100)]` (each log clamped
 * at -100 separately, so x = 0, y = 1 gives exactly 100 and 0 log 0 never gives NaN;
 * `log(1 - x)` is evaluated as `log1p(-x)`), and PyTorch's backward
 * `d/dx = weight (x - y) / max(x (1 - x), EPSILON)` with the float32 `EPSILON = 1e-12f`
 * (9.99999996e-13): at x = 0, y = 1 the gradient is -1.000000004e12 weight (not 0).
 * `'mean'` (default) divides by the element count (weights do not enter it); empty
 * input gives NaN for `'mean'`, 0 for `'sum'`.
 *
 * Inputs outside [0, 1] or NaN are rejected with `BITGRAD_INPUT_OUT_OF_RANGE` (error
 * `index` and `value` name the first), as PyTorch raises; with `checkInput: false` they
 * give NaN. NaN targets give NaN. Prefer {@link bceWithLogits} for training: this op
 * exists for parity.
 *
 * @param input probabilities in [0, 1]
 * @param target targets in [0, 1] (soft labels allowed)
 * @returns the loss and d loss / d input
 */
export async function binaryCrossEntropy(input: Float32Array, target: Float32Array, opts?: BinaryCrossEntropyOptions): Promise<ElementwiseHostResult>;
export async function binaryCrossEntropy(input: Tensor, target: Tensor, opts?: BinaryCrossEntropyOptions): Promise<ElementwiseTensorResult>;
export async function binaryCrossEntropy(input: unknown, target: unknown, opts?: BinaryCrossEntropyOptions): Promise<ElementwiseHostResult | ElementwiseTensorResult> {
  return (await runLoss('lossEw', prepare('bceProb', 'binaryCrossEntropy', input, target, opts), true)) as ElementwiseHostResult | ElementwiseTensorResult;
}

/** Synchronous {@link binaryCrossEntropy} (CUDA: enqueues and returns; range errors are reported only by the async form). */
export function binaryCrossEntropySync(input: Float32Array, target: Float32Array, opts?: BinaryCrossEntropyOptions): ElementwiseHostResult;
export function binaryCrossEntropySync(input: Tensor, target: Tensor, opts?: BinaryCrossEntropyOptions): ElementwiseTensorResult;
export function binaryCrossEntropySync(input: unknown, target: unknown, opts?: BinaryCrossEntropyOptions): ElementwiseHostResult | ElementwiseTensorResult {
  return runLoss('lossEw', prepare('bceProb', 'binaryCrossEntropySync', input, target, opts), false) as ElementwiseHostResult | ElementwiseTensorResult;
}

/**
 * Sigmoid focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017)
 * with its gradient, exactly torchvision's `sigmoid_focal_loss`
 * (torchvision/ops/focal_loss.py): with `p = sigmoid(x)`, `ce = BCEWithLogits(x, y)`,
 * `1 - p_t = p (1 - y) + (1 - p) y`, `loss = alpha_t ce (1 - p_t)^gamma`,
 * `alpha_t = alpha y + (1 - alpha)(1 - y)` (omitted when `alpha < 0`);
 * `d/dx = alpha_t [(p - y)(1 - p_t)^gamma - gamma ce (1 - p_t)^(gamma - 1) p (1 - p)(2y - 1)]`.
 * Defaults alpha 0.25, gamma 2, reduction `'none'` (torchvision's; not `'mean'`).
 *
 * Stable: ce in the softplus form and `1 - p_t` from the stable sigmoids, so logits of
 * +-1e4 give finite results; `(1 - p_t)^(gamma - 1) p (1 - p)` is evaluated as
 * `(1 - p_t)^gamma (p (1 - p) / (1 - p_t))`, finite for gamma < 1 and 0 where
 * `1 - p_t = 0`; gamma = 0 is plain (alpha-weighted) BCE. NaN logits or targets give NaN.
 */
export async function sigmoidFocalLoss(logits: Float32Array, targets: Float32Array, opts?: SigmoidFocalLossOptions): Promise<ElementwiseHostResult>;
export async function sigmoidFocalLoss(logits: Tensor, targets: Tensor, opts?: SigmoidFocalLossOptions): Promise<ElementwiseTensorResult>;
export async function sigmoidFocalLoss(logits: unknown, targets: unknown, opts?: SigmoidFocalLossOptions): Promise<ElementwiseHostResult | ElementwiseTensorResult> {
  return (await runLoss('lossEw', prepare('focal', 'sigmoidFocalLoss', logits, targets, opts), true)) as ElementwiseHostResult | ElementwiseTensorResult;
}

/** Synchronous {@link sigmoidFocalLoss}. */
export function sigmoidFocalLossSync(logits: Float32Array, targets: Float32Array, opts?: SigmoidFocalLossOptions): ElementwiseHostResult;
export function sigmoidFocalLossSync(logits: Tensor, targets: Tensor, opts?: SigmoidFocalLossOptions): ElementwiseTensorResult;
export function sigmoidFocalLossSync(logits: unknown, targets: unknown, opts?: SigmoidFocalLossOptions): ElementwiseHostResult | ElementwiseTensorResult {
  return runLoss('lossEw', prepare('focal', 'sigmoidFocalLossSync', logits, targets, opts), false) as ElementwiseHostResult | ElementwiseTensorResult;
}

/**
 * Soft margin loss, PyTorch's `soft_margin_loss` (`torch.nn.SoftMarginLoss`):
 * `loss = log(1 + exp(-y x))`, `d/dx = -y sigmoid(-y x)`, y in {-1, +1}; `'mean'`
 * (default) over all elements. Computed as `softplus(-y x)` in the stable form: where
 * PyTorch's `log1p(exp(-y x))` overflows to inf (y x < -88) this returns the exact
 * value `-y x` and gradient `-y`. NaN gives NaN.
 */
export async function softMarginLoss(input: Float32Array, target: Float32Array, opts?: SoftMarginLossOptions): Promise<ElementwiseHostResult>;
export async function softMarginLoss(input: Tensor, target: Tensor, opts?: SoftMarginLossOptions): Promise<ElementwiseTensorResult>;
export async function softMarginLoss(input: unknown, target: unknown, opts?: SoftMarginLossOptions): Promise<ElementwiseHostResult | ElementwiseTensorResult> {
  return (await runLoss('lossEw', prepare('softMargin', 'softMarginLoss', input, target, opts), true)) as ElementwiseHostResult | ElementwiseTensorResult;
}

/** Synchronous {@link softMarginLoss}. */
export function softMarginLossSync(input: Float32Array, target: Float32Array, opts?: SoftMarginLossOptions): ElementwiseHostResult;
export function softMarginLossSync(input: Tensor, target: Tensor, opts?: SoftMarginLossOptions): ElementwiseTensorResult;
export function softMarginLossSync(input: unknown, target: unknown, opts?: SoftMarginLossOptions): ElementwiseHostResult | ElementwiseTensorResult {
  return runLoss('lossEw', prepare('softMargin', 'softMarginLossSync', input, target, opts), false) as ElementwiseHostResult | ElementwiseTensorResult;
}

/**
 * Hinge embedding loss, PyTorch's `hinge_embedding_loss` (`torch.nn.HingeEmbeddingLoss`),
 * literally `where(y != 1, max(0, margin - x), 0) + where(y != -1, x, 0)`: x for y = 1,
 * `max(0, margin - x)` for y = -1, and both terms for any other target (as PyTorch).
 * Gradient as PyTorch's autograd: 1 where y != -1, plus -1 where y != 1 and
 * `margin - x >= 0` (the boundary passes, as `clamp_min`'s backward). Default margin 1,
 * `'mean'` over all elements. NaN input gives NaN loss; its gradient is 1 where y != -1, else 0.
 */
export async function hingeEmbeddingLoss(input: Float32Array, target: Float32Array, opts?: HingeEmbeddingLossOptions): Promise<ElementwiseHostResult>;
export async function hingeEmbeddingLoss(input: Tensor, target: Tensor, opts?: HingeEmbeddingLossOptions): Promise<ElementwiseTensorResult>;
export async function hingeEmbeddingLoss(input: unknown, target: unknown, opts?: HingeEmbeddingLossOptions): Promise<ElementwiseHostResult | ElementwiseTensorResult> {
  return (await runLoss('lossEw', prepare('hingeEmbedding', 'hingeEmbeddingLoss', input, target, opts), true)) as ElementwiseHostResult | ElementwiseTensorResult;
}

/** Synchronous {@link hingeEmbeddingLoss}. */
export function hingeEmbeddingLossSync(input: Float32Array, target: Float32Array, opts?: HingeEmbeddingLossOptions): ElementwiseHostResult;
export function hingeEmbeddingLossSync(input: Tensor, target: Tensor, opts?: HingeEmbeddingLossOptions): ElementwiseTensorResult;
export function hingeEmbeddingLossSync(input: unknown, target: unknown, opts?: HingeEmbeddingLossOptions): ElementwiseHostResult | ElementwiseTensorResult {
  return runLoss('lossEw', prepare('hingeEmbedding', 'hingeEmbeddingLossSync', input, target, opts), false) as ElementwiseHostResult | ElementwiseTensorResult;
}

/**
 * Kullback-Leibler divergence, PyTorch's `kl_div` (`torch.nn.KLDivLoss`) on
 * log-probabilities `input`: `loss = xlogy(t, t) - t input` (0 where t = 0), or with
 * `logTarget` `exp(t)(t - input)`. `d/dinput = -t` (`-exp(t)`); with `targetGrad`,
 * `d/dt = log t + 1 - input` (`exp(t)(t - input + 1)`), which is NaN where a non-log
 * t is 0: PyTorch 1.13's composite autograd gives NaN there (pytorch/pytorch#89558;
 * releases up to 1.12 gave 0). Reductions: `'mean'` (default) over all elements, as
 * PyTorch's (not the mathematical KL, which is `'batchmean'` = sum / input.size(0)),
 * `'sum'`, `'none'`. t < 0 (non-log) and NaN give NaN; t = 0 with input = -inf gives NaN (0 * inf), as PyTorch.
 */
export async function klDiv(input: Float32Array, target: Float32Array, opts?: KlDivOptions): Promise<KlDivHostResult>;
export async function klDiv(input: Tensor, target: Tensor, opts?: KlDivOptions): Promise<KlDivTensorResult>;
export async function klDiv(input: unknown, target: unknown, opts?: KlDivOptions): Promise<KlDivHostResult | KlDivTensorResult> {
  return withTargetGrad(await runLoss('lossEw', prepare('klDiv', 'klDiv', input, target, opts), true));
}

/** Synchronous {@link klDiv}. */
export function klDivSync(input: Float32Array, target: Float32Array, opts?: KlDivOptions): KlDivHostResult;
export function klDivSync(input: Tensor, target: Tensor, opts?: KlDivOptions): KlDivTensorResult;
export function klDivSync(input: unknown, target: unknown, opts?: KlDivOptions): KlDivHostResult | KlDivTensorResult {
  return withTargetGrad(runLoss('lossEw', prepare('klDiv', 'klDivSync', input, target, opts), false));
}

function withTargetGrad(r: LossHostResult | LossTensorResult): KlDivHostResult | KlDivTensorResult {
  return { ...r, gradTarget: r.gradTarget ?? null } as KlDivHostResult | KlDivTensorResult;
}

/**
 * Margin binary cross-entropy of GridFormer (Li et al., "GridFormer: Point-Grid
 * Transformer for Surface Reconstruction", AAAI 2024; authors' code
 * list17/GridFormer src/conv_onet/training.py): the logit is shifted away from the
 * decision boundary, `z' = x - margin (2y - 1)`, then
 * `loss = weight BCEWithLogits(z', y) = weight [softplus(-z') + (1 - y) z']`,
 * `d/dx = weight (sigmoid(z') - y)`. margin 0 (default) is plain BCE with logits; the
 * authors use 0.4 and 2.0 (boundary refinement). The authors reduce by sum over a
 * shape's points and mean over the batch: use `'sum'` per shape. The paper's equation
 * was not retrieved; this follows the code. Targets outside [0, 1] or NaN are rejected
 * (`BITGRAD_TARGET_OUT_OF_RANGE`) unless `checkTargets: false`; NaN logits give NaN.
 */
export async function marginBce(logits: Float32Array, targets: Float32Array, opts?: MarginBceOptions): Promise<ElementwiseHostResult>;
export async function marginBce(logits: Tensor, targets: Tensor, opts?: MarginBceOptions): Promise<ElementwiseTensorResult>;
export async function marginBce(logits: unknown, targets: unknown, opts?: MarginBceOptions): Promise<ElementwiseHostResult | ElementwiseTensorResult> {
  return (await runLoss('lossEw', prepare('marginBce', 'marginBce', logits, targets, opts), true)) as ElementwiseHostResult | ElementwiseTensorResult;
}

/** Synchronous {@link marginBce}. */
export function marginBceSync(logits: Float32Array, targets: Float32Array, opts?: MarginBceOptions): ElementwiseHostResult;
export function marginBceSync(logits: Tensor, targets: Tensor, opts?: MarginBceOptions): ElementwiseTensorResult;
export function marginBceSync(logits: unknown, targets: unknown, opts?: MarginBceOptions): ElementwiseHostResult | ElementwiseTensorResult {
  return runLoss('lossEw', prepare('marginBce', 'marginBceSync', logits, targets, opts), false) as ElementwiseHostResult | ElementwiseTensorResult;
}

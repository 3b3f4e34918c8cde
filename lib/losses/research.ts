/**
 * Losses of the seed papers that are batch-, image- or list-level rather than
 * elementwise: diceLoss, softIoULoss, basnetHybrid, anyLoss, mwLoss, paBce, triBce.
 * One native op runs them all (native/math/research_losses.h holds the math shared by
 * the CPU, which computes in double, and CUDA). Each returns its value and the
 * gradient with respect to the trained input(s) from one fused call.
 * @packageDocumentation
 */
import type { Operand, ResearchSpec } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError } from '../errors';
import { Tensor, allocTensor, shapeSize } from '../tensor';
import { Reduction, bool, checkOptions, finiteNumber, reductionCode } from '../validate';
import { Prepared, runLoss } from './common';

/** Native kinds: the order of ResearchKind in native/ops/research_args.h. */
const KIND = { overlap: 0, basnet: 1, anyLoss: 2, mw: 3, paBce: 4, triBce: 5 } as const;

/** Options every research loss accepts. */
export interface ResearchLossOptions {
  /** Compute the gradient (default true). */
  grad?: boolean;
  /** Shape of Float32Array inputs (tensors carry their own); what it must be depends on the loss. */
  shape?: readonly number[];
}

/** Options of the losses with a per-row value (`'none'` gives one loss per row, sample, image or list). */
export interface ReducibleLossOptions extends ResearchLossOptions {
  /** `'mean'` (default), `'sum'` or `'none'`. */
  reduction?: Reduction;
  /**
   * Upstream gradient: for `'none'` one value per row (Float32Array or tensor; default ones),
   * else a number (default 1).
   */
  gradOutput?: number | Float32Array | Tensor;
}

/** Options of the batch-level losses (one scalar value, no reduction). */
export interface BatchLossOptions extends ResearchLossOptions {
  /** Upstream gradient, a number (default 1). */
  gradOutput?: number;
}

/** Result on Float32Array inputs. */
export interface ResearchHostResult {
  /** A number for reductions and batch-level losses; one value per row for `'none'`. */
  loss: number | Float32Array;
  /** d loss / d trained input (times the upstream gradient), or null when `grad: false`. */
  grad: Float32Array | null;
}

/** Result on tensor inputs (tensors on the inputs' device). */
export interface ResearchTensorResult {
  /** Shape `[]` for reductions and batch-level losses, `[rows]` for `'none'`. */
  loss: Tensor<'float32'>;
  /** d loss / d trained input, shaped like it, or null when `grad: false`. */
  grad: Tensor<'float32'> | null;
}

/** Result of {@link triBce} on Float32Array inputs. */
export interface TriBceHostResult {
  loss: number;
  /** d L_tri / d z_D, or null when `grad: false`. */
  gradD: Float32Array | null;
  /** d L_tri / d z_S, or null when `grad: false`. */
  gradS: Float32Array | null;
}

/** Result of {@link triBce} on tensor inputs. */
export interface TriBceTensorResult {
  loss: Tensor<'float32'>;
  gradD: Tensor<'float32'> | null;
  gradS: Tensor<'float32'> | null;
}

/** Options of {@link diceLoss} (MONAI `DiceLoss` defaults). */
export interface DiceLossOptions extends ReducibleLossOptions {
  /** Added to the numerator (MONAI `smooth_nr`, default 1e-5). */
  smoothNr?: number;
  /** Added to the denominator (MONAI `smooth_dr`, default 1e-5). */
  smoothDr?: number;
  /** Sum p^2 and g^2 in the denominator (V-Net form; MONAI `squared_pred`, default false). */
  squaredPred?: boolean;
  /** MONAI's Jaccard variant `1 - (2I + s_nr) / (2(P + G - I) + s_dr)` (default false). */
  jaccard?: boolean;
}

/** Options of {@link softIoULoss}. */
export interface SoftIoULossOptions extends ReducibleLossOptions {
  /** Added to the numerator (default 0: BASNet's form). */
  smoothNr?: number;
  /** Added to the denominator (default 0). */
  smoothDr?: number;
  /** Sum p^2 and g^2 instead of p and g (default false). */
  squaredPred?: boolean;
}

/** Options of {@link basnetHybrid}. */
export interface BasnetHybridOptions extends ReducibleLossOptions {
  /** IoU term `(I + epsilon) / (U + epsilon)` (default 0, the authors': an all-zero P and G image gives NaN). */
  epsilon?: number;
  /** Reject P outside [0, 1] or NaN with `BITGRAD_INPUT_OUT_OF_RANGE` (default true, as PyTorch's BCELoss). */
  checkInput?: boolean;
}

/** Options of {@link anyLoss}. */
export interface AnyLossOptions extends BatchLossOptions {
  /** Amplifying scale L of `A(p) = 1 / (1 + exp(-L (p - 0.5)))` (required; the authors' README gives [2, 70]). */
  L?: number;
  /** `'f1'` (default), `'fbeta'`, `'accuracy'`, `'balancedAccuracy'` or `'gmean'`. */
  metric?: 'f1' | 'fbeta' | 'accuracy' | 'balancedAccuracy' | 'gmean';
  /** beta of `'fbeta'` (default 1). */
  beta?: number;
  /** Added to every denominator (default 0; the authors' code uses 1e-5). */
  epsilon?: number;
}

/** Options of {@link mwLoss}. */
export interface MwLossOptions extends ReducibleLossOptions {
  /** Temperature tau > 0 (default 1: eq. 3 of the paper literally; the experiments use 0.01). */
  tau?: number;
}

/** Options of {@link paBce}. */
export interface PaBceOptions extends ReducibleLossOptions {
  /** Items per list taken by P&L (default 3, the authors'; at most 1024). */
  topK?: number;
}

/** Options of {@link triBce}. */
export interface TriBceOptions extends BatchLossOptions {
  /** Detach the weights w_D, w_S (default false: the authors' code lets gradients flow through them). */
  detachWeights?: boolean;
}

interface Plan {
  name: string;
  kind: number;
  inputs: Array<[string, unknown]>; // trained input(s) first, then the target
  /** rows, cols (and h, w) from the input shape */
  dims: (shape: readonly number[]) => { rows: number; cols: number; h?: number; w?: number };
  defaultShape?: (n: number) => number[];
  reduction: 0 | 1 | 2;
  batch: boolean; // scalar loss, no reduction
  params: Record<string, unknown>;
  grad2: boolean;
}

function shapeError(name: string, what: string): never {
  throw new ValidationError(`${name}: ${what}`, 'BITGRAD_SHAPE_MISMATCH');
}

function num(v: unknown, name: string, dflt: number): number {
  return v === undefined ? dflt : finiteNumber(v, name);
}

function prepare(plan: Plan, opts: Record<string, unknown>): Prepared<ResearchHostResult | ResearchTensorResult | TriBceHostResult | TriBceTensorResult, ResearchSpec> {
  const wantGrad = bool(opts.grad, 'grad', true);
  const vals = plan.inputs.map(([, v]) => v);
  const names = plan.inputs.map(([k]) => k);
  const reduction = plan.batch ? 2 : plan.reduction;
  const gradScaleOf = (g: unknown): number => (g === undefined ? 1 : finiteNumber(g, 'gradOutput'));
  const base = (rows: number, cols: number, h?: number, w?: number): ResearchSpec =>
    ({ kind: plan.kind, rows, cols, h, w, reduction, gradScale: 1, ...plan.params }) as unknown as ResearchSpec;

  if (vals.some((v) => v instanceof Float32Array)) {
    vals.forEach((v, i) => {
      if (!(v instanceof Float32Array)) throw new ValidationError(`${plan.name}: ${names[i]} must be a Float32Array like the other inputs`, 'BITGRAD_INVALID_DTYPE');
    });
    const arrs = vals as Float32Array[];
    const n = arrs[0].length;
    arrs.forEach((a, i) => {
      if (a.length !== n) shapeError(plan.name, `${names[0]} has ${n} elements but ${names[i]} has ${a.length}`);
    });
    const shape = (opts.shape as readonly number[] | undefined) ?? (plan.defaultShape ? plan.defaultShape(n) : undefined);
    if (shape === undefined) shapeError(plan.name, 'pass the input shape as `shape` for Float32Array inputs');
    if (shapeSize(shape as number[], 'shape') !== n) shapeError(plan.name, `shape [${shape.join(', ')}] does not have ${n} elements`);
    const d = plan.dims(shape);
    const spec = base(d.rows, d.cols, d.h, d.w);
    spec.x = arrs[0];
    if (plan.grad2) spec.x2 = arrs[1];
    spec.y = arrs[arrs.length - 1];
    spec.loss = new Float32Array(reduction === 0 ? d.rows : 1);
    if (wantGrad) spec.grad = new Float32Array(n);
    if (wantGrad && plan.grad2) spec.grad2 = new Float32Array(n);
    if (reduction === 0 && opts.gradOutput !== undefined) {
      const g = opts.gradOutput;
      if (!(g instanceof Float32Array) || g.length !== d.rows)
        throw new ValidationError(`gradOutput for reduction 'none' must be a Float32Array of ${d.rows} values (one per row)`, 'BITGRAD_SHAPE_MISMATCH');
      spec.gradOut = g;
    } else if (reduction !== 0) spec.gradScale = gradScaleOf(opts.gradOutput);
    return {
      spec,
      finish: () => {
        const loss = reduction === 0 ? (spec.loss as Float32Array) : (spec.loss as Float32Array)[0];
        if (plan.grad2) return { loss: loss as number, gradD: (spec.grad as Float32Array) ?? null, gradS: (spec.grad2 as Float32Array) ?? null };
        return { loss, grad: (spec.grad as Float32Array | undefined) ?? null };
      },
      fail: () => undefined,
    };
  }

  vals.forEach((v, i) => {
    if (!(v instanceof Tensor)) throw new ValidationError(`${plan.name}: inputs must all be Float32Arrays or all tensors (${names[i]})`, 'BITGRAD_INVALID_ARGUMENT');
    if (v.dtype !== 'float32') throw new ValidationError(`${plan.name}: ${names[i]} must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
  });
  const ts = vals as Tensor[];
  const shape = ts[0].shape;
  const device = ts[0].device;
  ts.forEach((t, i) => {
    if (t.shape.length !== shape.length || t.shape.some((s, j) => s !== shape[j]))
      shapeError(plan.name, `${names[0]} [${shape.join(', ')}] and ${names[i]} [${t.shape.join(', ')}] must have the same shape`);
    if (t.device !== device) throw new ValidationError(`${plan.name}: ${names[0]} is on ${device} but ${names[i]} on ${t.device}`, 'BITGRAD_DEVICE_MISMATCH');
  });
  const d = plan.dims(shape);
  const buffers = ts.map((t) => t.buffer); // throws BITGRAD_DISPOSED first
  let gradOut: Operand | undefined;
  let gradScale = 1;
  if (reduction === 0 && opts.gradOutput !== undefined) {
    const g = opts.gradOutput;
    if (!(g instanceof Tensor) || g.dtype !== 'float32' || g.size !== d.rows || g.device !== device)
      throw new ValidationError(`gradOutput for reduction 'none' must be a float32 tensor of ${d.rows} values on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
    gradOut = g.buffer;
  } else if (reduction !== 0) gradScale = gradScaleOf(opts.gradOutput);
  const dev = deviceIndex(device);
  const lossT = allocTensor(reduction === 0 ? [d.rows] : [], 'float32', dev);
  const gradT = wantGrad ? allocTensor(shape, 'float32', dev) : null;
  const grad2T = wantGrad && plan.grad2 ? allocTensor(shape, 'float32', dev) : null;
  const spec = base(d.rows, d.cols, d.h, d.w);
  spec.x = buffers[0];
  if (plan.grad2) spec.x2 = buffers[1];
  spec.y = buffers[buffers.length - 1];
  spec.loss = lossT.buffer;
  if (gradT) spec.grad = gradT.buffer;
  if (grad2T) spec.grad2 = grad2T.buffer;
  if (gradOut) spec.gradOut = gradOut;
  spec.gradScale = gradScale;
  return {
    spec,
    finish: () => (plan.grad2 ? { loss: lossT, gradD: gradT, gradS: grad2T } : { loss: lossT, grad: gradT }),
    fail: () => {
      lossT.dispose();
      gradT?.dispose();
      grad2T?.dispose();
    },
  };
}

/** Validates and runs one call of `plan` (async: a promise); each public function types its own result. */
function run(plan: Plan, opts: Record<string, unknown>, async: boolean): any {
  return runLoss('researchLoss', prepare(plan, opts), async);
}

// ---- plans ----------------------------------------------------------------------------

/** [N, C, ...spatial] -> rows N C, cols prod(spatial); [n] -> one row. */
function perChannel(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length <= 1) return { rows: 1, cols: shape.length === 0 ? 1 : shape[0] };
  const rows = shape[0] * shape[1];
  const cols = shape.slice(2).reduce((a, b) => a * b, 1);
  return { rows, cols };
}

function overlapPlan(name: string, jaccardAllowed: boolean, p: unknown, g: unknown, raw: unknown): Plan {
  const o = checkOptions(raw, name);
  const iou = !jaccardAllowed;
  const smoothNr = num(o.smoothNr, 'smoothNr', iou ? 0 : 1e-5);
  const smoothDr = num(o.smoothDr, 'smoothDr', iou ? 0 : 1e-5);
  const squared = bool(o.squaredPred, 'squaredPred', false);
  const jaccard = jaccardAllowed ? bool(o.jaccard, 'jaccard', false) : false;
  const [a, b, c] = iou ? [1, 1, -1] : jaccard ? [2, 2, -2] : [2, 1, 0];
  return {
    name,
    kind: KIND.overlap,
    inputs: [['input', p], ['target', g]],
    dims: perChannel,
    defaultShape: (n) => [n],
    reduction: reductionCode(o.reduction),
    batch: false,
    params: { a, b, c, smoothNr, smoothDr, squared },
    grad2: false,
  };
}

function basnetPlan(name: string, p: unknown, g: unknown, raw: unknown): Plan {
  const o = checkOptions(raw, name);
  const eps = num(o.epsilon, 'epsilon', 0);
  if (eps < 0) throw new ValidationError(`epsilon must be >= 0 (got ${eps})`, 'BITGRAD_INVALID_ARGUMENT');
  const check = bool(o.checkInput, 'checkInput', true) ? 1 : 0;
  return {
    name,
    kind: KIND.basnet,
    inputs: [['P', p], ['G', g]],
    dims: (s) => {
      if (!(s.length === 4 && s[1] === 1) && s.length !== 3 && s.length !== 2)
        shapeError(name, `maps must be [N, 1, H, W], [N, H, W] or [H, W] (got [${s.join(', ')}])`);
      const [n, h, w] = s.length === 2 ? [1, s[0], s[1]] : [s[0], s[s.length - 2], s[s.length - 1]];
      if (n > 65535) shapeError(name, 'at most 65535 images per call');
      return { rows: n, cols: h * w, h, w };
    },
    reduction: reductionCode(o.reduction),
    batch: false,
    params: { iouEps: eps, check },
    grad2: false,
  };
}

const METRIC: Record<string, number> = { f1: 0, fbeta: 0, accuracy: 1, balancedAccuracy: 2, gmean: 3 };

function anyPlan(name: string, p: unknown, y: unknown, raw: unknown): Plan {
  const o = checkOptions(raw, name);
  if (o.L === undefined) throw new ValidationError('anyLoss: the amplifying scale L is required (the paper\'s value is unconfirmed; the authors\' README gives [2, 70])', 'BITGRAD_INVALID_ARGUMENT');
  const L = finiteNumber(o.L, 'L');
  if (!(L > 0)) throw new ValidationError(`L must be > 0 (got ${L})`, 'BITGRAD_INVALID_ARGUMENT');
  const m = o.metric ?? 'f1';
  if (typeof m !== 'string' || !(m in METRIC))
    throw new ValidationError("metric must be 'f1', 'fbeta', 'accuracy', 'balancedAccuracy' or 'gmean'", 'BITGRAD_INVALID_ARGUMENT');
  const beta = m === 'fbeta' ? num(o.beta, 'beta', 1) : 1;
  if (!(beta > 0)) throw new ValidationError(`beta must be > 0 (got ${beta})`, 'BITGRAD_INVALID_ARGUMENT');
  const eps = num(o.epsilon, 'epsilon', 0);
  if (eps < 0) throw new ValidationError(`epsilon must be >= 0 (got ${eps})`, 'BITGRAD_INVALID_ARGUMENT');
  if (o.gradOutput !== undefined && typeof o.gradOutput !== 'number') throw new ValidationError('gradOutput must be a number', 'BITGRAD_INVALID_ARGUMENT');
  return {
    name,
    kind: KIND.anyLoss,
    inputs: [['p', p], ['y', y]],
    dims: (s) => ({ rows: 1, cols: s.reduce((a, b) => a * b, 1) }),
    defaultShape: (n) => [n],
    reduction: 2,
    batch: true,
    params: { L, metric: METRIC[m], beta, anyEps: eps },
    grad2: false,
  };
}

function mwPlan(name: string, s: unknown, raw: unknown): Plan {
  const o = checkOptions(raw, name);
  const tau = num(o.tau, 'tau', 1);
  if (!(tau > 0)) throw new ValidationError(`tau must be > 0 (got ${tau})`, 'BITGRAD_INVALID_ARGUMENT');
  // The target slot is unused by the kernel; pass the scores again.
  return {
    name,
    kind: KIND.mw,
    inputs: [['scores', s], ['scores', s]],
    dims: (sh) => {
      if (sh.length !== 2) shapeError(name, `scores must be [B, C] (got [${sh.join(', ')}])`);
      if (sh[1] < sh[0]) shapeError(name, `scores [${sh.join(', ')}] need at least as many passages (columns) as queries (rows)`);
      return { rows: sh[0], cols: sh[1] };
    },
    reduction: reductionCode(o.reduction),
    batch: false,
    params: { tau },
    grad2: false,
  };
}

function paPlan(name: string, s: unknown, pnl: unknown, raw: unknown): Plan {
  const o = checkOptions(raw, name);
  const k = num(o.topK, 'topK', 3);
  if (!Number.isInteger(k) || k < 1 || k > 1024) throw new ValidationError(`topK must be an integer in [1, 1024] (got ${k})`, 'BITGRAD_INVALID_ARGUMENT');
  return {
    name,
    kind: KIND.paBce,
    inputs: [['scores', s], ['pnl', pnl]],
    dims: (sh) => {
      if (sh.length === 1) return { rows: 1, cols: sh[0] };
      if (sh.length !== 2) shapeError(name, `scores must be [lists, items] or [items] (got [${sh.join(', ')}])`);
      return { rows: sh[0], cols: sh[1] };
    },
    defaultShape: (n) => [n],
    reduction: reductionCode(o.reduction),
    batch: false,
    params: { topK: k },
    grad2: false,
  };
}

function triPlan(name: string, zD: unknown, zS: unknown, y: unknown, raw: unknown): Plan {
  const o = checkOptions(raw, name);
  const detach = bool(o.detachWeights, 'detachWeights', false);
  if (o.gradOutput !== undefined && typeof o.gradOutput !== 'number') throw new ValidationError('gradOutput must be a number', 'BITGRAD_INVALID_ARGUMENT');
  return {
    name,
    kind: KIND.triBce,
    inputs: [['zD', zD], ['zS', zS], ['y', y]],
    dims: (s) => ({ rows: 1, cols: s.reduce((a, b) => a * b, 1) }),
    defaultShape: (n) => [n],
    reduction: 2,
    batch: true,
    params: { detach },
    grad2: true,
  };
}

function opts(raw: unknown, name: string): Record<string, unknown> {
  return checkOptions(raw, name);
}

// ---- public functions -------------------------------------------------------------------

/**
 * Soft Dice loss, MONAI's `DiceLoss` (Project-MONAI/MONAI monai/losses/dice.py) with its
 * defaults: per sample and channel, `loss = 1 - (2 I + smoothNr) / (P + G + smoothDr)`,
 * `I = sum p g`, `P = sum p` (`sum p^2` with `squaredPred`, V-Net), `G = sum g` (`sum g^2`),
 * smoothNr = smoothDr = 1e-5; `jaccard: true` gives MONAI's
 * `1 - (2 I + smoothNr) / (2 (P + G - I) + smoothDr)`. Gradient (non-squared Dice)
 * `d/dp_i = -(2 g_i (P + G + s_dr) - (2 I + s_nr)) / (P + G + s_dr)^2`. Inputs are
 * probabilities (apply the activation first; MONAI's is off by default) of shape
 * `[N, C, ...spatial]` (`[n]` is one sample and channel); `'none'` gives the `N C` losses,
 * `'mean'` (default) their mean. Gradients go to `input` only. A row with no elements gives
 * `1 - smoothNr / smoothDr` (0 by default; NaN with zero smoothing); empty batches give NaN
 * (`'mean'`) or 0 (`'sum'`).
 */
export async function diceLoss(input: Float32Array, target: Float32Array, opts?: DiceLossOptions): Promise<ResearchHostResult>;
export async function diceLoss(input: Tensor, target: Tensor, opts?: DiceLossOptions): Promise<ResearchTensorResult>;
export async function diceLoss(input: unknown, target: unknown, o?: DiceLossOptions): Promise<ResearchHostResult | ResearchTensorResult> {
  return run(overlapPlan('diceLoss', true, input, target, o), opts(o, 'diceLoss'), true);
}
/** Synchronous {@link diceLoss} (CUDA: enqueues and returns). */
export function diceLossSync(input: Float32Array, target: Float32Array, opts?: DiceLossOptions): ResearchHostResult;
export function diceLossSync(input: Tensor, target: Tensor, opts?: DiceLossOptions): ResearchTensorResult;
export function diceLossSync(input: unknown, target: unknown, o?: DiceLossOptions): ResearchHostResult | ResearchTensorResult {
  return run(overlapPlan('diceLossSync', true, input, target, o), opts(o, 'diceLossSync'), false);
}

/**
 * Soft IoU (Jaccard) loss, the form BASNet uses (Qin et al., CVPR 2019; code
 * xuebinqin/BASNet pytorch_iou): per sample and channel `loss = 1 - (I + smoothNr) / (U + smoothDr)`,
 * `I = sum p g`, `U = sum p + sum g - I` (`sum p^2`, `sum g^2` with `squaredPred`), no smoothing by
 * default; `d/dp_i = -(g_i U - I (1 - g_i)) / U^2`. Shapes, reductions and gradients as
 * {@link diceLoss} (gradients go to `input` only). A row with `U = 0` and no smoothing gives NaN.
 */
export async function softIoULoss(input: Float32Array, target: Float32Array, opts?: SoftIoULossOptions): Promise<ResearchHostResult>;
export async function softIoULoss(input: Tensor, target: Tensor, opts?: SoftIoULossOptions): Promise<ResearchTensorResult>;
export async function softIoULoss(input: unknown, target: unknown, o?: SoftIoULossOptions): Promise<ResearchHostResult | ResearchTensorResult> {
  return run(overlapPlan('softIoULoss', false, input, target, o), opts(o, 'softIoULoss'), true);
}
/** Synchronous {@link softIoULoss}. */
export function softIoULossSync(input: Float32Array, target: Float32Array, opts?: SoftIoULossOptions): ResearchHostResult;
export function softIoULossSync(input: Tensor, target: Tensor, opts?: SoftIoULossOptions): ResearchTensorResult;
export function softIoULossSync(input: unknown, target: unknown, o?: SoftIoULossOptions): ResearchHostResult | ResearchTensorResult {
  return run(overlapPlan('softIoULossSync', false, input, target, o), opts(o, 'softIoULossSync'), false);
}

/**
 * BASNet hybrid loss (Qin et al., "BASNet: Boundary-Aware Salient Object Detection",
 * CVPR 2019; code xuebinqin/BASNet): `L = L_bce + (1 - SSIM) + (1 - IoU)` per image of
 * probability maps `P` and ground truth `G` of shape `[N, 1, H, W]` (or `[N, H, W]`,
 * `[H, W]`). `L_bce` is PyTorch's `BCELoss` (logs clamped at -100) averaged over the pixels;
 * SSIM uses an 11 x 11 Gaussian window (sigma 1.5) applied as a depthwise correlation
 * with zero padding 5, `C1 = 0.01^2`, `C2 = 0.03^2`, variances `conv(x x) - mu^2`, averaged
 * over the pixels; `IoU = (I + epsilon) / (U + epsilon)` with `I = sum P G`,
 * `U = sum P + sum G - I` (epsilon 0 by default, as the authors: an all-zero P and G
 * image gives NaN). `'mean'` (default) over images equals the authors' value; apply it to
 * each side output and add them for deep supervision. Gradients go to `P` only, through
 * the convolutions (separable: 11 taps x 2 passes). P outside [0, 1] or NaN is rejected
 * (`BITGRAD_INPUT_OUT_OF_RANGE`) unless `checkInput: false`. Empty images give NaN.
 */
export async function basnetHybrid(P: Float32Array, G: Float32Array, opts?: BasnetHybridOptions): Promise<ResearchHostResult>;
export async function basnetHybrid(P: Tensor, G: Tensor, opts?: BasnetHybridOptions): Promise<ResearchTensorResult>;
export async function basnetHybrid(P: unknown, G: unknown, o?: BasnetHybridOptions): Promise<ResearchHostResult | ResearchTensorResult> {
  return run(basnetPlan('basnetHybrid', P, G, o), opts(o, 'basnetHybrid'), true);
}
/** Synchronous {@link basnetHybrid} (CUDA: enqueues and returns; range errors only from the async form). */
export function basnetHybridSync(P: Float32Array, G: Float32Array, opts?: BasnetHybridOptions): ResearchHostResult;
export function basnetHybridSync(P: Tensor, G: Tensor, opts?: BasnetHybridOptions): ResearchTensorResult;
export function basnetHybridSync(P: unknown, G: unknown, o?: BasnetHybridOptions): ResearchHostResult | ResearchTensorResult {
  return run(basnetPlan('basnetHybridSync', P, G, o), opts(o, 'basnetHybridSync'), false);
}

/**
 * AnyLoss (Han, Moniz, Chawla, "AnyLoss: Transforming Classification Metrics into Loss
 * Functions", KDD 2024; code doheonhan/anyloss_extension): with `a = 1 / (1 + exp(-L (p - 0.5)))`
 * over the batch, `TP = sum y a`, `FN = sum y (1 - a)`, `FP = sum (1 - y) a`,
 * `TN = sum (1 - y)(1 - a)`; `loss = 1 - metric`: `'f1'` / `'fbeta'`
 * `(1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP)`, `'accuracy'` `(TP + TN) / (TP + TN + FP + FN)`,
 * `'balancedAccuracy'` `(TP / (TP + FN) + TN / (TN + FP)) / 2`, `'gmean'` the authors'
 * surrogate `TP TN / ((TP + FN)(TN + FP))` (no square root); `epsilon` (default 0) is added
 * to each denominator (the authors use 1e-5). A batch-level loss: one scalar, two passes
 * (reduce, then broadcast); gradient to `p` only, `d/dp_i` by the quotient rule times
 * `L a (1 - a)`. **Unconfirmed:** the paper's recommended L (recalled as 73; the README
 * gives [2, 70]), so `L` has no default. An empty batch gives NaN (epsilon 0).
 */
export async function anyLoss(p: Float32Array, y: Float32Array, opts: AnyLossOptions): Promise<ResearchHostResult>;
export async function anyLoss(p: Tensor, y: Tensor, opts: AnyLossOptions): Promise<ResearchTensorResult>;
export async function anyLoss(p: unknown, y: unknown, o?: AnyLossOptions): Promise<ResearchHostResult | ResearchTensorResult> {
  return run(anyPlan('anyLoss', p, y, o), opts(o, 'anyLoss'), true);
}
/** Synchronous {@link anyLoss}. */
export function anyLossSync(p: Float32Array, y: Float32Array, opts: AnyLossOptions): ResearchHostResult;
export function anyLossSync(p: Tensor, y: Tensor, opts: AnyLossOptions): ResearchTensorResult;
export function anyLossSync(p: unknown, y: unknown, o?: AnyLossOptions): ResearchHostResult | ResearchTensorResult {
  return run(anyPlan('anyLossSync', p, y, o), opts(o, 'anyLossSync'), false);
}

/**
 * MW loss (Sheikholeslami et al., "Optimizing What Matters: AUC-Driven Learning for
 * Robust Neural Retrieval", arXiv 2510.00137, eq. 3): scores `S` of shape `[B, C]`
 * (rows = queries, columns = passages, C >= B; the positive of query i is column i, the
 * other columns are in-batch and hard negatives); `S-` is every entry except the
 * diagonal, and `L_MW = (1/B) sum_i sum_{s in S-} softplus(-(S_ii - s) / tau)` (stable form
 * of `-log sigmoid`). `'mean'` (default) is the paper's 1/B normalisation, `'sum'` drops it,
 * `'none'` gives the B per-query sums. Gradient to the scores: with
 * `g = sigmoid(-(S_ii - s)/tau) / tau`, `d/dS_ii -= g`, `d/ds += g`. No pair buffer: each
 * positive loops over the negatives and each negative over the positives (O(B^2 C)).
 * **Default tau = 1 is a choice** (eq. 3 has none; the experiments use 0.01). B = 0 gives
 * NaN (`'mean'`).
 */
export async function mwLoss(scores: Float32Array, opts: MwLossOptions & { shape: readonly number[] }): Promise<ResearchHostResult>;
export async function mwLoss(scores: Tensor, opts?: MwLossOptions): Promise<ResearchTensorResult>;
export async function mwLoss(scores: unknown, o?: MwLossOptions): Promise<ResearchHostResult | ResearchTensorResult> {
  return run(mwPlan('mwLoss', scores, o), opts(o, 'mwLoss'), true);
}
/** Synchronous {@link mwLoss}. */
export function mwLossSync(scores: Float32Array, opts: MwLossOptions & { shape: readonly number[] }): ResearchHostResult;
export function mwLossSync(scores: Tensor, opts?: MwLossOptions): ResearchTensorResult;
export function mwLossSync(scores: unknown, o?: MwLossOptions): ResearchHostResult | ResearchTensorResult {
  return run(mwPlan('mwLossSync', scores, o), opts(o, 'mwLossSync'), false);
}

/**
 * Profit-aware pairwise BCE ("PA-BCE") of "Learn to Rank Risky Investors" (Li & Ma,
 * ACM TOIS 2025; code waylonli/PARiskRanker ranking_model/loss.py `GraphBasedLoss`):
 * per list (a row of `scores` / `pnl`, shape `[lists, items]`), take the `topK` items
 * with the largest P&L (descending; ties by position), and for every pair i before j
 * `w_ij = log10(pnl_i - pnl_j + 1)`, `l_ij = w_ij softplus(-(s_i - s_j))`; list loss
 * `sum l_ij / k` (k = min(topK, items)). `'mean'` (default) averages over the lists whose
 * loss is non-zero (0 when there are none), `'sum'` adds, `'none'` gives one per list.
 * Gradient to the scores only: `d/ds_i = -w_ij sigmoid(-(s_i - s_j))`, `d/ds_j = +...`;
 * items outside the top k get 0. **Unconfirmed:** that this pairwise form is the paper's
 * PA-BCE (the repository also has a pointwise BCE); the paper's equation was not retrieved.
 */
export async function paBce(scores: Float32Array, pnl: Float32Array, opts?: PaBceOptions): Promise<ResearchHostResult>;
export async function paBce(scores: Tensor, pnl: Tensor, opts?: PaBceOptions): Promise<ResearchTensorResult>;
export async function paBce(scores: unknown, pnl: unknown, o?: PaBceOptions): Promise<ResearchHostResult | ResearchTensorResult> {
  return run(paPlan('paBce', scores, pnl, o), opts(o, 'paBce'), true);
}
/** Synchronous {@link paBce}. */
export function paBceSync(scores: Float32Array, pnl: Float32Array, opts?: PaBceOptions): ResearchHostResult;
export function paBceSync(scores: Tensor, pnl: Tensor, opts?: PaBceOptions): ResearchTensorResult;
export function paBceSync(scores: unknown, pnl: unknown, o?: PaBceOptions): ResearchHostResult | ResearchTensorResult {
  return run(paPlan('paBceSync', scores, pnl, o), opts(o, 'paBceSync'), false);
}

/**
 * Tri-BCE of FCN (Li et al., "FCN: Fusing Exponential and Linear Cross Network for
 * Click-Through Rate Prediction", arXiv 2407.13349; code salmon1802/FCN src/FCNv1.py):
 * from the two sub-network logits `zD`, `zS` and labels `y`, `L = BCE(sigmoid((zD + zS)/2), y)`,
 * `L_D = BCE(sigmoid(zD), y)`, `L_S = BCE(sigmoid(zS), y)` (batch means, computed on logits in
 * the stable softplus form), `w_D = max(0, L_D - L)`, `w_S = max(0, L_S - L)`,
 * `L_tri = L + w_D L_D + w_S L_S`. Gradients go to both `zD` and `zS` (returned as `gradD`,
 * `gradS`); by default they flow through the weights as in the authors' code
 * (`d(w_D L_D) = (2 L_D - L) dL_D - L_D dL` when active), or not with `detachWeights`.
 * A batch-level loss (one scalar). An empty batch gives NaN.
 */
export async function triBce(zD: Float32Array, zS: Float32Array, y: Float32Array, opts?: TriBceOptions): Promise<TriBceHostResult>;
export async function triBce(zD: Tensor, zS: Tensor, y: Tensor, opts?: TriBceOptions): Promise<TriBceTensorResult>;
export async function triBce(zD: unknown, zS: unknown, y: unknown, o?: TriBceOptions): Promise<TriBceHostResult | TriBceTensorResult> {
  return run(triPlan('triBce', zD, zS, y, o), opts(o, 'triBce'), true);
}
/** Synchronous {@link triBce}. */
export function triBceSync(zD: Float32Array, zS: Float32Array, y: Float32Array, opts?: TriBceOptions): TriBceHostResult;
export function triBceSync(zD: Tensor, zS: Tensor, y: Tensor, opts?: TriBceOptions): TriBceTensorResult;
export function triBceSync(zD: unknown, zS: unknown, y: unknown, o?: TriBceOptions): TriBceHostResult | TriBceTensorResult {
  return run(triPlan('triBceSync', zD, zS, y, o), opts(o, 'triBceSync'), false);
}

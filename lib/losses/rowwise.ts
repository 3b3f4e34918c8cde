/**
 * Row-wise (class-dimension) losses from research papers, each fused with its gradient:
 * zLoss, the comp-sum family / generalized cross-entropy, RMT's symmetric cross-entropy,
 * knowledge distillation, decoupled softmax (DEXML), Plackett–Luce distillation, LDR-KL
 * and the stateful ALDR-KL, TraCoCo's CBC loss and the pass@N confidence-limiting loss.
 * Inputs are logits `[N, C]` (or `[C]`, one row); the gradient is returned for the input
 * the paper trains (the student / model logits); teachers never get one.
 * @packageDocumentation
 */
import type { NativeBuffer, Operand, RowLossSpec } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { Tensor, allocTensor, shapeSize, tensor } from '../tensor';
import { Reduction, bool, checkOptions, finiteNumber, reductionCode } from '../validate';
import { Prepared, runLoss } from './common';

/** Options every row-wise loss accepts. */
export interface RowLossOptions {
  /** `'mean'` (default: over rows), `'sum'` or `'none'` (one loss per row). */
  reduction?: Reduction;
  /**
   * Upstream gradient. For `'none'`: one value per row (Float32Array or float32 tensor of
   * the loss shape; default ones). For `'mean'` / `'sum'`: a number (default 1).
   */
  gradOutput?: number | Float32Array | Tensor;
  /** Compute the gradient (default true). */
  grad?: boolean;
  /**
   * Shape of Float32Array inputs: `[N, C]` or `[C]`. Default: `[N, length / N]` when N
   * class-index targets are given, else `[length]` (one row).
   */
  shape?: readonly number[];
}

/** Result for Float32Array inputs. */
export interface RowLossHostResult {
  /** A number for `'mean'` / `'sum'`; one loss per row for `'none'`. */
  loss: number | Float32Array;
  /** d loss / d input (times the upstream gradient), or null when `grad: false`. */
  grad: Float32Array | null;
}

/** Result for tensor inputs: tensors on the inputs' device. */
export interface RowLossTensorResult {
  /** Shape `[]` for `'mean'` / `'sum'`, `[N]` for `'none'` (`[]` for a 1-D input). */
  loss: Tensor<'float32'>;
  /** d loss / d input, the input's shape, or null when `grad: false`. */
  grad: Tensor<'float32'> | null;
}

/** Class-index targets (Int32Array or int32 tensor, one per row). */
export type RowTarget = Int32Array | Tensor;

enum Kind {
  ZLoss = 0,
  CompSum = 1,
  RmtSce = 2,
  Kd = 3,
  Dexml = 4,
  Pld = 5,
  LdrKl = 6,
  AldrKl = 7,
  Cbc = 8,
  PassAtN = 9,
}

interface Params {
  p0?: number;
  p1?: number;
  p2?: number;
  mode?: 0 | 1;
  state?: Operand;
  index?: Int32Array | NativeBuffer;
  nState?: number;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function rowsOf(shape: readonly number[], name: string): { N: number; C: number; rowShape: number[] } {
  if (shape.length === 1) return { N: 1, C: shape[0], rowShape: [] };
  if (shape.length === 2) return { N: shape[0], C: shape[1], rowShape: [shape[0]] };
  throw new ValidationError(`${name}: input must be [N, C] or [C] (got [${shape.join(', ')}])`, 'BITGRAD_INVALID_SHAPE');
}

/**
 * Validates one call: `x` gets the gradient; `t` (teacher logits / mask, x's shape) and
 * `target` (class indices, one per row) are present when the loss takes them.
 */
function prepare(
  name: string,
  kind: Kind,
  x: unknown,
  t: unknown,
  target: unknown,
  opts: RowLossOptions,
  hasT: boolean,
  hasY: boolean,
  params: Params,
  extraOperands: (device: number, rows: number, host: boolean) => Params = () => ({}),
): Prepared<RowLossHostResult | RowLossTensorResult, RowLossSpec> {
  const reduction = reductionCode(opts.reduction);
  const wantGrad = bool(opts.grad, 'grad', true);
  const base = (N: number, C: number, xo: Operand): RowLossSpec => ({
    kind, rows: N, classes: C, x: xo, p0: params.p0 ?? 0, p1: params.p1 ?? 0, p2: params.p2 ?? 0, mode: params.mode ?? 0,
    reduction, gradScale: 1, loss: undefined as never,
  });
  const checkC = (N: number, C: number) => {
    if (C === 0 && N > 0) throw new ValidationError(`${name}: the class dimension is empty`, 'BITGRAD_INVALID_SHAPE');
  };

  if (x instanceof Float32Array) {
    if (hasT && !(t instanceof Float32Array)) throw new ValidationError(`${name}: the second input must be a Float32Array like the first`, 'BITGRAD_INVALID_DTYPE');
    if (hasY && !(target instanceof Int32Array)) throw new ValidationError(`${name}: targets must be an Int32Array of class indices`, 'BITGRAD_INVALID_DTYPE');
    const len = x.length;
    let shape: readonly number[];
    if (opts.shape !== undefined) {
      shapeSize(opts.shape as unknown as number[], 'shape');
      shape = opts.shape;
    } else if (hasY) {
      const N = (target as Int32Array).length;
      if (N === 0 ? len !== 0 : len % N !== 0)
        throw new ValidationError(`${name}: ${len} logits do not split into ${N} rows; pass shape`, 'BITGRAD_SHAPE_MISMATCH');
      shape = [N, N === 0 ? 0 : len / N];
    } else {
      shape = [len];
    }
    if (shapeSize(shape as number[], 'shape') !== len)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have ${len} elements`, 'BITGRAD_SHAPE_MISMATCH');
    const { N, C } = rowsOf(shape, name);
    checkC(N, C);
    const spec = base(N, C, x);
    if (hasT) {
      if ((t as Float32Array).length !== len) throw new ValidationError(`${name}: the second input has ${(t as Float32Array).length} elements, expected ${len}`, 'BITGRAD_SHAPE_MISMATCH');
      spec.t = t as Float32Array;
    }
    if (hasY) {
      if ((target as Int32Array).length !== N) throw new ValidationError(`${name}: targets have ${(target as Int32Array).length} elements, expected ${N}`, 'BITGRAD_SHAPE_MISMATCH');
      spec.target = target as Int32Array;
    }
    Object.assign(spec, extraOperands(-1, N, true));
    spec.loss = new Float32Array(reduction === 0 ? N : 1);
    if (wantGrad) spec.grad = new Float32Array(len);
    if (opts.gradOutput !== undefined) {
      if (reduction === 0) {
        if (!(opts.gradOutput instanceof Float32Array) || opts.gradOutput.length !== N)
          throw new ValidationError(`gradOutput for reduction 'none' must be a Float32Array of ${N} values`, 'BITGRAD_SHAPE_MISMATCH');
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

  if (!(x instanceof Tensor)) throw new ValidationError(`${name}: input must be a Float32Array or a float32 tensor (got ${show(x)})`, 'BITGRAD_INVALID_ARGUMENT');
  if (x.dtype !== 'float32') throw new ValidationError(`${name}: input must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
  const device = x.device;
  const dev = deviceIndex(device);
  const shape = x.shape;
  const { N, C, rowShape } = rowsOf(shape, name);
  checkC(N, C);
  const spec = base(N, C, x.buffer);
  if (hasT) {
    if (!(t instanceof Tensor) || t.dtype !== 'float32') throw new ValidationError(`${name}: the second input must be a float32 tensor like the first`, 'BITGRAD_INVALID_DTYPE');
    if (t.device !== device) throw new ValidationError(`input is on ${device} but the second input on ${t.device}`, 'BITGRAD_DEVICE_MISMATCH');
    if (!same(t.shape, shape)) throw new ValidationError(`${name}: the second input [${t.shape.join(', ')}] must have shape [${shape.join(', ')}]`, 'BITGRAD_SHAPE_MISMATCH');
    spec.t = t.buffer;
  }
  if (hasY) {
    if (!(target instanceof Tensor) || target.dtype !== 'int32') throw new ValidationError(`${name}: targets must be an int32 tensor`, 'BITGRAD_INVALID_DTYPE');
    if (target.device !== device) throw new ValidationError(`input is on ${device} but targets on ${target.device}`, 'BITGRAD_DEVICE_MISMATCH');
    if (!same(target.shape, rowShape)) throw new ValidationError(`${name}: targets [${target.shape.join(', ')}] must have shape [${rowShape.join(', ')}]`, 'BITGRAD_SHAPE_MISMATCH');
    spec.target = target.buffer;
  }
  Object.assign(spec, extraOperands(dev, N, false));
  let gradOut: NativeBuffer | undefined;
  if (opts.gradOutput !== undefined) {
    const g = opts.gradOutput;
    if (reduction === 0) {
      if (!(g instanceof Tensor) || g.dtype !== 'float32' || !same(g.shape, rowShape) || g.device !== device)
        throw new ValidationError(`gradOutput must be a float32 tensor of shape [${rowShape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
      gradOut = g.buffer;
    } else spec.gradScale = finiteNumber(g, 'gradOutput');
  }
  const lossT = allocTensor(reduction === 0 ? rowShape : [], 'float32', dev);
  const gradT = wantGrad ? allocTensor(shape, 'float32', dev) : null;
  spec.loss = lossT.buffer;
  if (gradT) spec.grad = gradT.buffer;
  if (gradOut) spec.gradOut = gradOut;
  return {
    spec,
    finish: () => ({ loss: lossT, grad: gradT }),
    fail: () => {
      lossT.dispose();
      gradT?.dispose();
    },
  };
}

function num(v: unknown, name: string, dflt: number): number {
  return v === undefined ? dflt : finiteNumber(v, name);
}

function positive(v: unknown, name: string, dflt: number): number {
  const x = num(v, name, dflt);
  if (!(x > 0)) throw new ValidationError(`${name} must be > 0 (got ${x})`, 'BITGRAD_INVALID_ARGUMENT');
  return x;
}

type HostOrTensor = RowLossHostResult | RowLossTensorResult;

// ---- zLoss --------------------------------------------------------------------------

/** Options of {@link zLoss}. */
export interface ZLossOptions extends RowLossOptions {
  /** Slope / sharpness a > 0 (default 1: the authors' example code; the paper's tuned value is unconfirmed). */
  a?: number;
  /** Location b (default 0: the authors' example code; unconfirmed). */
  b?: number;
}

function zPrep(x: unknown, y: unknown, o: unknown) {
  const opts = checkOptions(o, 'zLoss') as ZLossOptions;
  return prepare('zLoss', Kind.ZLoss, x, undefined, y, opts, false, true, { p0: positive(opts.a, 'a', 1), p1: num(opts.b, 'b', 0) });
}

/**
 * Z-loss of de Brébisson & Vincent (2016), "The Z-loss: a shift and scale invariant
 * classification loss belonging to the Spherical Family": with the row's population mean
 * `mu` and standard deviation `sigma` (two-pass, plus 1e-12 as in the authors' code),
 * `z = (o - mu) / sigma`, `L = softplus(a (b - z_y)) / a`; gradient with respect to the
 * logits `o`: `-sigmoid(a (b - z_y)) (1[k = y] - (1 + z_y z_k) / C) / sigma`. Shift- and
 * scale-invariant in `o`. Not PaLM's `1e-4 logsumexp^2` "z-loss" regulariser.
 *
 * Defaults `a = 1, b = 0` follow the authors' example code; the values the paper
 * recommends are unconfirmed. A row whose logits are all equal has `sigma = 1e-12`:
 * loss `softplus(a b) / a` and a gradient of order 1e12 (as the authors' code).
 * @throws ValidationError (`BITGRAD_TARGET_OUT_OF_RANGE` with `index` and `value`, ...)
 */
export async function zLoss(logits: Float32Array, targets: Int32Array, opts?: ZLossOptions): Promise<RowLossHostResult>;
export async function zLoss(logits: Tensor, targets: Tensor, opts?: ZLossOptions): Promise<RowLossTensorResult>;
export async function zLoss(logits: unknown, targets: unknown, opts?: ZLossOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', zPrep(logits, targets, opts), true);
}
/** Synchronous {@link zLoss}. */
export function zLossSync(logits: Float32Array, targets: Int32Array, opts?: ZLossOptions): RowLossHostResult;
export function zLossSync(logits: Tensor, targets: Tensor, opts?: ZLossOptions): RowLossTensorResult;
export function zLossSync(logits: unknown, targets: unknown, opts?: ZLossOptions): HostOrTensor {
  return runLoss('rowLoss', zPrep(logits, targets, opts), false);
}

// ---- comp-sum / GCE -------------------------------------------------------------------

/** Options of {@link compSumLoss}. */
export interface CompSumOptions extends RowLossOptions {
  /** tau >= 0 (default 1: cross-entropy). 0: sum-exponential; (1, 2): GCE with q = tau - 1; 2: 1 - p_y. */
  tau?: number;
}
/** Options of {@link generalizedCrossEntropy}. */
export interface GeneralizedCrossEntropyOptions extends RowLossOptions {
  /** q in [0, 1] (default 0.7, Zhang & Sabuncu's experiments); q = 0 is cross-entropy. */
  q?: number;
}

function csPrep(name: string, x: unknown, y: unknown, opts: RowLossOptions, tau: number) {
  if (!(tau >= 0)) throw new ValidationError(`tau must be >= 0 (got ${tau})`, 'BITGRAD_INVALID_ARGUMENT');
  return prepare(name, Kind.CompSum, x, undefined, y, opts, false, true, { p0: tau });
}
function compPrep(x: unknown, y: unknown, o: unknown) {
  const opts = checkOptions(o, 'compSumLoss') as CompSumOptions;
  return csPrep('compSumLoss', x, y, opts, num(opts.tau, 'tau', 1));
}
function gcePrep(x: unknown, y: unknown, o: unknown) {
  const opts = checkOptions(o, 'generalizedCrossEntropy') as GeneralizedCrossEntropyOptions;
  const q = num(opts.q, 'q', 0.7);
  if (!(q >= 0 && q <= 1)) throw new ValidationError(`q must be in [0, 1] (got ${q})`, 'BITGRAD_INVALID_ARGUMENT');
  return csPrep('generalizedCrossEntropy', x, y, opts, 1 + q);
}

/**
 * Comp-sum losses (Mao, Mohri & Zhong, ICML 2023): with `u = sum_{k != y} exp(z_k - z_y)`
 * (so `1 + u = 1 / p_y`), `L = ((1 + u)^(1 - tau) - 1) / (1 - tau)`, `log(1 + u)` at tau = 1.
 * tau = 0 is the sum-exponential loss `u`, tau = 1 cross-entropy, tau in (1, 2) GCE with
 * `q = tau - 1`, tau = 2 `1 - p_y`. Gradient with respect to the logits:
 * `(1 + u)^(1 - tau) (softmax(z) - onehot(y))`, evaluated in log space (`log(1 + u) = lse - z_y`).
 *
 * The `Phi_tau` parametrisation is reconstructed from the paper's Section 2 and is
 * unconfirmed; the GCE member is independently confirmed. For tau < 1 the loss grows like
 * `exp((1 - tau) (lse - z_y))` and overflows to Infinity for extreme logits (the true value).
 */
export async function compSumLoss(logits: Float32Array, targets: Int32Array, opts?: CompSumOptions): Promise<RowLossHostResult>;
export async function compSumLoss(logits: Tensor, targets: Tensor, opts?: CompSumOptions): Promise<RowLossTensorResult>;
export async function compSumLoss(logits: unknown, targets: unknown, opts?: CompSumOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', compPrep(logits, targets, opts), true);
}
/** Synchronous {@link compSumLoss}. */
export function compSumLossSync(logits: Float32Array, targets: Int32Array, opts?: CompSumOptions): RowLossHostResult;
export function compSumLossSync(logits: Tensor, targets: Tensor, opts?: CompSumOptions): RowLossTensorResult;
export function compSumLossSync(logits: unknown, targets: unknown, opts?: CompSumOptions): HostOrTensor {
  return runLoss('rowLoss', compPrep(logits, targets, opts), false);
}

/**
 * Generalized cross-entropy (Zhang & Sabuncu, NeurIPS 2018): `(1 - p_y^q) / q`, the
 * comp-sum member tau = 1 + q ({@link compSumLoss}); q = 0 is cross-entropy. Gradient with
 * respect to the logits: `p_y^q (softmax(z) - onehot(y))`. Default q = 0.7.
 */
export async function generalizedCrossEntropy(logits: Float32Array, targets: Int32Array, opts?: GeneralizedCrossEntropyOptions): Promise<RowLossHostResult>;
export async function generalizedCrossEntropy(logits: Tensor, targets: Tensor, opts?: GeneralizedCrossEntropyOptions): Promise<RowLossTensorResult>;
export async function generalizedCrossEntropy(logits: unknown, targets: unknown, opts?: GeneralizedCrossEntropyOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', gcePrep(logits, targets, opts), true);
}
/** Synchronous {@link generalizedCrossEntropy}. */
export function generalizedCrossEntropySync(logits: Float32Array, targets: Int32Array, opts?: GeneralizedCrossEntropyOptions): RowLossHostResult;
export function generalizedCrossEntropySync(logits: Tensor, targets: Tensor, opts?: GeneralizedCrossEntropyOptions): RowLossTensorResult;
export function generalizedCrossEntropySync(logits: unknown, targets: unknown, opts?: GeneralizedCrossEntropyOptions): HostOrTensor {
  return runLoss('rowLoss', gcePrep(logits, targets, opts), false);
}

// ---- RMT symmetric cross-entropy ---------------------------------------------------------

function rmtPrep(x: unknown, t: unknown, o: unknown) {
  const opts = checkOptions(o, 'rmtSymmetricCrossEntropy') as RowLossOptions;
  return prepare('rmtSymmetricCrossEntropy', Kind.RmtSce, x, t, undefined, opts, true, false, {});
}

/**
 * Symmetric cross-entropy between student and teacher logits as used in Robust Mean
 * Teacher (Döbler, Marsden & Yang, CVPR 2023): with `p = softmax(student)`,
 * `q = softmax(teacher)`, `L = -1/2 sum q log p - 1/2 sum p log q`. The gradient is with
 * respect to the student logits only (the teacher is the detached EMA model):
 * `1/2 (p - q) - 1/2 p (log q - sum p log q)`. Not Wang et al.'s noisy-label "symmetric
 * cross entropy" (alpha CE + beta reverse CE with clipped log 0).
 * RMT's target loss averages this over two views of the input; call it once per view.
 */
export async function rmtSymmetricCrossEntropy(student: Float32Array, teacher: Float32Array, opts?: RowLossOptions): Promise<RowLossHostResult>;
export async function rmtSymmetricCrossEntropy(student: Tensor, teacher: Tensor, opts?: RowLossOptions): Promise<RowLossTensorResult>;
export async function rmtSymmetricCrossEntropy(student: unknown, teacher: unknown, opts?: RowLossOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', rmtPrep(student, teacher, opts), true);
}
/** Synchronous {@link rmtSymmetricCrossEntropy}. */
export function rmtSymmetricCrossEntropySync(student: Float32Array, teacher: Float32Array, opts?: RowLossOptions): RowLossHostResult;
export function rmtSymmetricCrossEntropySync(student: Tensor, teacher: Tensor, opts?: RowLossOptions): RowLossTensorResult;
export function rmtSymmetricCrossEntropySync(student: unknown, teacher: unknown, opts?: RowLossOptions): HostOrTensor {
  return runLoss('rowLoss', rmtPrep(student, teacher, opts), false);
}

// ---- knowledge distillation ------------------------------------------------------------------

/** Options of {@link kdLoss} and {@link plackettLuceDistillation}. */
export interface TemperatureOptions extends RowLossOptions {
  /** Softmax temperature T > 0 (default 1). */
  temperature?: number;
}

function kdPrep(x: unknown, t: unknown, o: unknown) {
  const opts = checkOptions(o, 'kdLoss') as TemperatureOptions;
  return prepare('kdLoss', Kind.Kd, x, t, undefined, opts, true, false, { p0: positive(opts.temperature, 'temperature', 1) });
}

/**
 * Knowledge distillation (Hinton, Vinyals & Dean 2015), the common form
 * `L = T^2 KL(softmax(t / T) || softmax(s / T)) = T^2 sum_k q_k (log q_k - log p_k)` per row
 * (terms with `q_k = 0` are 0), `'mean'` over rows (PyTorch's `kl_div(..., 'batchmean') * T^2`).
 * Gradient with respect to the student logits `s`: `T (p - q)`; the teacher gets none.
 * Mix it with a hard-label cross-entropy yourself (the `alpha` of most recipes).
 */
export async function kdLoss(student: Float32Array, teacher: Float32Array, opts?: TemperatureOptions): Promise<RowLossHostResult>;
export async function kdLoss(student: Tensor, teacher: Tensor, opts?: TemperatureOptions): Promise<RowLossTensorResult>;
export async function kdLoss(student: unknown, teacher: unknown, opts?: TemperatureOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', kdPrep(student, teacher, opts), true);
}
/** Synchronous {@link kdLoss}. */
export function kdLossSync(student: Float32Array, teacher: Float32Array, opts?: TemperatureOptions): RowLossHostResult;
export function kdLossSync(student: Tensor, teacher: Tensor, opts?: TemperatureOptions): RowLossTensorResult;
export function kdLossSync(student: unknown, teacher: unknown, opts?: TemperatureOptions): HostOrTensor {
  return runLoss('rowLoss', kdPrep(student, teacher, opts), false);
}

// ---- decoupled softmax (DEXML) -----------------------------------------------------------------

function dexPrep(x: unknown, m: unknown, o: unknown) {
  const opts = checkOptions(o, 'decoupledSoftmax') as RowLossOptions;
  return prepare('decoupledSoftmax', Kind.Dexml, x, m, undefined, opts, true, false, {});
}

/**
 * Decoupled softmax of DEXML (Gupta et al., ICLR 2024) for multi-label rows: each positive
 * competes only with the row's negatives,
 * `L_i = (1/|P_i|) sum_{p in P_i} -log(e^{s_p} / (e^{s_p} + sum_{n not in P_i} e^{s_n}))`,
 * `'mean'` over rows. `positives` is a 0 / 1 mask of the scores' shape (other values are
 * rejected with `BITGRAD_TARGET_OUT_OF_RANGE`). Scores are what the caller computes (DEXML:
 * cosine similarity / tau, tau = 0.05). Gradient with respect to the scores:
 * `-sigmoid(lse_neg - s_p) / |P|` for a positive, `softmax_neg(s)_n * mean_p sigmoid(lse_neg - s_p)`
 * for a negative. A row without positives has loss 0 and gradient 0 (it still counts in
 * the mean); a row without negatives has loss 0.
 */
export async function decoupledSoftmax(scores: Float32Array, positives: Float32Array, opts?: RowLossOptions): Promise<RowLossHostResult>;
export async function decoupledSoftmax(scores: Tensor, positives: Tensor, opts?: RowLossOptions): Promise<RowLossTensorResult>;
export async function decoupledSoftmax(scores: unknown, positives: unknown, opts?: RowLossOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', dexPrep(scores, positives, opts), true);
}
/** Synchronous {@link decoupledSoftmax}. */
export function decoupledSoftmaxSync(scores: Float32Array, positives: Float32Array, opts?: RowLossOptions): RowLossHostResult;
export function decoupledSoftmaxSync(scores: Tensor, positives: Tensor, opts?: RowLossOptions): RowLossTensorResult;
export function decoupledSoftmaxSync(scores: unknown, positives: unknown, opts?: RowLossOptions): HostOrTensor {
  return runLoss('rowLoss', dexPrep(scores, positives, opts), false);
}

// ---- Plackett–Luce distillation ------------------------------------------------------------------

function pldPrep(x: unknown, t: unknown, y: unknown, o: unknown) {
  const opts = checkOptions(o, 'plackettLuceDistillation') as TemperatureOptions;
  return prepare('plackettLuceDistillation', Kind.Pld, x, t, y, opts, true, true, { p0: positive(opts.temperature, 'temperature', 1) });
}

/**
 * Plackett–Luce distillation (Bassam, Zhu & Bian, NeurIPS 2025), the stated form: the
 * teacher-optimal permutation `pi = [y, the other classes by descending teacher logit]`
 * (ties by class index), weights `alpha = softmax(teacher / T)`, and
 * `L = sum_k alpha_{pi_k} (logsumexp_{j >= k} s_{pi_j} - s_{pi_k})` per row. Gradient with
 * respect to the student logits: `sum_{k <= rank(j)} alpha_{pi_k} softmax_{R_k}(s)_j - alpha_j`
 * (reverse cumulative logsumexp after a sort, O(C log C) per row on the CPU).
 * Unconfirmed: no reference code was found; the temperature handling of alpha is a guess
 * (T = 1 is the verified case).
 */
export async function plackettLuceDistillation(student: Float32Array, teacher: Float32Array, targets: Int32Array, opts?: TemperatureOptions): Promise<RowLossHostResult>;
export async function plackettLuceDistillation(student: Tensor, teacher: Tensor, targets: Tensor, opts?: TemperatureOptions): Promise<RowLossTensorResult>;
export async function plackettLuceDistillation(student: unknown, teacher: unknown, targets: unknown, opts?: TemperatureOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', pldPrep(student, teacher, targets, opts), true);
}
/** Synchronous {@link plackettLuceDistillation}. */
export function plackettLuceDistillationSync(student: Float32Array, teacher: Float32Array, targets: Int32Array, opts?: TemperatureOptions): RowLossHostResult;
export function plackettLuceDistillationSync(student: Tensor, teacher: Tensor, targets: Tensor, opts?: TemperatureOptions): RowLossTensorResult;
export function plackettLuceDistillationSync(student: unknown, teacher: unknown, targets: unknown, opts?: TemperatureOptions): HostOrTensor {
  return runLoss('rowLoss', pldPrep(student, teacher, targets, opts), false);
}

// ---- LDR-KL / ALDR-KL ----------------------------------------------------------------------------------

/** Score transform of LDR-KL / ALDR-KL: `f = K s / sum s`. */
export type LdrScores = 'softplus' | 'l1';

/** Options of {@link ldrKl}. */
export interface LdrKlOptions extends RowLossOptions {
  /** Margin c (default 2, the authors' class default; their experiments use 0.1). */
  margin?: number;
  /** Temperature lambda > 0 (default 1, the class default; experiments use 10). */
  lambda?: number;
  /** `'softplus'` (default, LDRLoss_V1: `s = softplus(z)`) or `'l1'` (`s = z`, normalised by `sum |z|`). */
  scores?: LdrScores;
}

function scoresMode(v: unknown, dflt: 0 | 1): 0 | 1 {
  if (v === undefined) return dflt;
  if (v === 'softplus') return 0;
  if (v === 'l1') return 1;
  throw new ValidationError(`scores must be 'softplus' or 'l1' (got ${show(v)})`, 'BITGRAD_INVALID_ARGUMENT');
}

function ldrPrep(x: unknown, y: unknown, o: unknown) {
  const opts = checkOptions(o, 'ldrKl') as LdrKlOptions;
  return prepare('ldrKl', Kind.LdrKl, x, undefined, y, opts, false, true, {
    p0: num(opts.margin, 'margin', 2), p1: positive(opts.lambda, 'lambda', 1), mode: scoresMode(opts.scores, 0),
  });
}

/**
 * LDR-KL loss (Zhu, Ying & Yang, ICML 2023; code Optimization-AI/ICML2023_LDR): scores
 * `f = softplus(z) / mean_k softplus(z)` (or the L1 form), `d_k = c 1[k != y] + f_k - f_y`,
 * `L = lambda log((1/K) sum_k exp(d_k / lambda))` per row (may be negative), `'mean'` over
 * rows. Gradient with respect to the logits through the score normalisation:
 * `dL/df = softmax(d / lambda) - onehot(y)`. Computed in log space, so rows of very negative
 * logits stay finite. With `scores: 'l1'` a row of all-zero logits gives NaN (0 / 0, as the
 * authors' code).
 */
export async function ldrKl(logits: Float32Array, targets: Int32Array, opts?: LdrKlOptions): Promise<RowLossHostResult>;
export async function ldrKl(logits: Tensor, targets: Tensor, opts?: LdrKlOptions): Promise<RowLossTensorResult>;
export async function ldrKl(logits: unknown, targets: unknown, opts?: LdrKlOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', ldrPrep(logits, targets, opts), true);
}
/** Synchronous {@link ldrKl}. */
export function ldrKlSync(logits: Float32Array, targets: Int32Array, opts?: LdrKlOptions): RowLossHostResult;
export function ldrKlSync(logits: Tensor, targets: Tensor, opts?: LdrKlOptions): RowLossTensorResult;
export function ldrKlSync(logits: unknown, targets: unknown, opts?: LdrKlOptions): HostOrTensor {
  return runLoss('rowLoss', ldrPrep(logits, targets, opts), false);
}

/** Options of the {@link AldrKl} constructor. */
export interface AldrKlConfig {
  /** Training-set size: one stored lambda per sample. */
  nTrain: number;
  /** Reference lambda_0 > 0 (default 10, the experiments). */
  lambda0?: number;
  /** alpha > 1 (default 2). */
  alpha?: number;
  /** Margin c (default 0.1). */
  margin?: number;
  /** Score transform (default `'l1'`: the authors' ALDR runs; `'softplus'` as their CIFAR-100 runs). */
  scores?: LdrScores;
}

/** Options of {@link AldrKl.loss}. */
export type AldrKlOptions = RowLossOptions;

/**
 * ALDR-KL (adaptive LDR-KL, Zhu, Ying & Yang, ICML 2023): LDR-KL with a per-sample
 * temperature `lambda_i` kept across calls. Each call, per row i with stored `lambda_i`:
 * `p = softmax(f / lambda_i) + 1e-5` renormalised, `KL_i = sum p log(K p)`,
 * `lambda_i <- lambda_0 (1 - KL_i / (alpha log K))` (stored; no gradient), then
 * `L_i = lambda_i log((1/K) sum exp(d / lambda_i)) - alpha log K / (2 lambda_0) (lambda_i - lambda_0)^2`.
 * The state starts at `lambda_0` for every sample; it lives on the device of the inputs
 * (moved on the first call on another device). Indices in one batch must be distinct (with
 * duplicates, the stored value is one of the computed ones). Needs C >= 2.
 */
export class AldrKl {
  /** Training-set size. */
  readonly nTrain: number;
  readonly lambda0: number;
  readonly alpha: number;
  readonly margin: number;
  readonly scores: LdrScores;
  #host: Float32Array | null;
  #dev: Tensor<'float32'> | null = null;

  constructor(config: AldrKlConfig) {
    const c = checkOptions(config, 'AldrKl') as Partial<AldrKlConfig>;
    const n = c.nTrain;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1)
      throw new ValidationError(`nTrain must be an integer in [0, 2^31) (got ${show(n)})`, 'BITGRAD_INVALID_ARGUMENT');
    this.nTrain = n;
    this.lambda0 = positive(c.lambda0, 'lambda0', 10);
    this.alpha = num(c.alpha, 'alpha', 2);
    if (!(this.alpha > 1)) throw new ValidationError(`alpha must be > 1 (got ${this.alpha})`, 'BITGRAD_INVALID_ARGUMENT');
    this.margin = num(c.margin, 'margin', 0.1);
    this.scores = c.scores === undefined ? 'l1' : scoresMode(c.scores, 1) === 0 ? 'softplus' : 'l1';
    this.#host = new Float32Array(n).fill(this.lambda0);
  }

  /** A copy of the stored per-sample lambdas. */
  lambdas(): Float32Array {
    if (this.#host) return Float32Array.from(this.#host);
    return this.#dev!.dataSync();
  }

  /** Frees device state (the lambdas are copied back to host memory first). */
  dispose(): void {
    if (this.#dev) {
      if (!this.#dev.disposed) this.#host = this.#dev.dataSync();
      this.#dev.dispose();
      this.#dev = null;
    }
  }

  #stateOn(dev: number): Operand {
    if (dev < 0) {
      if (!this.#host) {
        this.#host = this.#dev!.dataSync();
        this.#dev!.dispose();
        this.#dev = null;
      }
      return this.#host;
    }
    if (this.#dev && deviceIndex(this.#dev.device) === dev) return this.#dev.buffer;
    const data = this.#host ?? this.#dev!.dataSync();
    const t = tensor(data, [data.length], { device: `cuda:${dev}` });
    this.#dev?.dispose();
    this.#dev = t as Tensor<'float32'>;
    this.#host = null;
    return t.buffer;
  }

  #prep(x: unknown, y: unknown, idx: unknown, o: unknown) {
    const opts = checkOptions(o, 'AldrKl.loss') as AldrKlOptions;
    return prepare('AldrKl', Kind.AldrKl, x, undefined, y, opts, false, true,
      { p0: this.margin, p1: this.lambda0, p2: this.alpha, mode: this.scores === 'softplus' ? 0 : 1 },
      (dev, rows, host) => {
        let index: Int32Array | NativeBuffer;
        if (host) {
          if (!(idx instanceof Int32Array)) throw new ValidationError('sampleIndices must be an Int32Array for Float32Array inputs', 'BITGRAD_INVALID_DTYPE');
          if (idx.length !== rows) throw new ValidationError(`sampleIndices has ${idx.length} elements, expected ${rows}`, 'BITGRAD_SHAPE_MISMATCH');
          index = idx;
        } else {
          if (!(idx instanceof Tensor) || idx.dtype !== 'int32' || idx.size !== rows || idx.shape.length > 1)
            throw new ValidationError(`sampleIndices must be an int32 tensor of ${rows} elements`, 'BITGRAD_SHAPE_MISMATCH');
          if (deviceIndex(idx.device) !== dev) throw new ValidationError('sampleIndices must be on the inputs\' device', 'BITGRAD_DEVICE_MISMATCH');
          index = idx.buffer;
        }
        return { state: this.#stateOn(dev), index, nState: this.nTrain };
      });
  }

  /**
   * The loss of one batch and its gradient with respect to the logits; updates the stored
   * lambda of every sample in `sampleIndices` (Int32Array / int32 tensor, one per row).
   * @throws ValidationError (`BITGRAD_TARGET_OUT_OF_RANGE` for a bad target or sample index, ...)
   */
  async loss(logits: Float32Array, targets: Int32Array, sampleIndices: Int32Array, opts?: AldrKlOptions): Promise<RowLossHostResult>;
  async loss(logits: Tensor, targets: Tensor, sampleIndices: Tensor, opts?: AldrKlOptions): Promise<RowLossTensorResult>;
  async loss(logits: unknown, targets: unknown, sampleIndices: unknown, opts?: AldrKlOptions): Promise<HostOrTensor> {
    return runLoss('rowLoss', this.#prep(logits, targets, sampleIndices, opts), true);
  }

  /** Synchronous {@link AldrKl.loss}. */
  lossSync(logits: Float32Array, targets: Int32Array, sampleIndices: Int32Array, opts?: AldrKlOptions): RowLossHostResult;
  lossSync(logits: Tensor, targets: Tensor, sampleIndices: Tensor, opts?: AldrKlOptions): RowLossTensorResult;
  lossSync(logits: unknown, targets: unknown, sampleIndices: unknown, opts?: AldrKlOptions): HostOrTensor {
    return runLoss('rowLoss', this.#prep(logits, targets, sampleIndices, opts), false);
  }
}

// ---- CBC (TraCoCo) ---------------------------------------------------------------------------------------

/** Options of {@link cbcLoss}. */
export interface CbcLossOptions extends RowLossOptions {
  /** Positive threshold on the teacher's max probability (default 0.65, the LA training config). */
  tauPos?: number;
  /** Negative threshold on the teacher's min probability (default 0.1, as passed in training). */
  tauNeg?: number;
}

function cbcPrep(x: unknown, t: unknown, o: unknown) {
  const opts = checkOptions(o, 'cbcLoss') as CbcLossOptions;
  return prepare('cbcLoss', Kind.Cbc, x, t, undefined, opts, true, false, { p0: num(opts.tauPos, 'tauPos', 0.65), p1: num(opts.tauNeg, 'tauNeg', 0.1) });
}

/**
 * Confidence-based binary cross-entropy of TraCoCo (Liu et al.; code yyliu01/TraCoCo
 * `semi_cbc_loss`) between student logits `x` and teacher logits `t` (no gradient), one row
 * per voxel: `q = softmax(t)`, pseudo-label `y = argmax t`, `w+ = max q`, `w- = min q`.
 * Positive term `-w+ log p_y` on rows with `w+ >= tauPos`; negative term
 * `-w- sum_{c != y} log(clamp(1 - p_c, 1e-6, 1))` on rows with `w- < tauNeg`.
 * `'mean'` (the paper's form): positive terms averaged over their rows plus negative terms
 * averaged over theirs (an empty mask contributes 0); `'sum'` / `'none'`: the (summed /
 * per-row) unnormalised terms. Gradient with respect to the student logits. The binary
 * form is confirmed; for C > 2 this is the intended `-log(1 - p_c)` form, not the authors'
 * ACDC code (which weights the pseudo-label class -2, apparently by mistake).
 */
export async function cbcLoss(student: Float32Array, teacher: Float32Array, opts?: CbcLossOptions): Promise<RowLossHostResult>;
export async function cbcLoss(student: Tensor, teacher: Tensor, opts?: CbcLossOptions): Promise<RowLossTensorResult>;
export async function cbcLoss(student: unknown, teacher: unknown, opts?: CbcLossOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', cbcPrep(student, teacher, opts), true);
}
/** Synchronous {@link cbcLoss}. */
export function cbcLossSync(student: Float32Array, teacher: Float32Array, opts?: CbcLossOptions): RowLossHostResult;
export function cbcLossSync(student: Tensor, teacher: Tensor, opts?: CbcLossOptions): RowLossTensorResult;
export function cbcLossSync(student: unknown, teacher: unknown, opts?: CbcLossOptions): HostOrTensor {
  return runLoss('rowLoss', cbcPrep(student, teacher, opts), false);
}

// ---- pass@N ---------------------------------------------------------------------------------------------------

/** Options of {@link passAtNLoss}. */
export interface PassAtNOptions extends RowLossOptions {
  /** Number of samples N >= 1 (default 1: cross-entropy). */
  n?: number;
}

function passPrep(x: unknown, y: unknown, o: unknown) {
  const opts = checkOptions(o, 'passAtNLoss') as PassAtNOptions;
  const n = num(opts.n, 'n', 1);
  if (!(n >= 1)) throw new ValidationError(`n must be >= 1 (got ${n})`, 'BITGRAD_INVALID_ARGUMENT');
  return prepare('passAtNLoss', Kind.PassAtN, x, undefined, y, opts, false, true, { p0: n });
}

/**
 * pass@N confidence-limiting loss (Direct Coverage Optimisation; Chen, Raventós, Cheng,
 * Ganguli & Druckmann, NeurIPS 2025) for one softmax per row: `L = -log(1 - (1 - p_y)^N)`,
 * N = 1 is cross-entropy. Gradient with respect to the logits `F (softmax - onehot(y))`,
 * `F = N (1 - p)^(N-1) p / (1 - (1 - p)^N)` in [0, 1]; computed in log space. The
 * `-log coverage` form and its normalisation are an inference, unconfirmed from the paper
 * text; for sequences (p = product of token probabilities) this per-row form does not apply.
 */
export async function passAtNLoss(logits: Float32Array, targets: Int32Array, opts?: PassAtNOptions): Promise<RowLossHostResult>;
export async function passAtNLoss(logits: Tensor, targets: Tensor, opts?: PassAtNOptions): Promise<RowLossTensorResult>;
export async function passAtNLoss(logits: unknown, targets: unknown, opts?: PassAtNOptions): Promise<HostOrTensor> {
  return runLoss('rowLoss', passPrep(logits, targets, opts), true);
}
/** Synchronous {@link passAtNLoss}. */
export function passAtNLossSync(logits: Float32Array, targets: Int32Array, opts?: PassAtNOptions): RowLossHostResult;
export function passAtNLossSync(logits: Tensor, targets: Tensor, opts?: PassAtNOptions): RowLossTensorResult;
export function passAtNLossSync(logits: unknown, targets: unknown, opts?: PassAtNOptions): HostOrTensor {
  return runLoss('rowLoss', passPrep(logits, targets, opts), false);
}

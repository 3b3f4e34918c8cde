/**
 * Binary cross-entropy on logits, fused with its gradient.
 * @packageDocumentation
 */
import type { BceSpec, Operand } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, shapeSize, tensor } from '../tensor';
import { Reduction, bool, broadcastForm, checkOptions, expand, finiteNumber, reductionCode } from '../validate';

/** A weight-like argument: a scalar, host data, or a tensor on the inputs' device. */
export type WeightLike = number | Float32Array | Tensor;

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

interface Prepared<R> {
  spec: BceSpec;
  finish(): R;
  fail(): void;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function inferShape(len: number, input: readonly number[], n: number): number[] {
  if (len === n) return [...input];
  if (len === 1) return [];
  if (input.length > 0 && len === input[input.length - 1]) return [input[input.length - 1]];
  throw new ValidationError(
    `weight of length ${len} does not match the input (${n} elements, last dim ${input[input.length - 1] ?? 'none'}); pass its shape`,
    'BITGRAD_SHAPE_MISMATCH',
  );
}

function prepare(logits: unknown, targets: unknown, rawOpts: unknown): Prepared<BceHostResult | BceTensorResult> {
  const opts = checkOptions(rawOpts, 'bceWithLogits') as BceWithLogitsOptions;
  const reduction = reductionCode(opts.reduction);
  const wantGrad = bool(opts.grad, 'grad', true);
  const checkTargets = bool(opts.checkTargets, 'checkTargets', true);
  const temps: Tensor[] = [];

  if (logits instanceof Float32Array || targets instanceof Float32Array) {
    if (!(logits instanceof Float32Array)) throw new ValidationError('logits must be a Float32Array like targets', 'BITGRAD_INVALID_DTYPE');
    if (!(targets instanceof Float32Array)) throw new ValidationError('targets must be a Float32Array like logits', 'BITGRAD_INVALID_DTYPE');
    const n = logits.length;
    if (targets.length !== n)
      throw new ValidationError(`logits has ${n} elements but targets has ${targets.length}`, 'BITGRAD_SHAPE_MISMATCH');
    const shape = opts.shape ?? [n];
    if (shapeSize(shape as number[], 'shape') !== n)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
    const spec: BceSpec = {
      n,
      reduction,
      x: logits,
      y: targets,
      loss: new Float32Array(reduction === 0 ? n : 1),
      grad: wantGrad ? hostGradInto(opts.gradInto, n) : undefined,
      gradScale: 1,
      checkTargets,
    };
    const hostWeight = (v: unknown, vShape: readonly number[] | undefined, name: string): [Float32Array, number, number] | undefined => {
      if (v === undefined || n === 0) return undefined;
      let data: Float32Array;
      let wShape: readonly number[];
      if (typeof v === 'number') {
        data = Float32Array.of(finiteNumber(v, name));
        wShape = [];
      } else if (v instanceof Float32Array) {
        data = v;
        wShape = vShape ?? inferShape(v.length, shape, n);
        if (shapeSize(wShape as number[], `${name}Shape`) !== v.length)
          throw new ValidationError(`${name}Shape [${wShape.join(', ')}] does not have ${v.length} elements`, 'BITGRAD_SHAPE_MISMATCH');
      } else {
        throw new ValidationError(`${name} must be a number or a Float32Array for Float32Array inputs`, 'BITGRAD_INVALID_ARGUMENT');
      }
      const form = broadcastForm(shape, wShape, name);
      if (form) return [data, form.div, form.mod];
      return [expand(data, shape, wShape), 1, n];
    };
    const w = hostWeight(opts.weight, opts.weightShape, 'weight');
    if (w) [spec.weight, spec.weightDiv, spec.weightMod] = w;
    const p = hostWeight(opts.posWeight, opts.posWeightShape, 'posWeight');
    if (p) [spec.posWeight, spec.posWeightDiv, spec.posWeightMod] = p;
    setGradOutput(spec, opts.gradOutput, reduction, n, (g) => {
      if (!(g instanceof Float32Array)) throw new ValidationError('gradOutput must be a Float32Array for Float32Array inputs', 'BITGRAD_INVALID_ARGUMENT');
      return g;
    });
    return {
      spec,
      finish: () => ({
        loss: reduction === 0 ? (spec.loss as Float32Array) : (spec.loss as Float32Array)[0],
        grad: (spec.grad as Float32Array | undefined) ?? null,
      }),
      fail: () => undefined,
    };
  }

  if (!(logits instanceof Tensor) || !(targets instanceof Tensor))
    throw new ValidationError('logits and targets must both be Float32Arrays or both tensors', 'BITGRAD_INVALID_ARGUMENT');
  if (logits.dtype !== 'float32' || targets.dtype !== 'float32')
    throw new ValidationError('logits and targets must be float32 tensors', 'BITGRAD_INVALID_DTYPE');
  if (!sameShape(logits.shape, targets.shape))
    throw new ValidationError(
      `logits [${logits.shape.join(', ')}] and targets [${targets.shape.join(', ')}] must have the same shape`,
      'BITGRAD_SHAPE_MISMATCH',
    );
  if (logits.device !== targets.device)
    throw new ValidationError(`logits are on ${logits.device} but targets on ${targets.device}`, 'BITGRAD_DEVICE_MISMATCH');
  const device = logits.device;
  const dev = deviceIndex(device);
  const shape = logits.shape;
  const n = logits.size;
  const x = logits.buffer;
  const y = targets.buffer;
  const tensorWeight = (v: unknown, name: string): [Operand, number, number] | undefined => {
    if (v === undefined || n === 0) return undefined;
    let t: Tensor;
    if (typeof v === 'number') {
      t = tensor(Float32Array.of(finiteNumber(v, name)), [], { device });
      temps.push(t);
    } else if (v instanceof Tensor) {
      if (v.dtype !== 'float32') throw new ValidationError(`${name} must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
      if (v.device !== device) throw new ValidationError(`${name} is on ${v.device} but the inputs on ${device}`, 'BITGRAD_DEVICE_MISMATCH');
      t = v;
    } else {
      throw new ValidationError(`${name} must be a number or a tensor for tensor inputs`, 'BITGRAD_INVALID_ARGUMENT');
    }
    const form = broadcastForm(shape, t.shape, name);
    if (form) return [t.buffer, form.div, form.mod];
    const full = tensor(expand(t.dataSync() as Float32Array, shape, t.shape), [...shape], { device });
    temps.push(full);
    return [full.buffer, 1, n];
  };
  const lossT = allocTensor(reduction === 0 ? shape : [], 'float32', dev);
  const gradInto = opts.gradInto;
  if (gradInto !== undefined && !(gradInto instanceof Tensor && gradInto.dtype === 'float32' && sameShape(gradInto.shape, shape) && gradInto.device === device))
    throw new ValidationError(`gradInto must be a float32 tensor of shape [${shape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
  if (gradInto !== undefined) void gradInto.buffer; // throws BITGRAD_DISPOSED before any allocation
  const gradT = wantGrad ? ((gradInto as Tensor<'float32'> | undefined) ?? allocTensor(shape, 'float32', dev)) : null;
  const fail = () => {
    lossT.dispose();
    if (gradT !== gradInto) gradT?.dispose();
    for (const t of temps) t.dispose();
  };
  try {
    const spec: BceSpec = { n, reduction, x, y, loss: lossT.buffer, grad: gradT?.buffer, gradScale: 1, checkTargets };
    const w = tensorWeight(opts.weight, 'weight');
    if (w) [spec.weight, spec.weightDiv, spec.weightMod] = w;
    const p = tensorWeight(opts.posWeight, 'posWeight');
    if (p) [spec.posWeight, spec.posWeightDiv, spec.posWeightMod] = p;
    setGradOutput(spec, opts.gradOutput, reduction, n, (g) => {
      if (!(g instanceof Tensor) || g.dtype !== 'float32' || !sameShape(g.shape, shape) || g.device !== device)
        throw new ValidationError(`gradOutput must be a float32 tensor of shape [${shape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
      return g.buffer;
    });
    return {
      spec,
      finish: () => {
        for (const t of temps) t.dispose(); // stream-ordered on CUDA; CPU work has finished
        return { loss: lossT, grad: gradT };
      },
      fail,
    };
  } catch (e) {
    fail();
    throw e;
  }
}

function hostGradInto(g: unknown, n: number): Float32Array {
  if (g === undefined) return new Float32Array(n);
  if (!(g instanceof Float32Array) || g.length !== n)
    throw new ValidationError(`gradInto must be a Float32Array of ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
  return g;
}

function setGradOutput(spec: BceSpec, g: unknown, reduction: number, n: number, asOperand: (g: unknown) => Operand): void {
  if (g === undefined) return;
  if (reduction === 0) {
    if (typeof g === 'number') throw new ValidationError("gradOutput for reduction 'none' must hold one value per element", 'BITGRAD_INVALID_ARGUMENT');
    const op = asOperand(g);
    const len = op instanceof Float32Array ? op.length : op.byteLength / 4;
    if (len !== n) throw new ValidationError(`gradOutput has ${len} elements, expected ${n}`, 'BITGRAD_SHAPE_MISMATCH');
    spec.gradOut = op;
  } else {
    spec.gradScale = finiteNumber(g, 'gradOutput');
  }
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
  const p = prepare(logits, targets, opts);
  try {
    await native().binding.bceWithLogits(p.spec, true);
  } catch (e) {
    p.fail();
    throw e;
  }
  return p.finish();
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
  const p = prepare(logits, targets, opts);
  try {
    native().binding.bceWithLogits(p.spec, false);
  } catch (e) {
    p.fail();
    throw e;
  }
  return p.finish();
}

/**
 * Validation, broadcasting, output allocation and result building shared by the
 * fused losses (bceWithLogits and the elementwise losses): inputs are both
 * Float32Arrays (CPU) or both float32 tensors on one device; weight-like operands
 * broadcast to the input shape with PyTorch's rules.
 * @internal
 * @packageDocumentation
 */
import type { Operand } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, shapeSize, tensor } from '../tensor';
import { broadcastForm, expand, finiteNumber } from '../validate';

/** A weight-like argument: a scalar, host data, or a tensor on the inputs' device. */
export type WeightLike = number | Float32Array | Tensor;

/** The native spec fields every fused loss shares (each op adds its own). */
export interface LossSpecBase {
  n: number;
  reduction: 0 | 1 | 2;
  x: Operand;
  y: Operand;
  loss: Operand;
  grad?: Operand;
  gradOut?: Operand;
  gradScale: number;
  [key: string]: unknown;
}

/** A broadcast operand: option `key` (shape in option `shapeKey`) goes to spec `key`, `keyDiv`, `keyMod`. */
export interface WeightSlot {
  key: string;
  shapeKey: string;
}

/** How one loss call is prepared. */
export interface LossPrepConfig {
  /** Names of the two inputs in messages, e.g. `['logits', 'targets']`. */
  names: readonly [string, string];
  reduction: 0 | 1 | 2;
  wantGrad: boolean;
  weights: readonly WeightSlot[];
  /** Extra native spec fields (kind, hyper-parameters, checks). */
  base: Record<string, unknown>;
  /** Also produce d loss / d target (spec `gradTarget`; option `gradTargetInto`). */
  targetGrad?: boolean;
  /** Divisor of a reducing mean given the input shape (default: element count). */
  divisor?: (shape: readonly number[], n: number) => number;
}

/** Common options every fused loss accepts. */
export interface LossOptionsBase {
  gradOutput?: number | Float32Array | Tensor;
  grad?: boolean;
  gradInto?: Float32Array | Tensor;
  shape?: readonly number[];
}

/** A prepared call: the native spec, how to build the result, how to clean up on failure. */
export interface Prepared<R, S = LossSpecBase> {
  spec: S;
  finish(): R;
  fail(): void;
}

/** The native loss entry points: each takes a prepared spec and the call mode. */
export type LossOp = 'bceWithLogits' | 'lossEw' | 'classLoss' | 'rowLoss' | 'researchLoss';

/**
 * Runs a prepared loss call on native op `op`: awaited on a worker / stream when `async`,
 * on the calling thread otherwise. On failure the outputs it allocated are freed and the
 * error is rethrown; on success its result is built. Call it from an async function for
 * the async mode, so that a synchronous throw becomes a rejection.
 */
export function runLoss<R>(op: LossOp, p: Prepared<R, unknown>, async: true): Promise<R>;
export function runLoss<R>(op: LossOp, p: Prepared<R, unknown>, async: false): R;
export function runLoss<R>(op: LossOp, p: Prepared<R, unknown>, async: boolean): R | Promise<R>;
export function runLoss<R>(op: LossOp, p: Prepared<R, unknown>, async: boolean): R | Promise<R> {
  const fail = (e: unknown): never => {
    p.fail();
    throw e;
  };
  let pending: void | Promise<void> = undefined;
  try {
    const binding = native().binding as unknown as Record<LossOp, (spec: unknown, async: boolean) => void | Promise<void>>;
    pending = binding[op](p.spec, async);
  } catch (e) {
    fail(e);
  }
  return async ? Promise.resolve(pending).then(() => p.finish(), fail) : p.finish();
}

/** Result of a fused loss for Float32Array inputs. */
export interface LossHostResult {
  loss: number | Float32Array;
  grad: Float32Array | null;
  gradTarget?: Float32Array | null;
}

/** Result of a fused loss for tensor inputs. */
export interface LossTensorResult {
  loss: Tensor<'float32'>;
  grad: Tensor<'float32'> | null;
  gradTarget?: Tensor<'float32'> | null;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
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

function hostGradInto(g: unknown, n: number, name = 'gradInto'): Float32Array {
  if (g === undefined) return new Float32Array(n);
  if (!(g instanceof Float32Array) || g.length !== n)
    throw new ValidationError(`${name} must be a Float32Array of ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
  return g;
}

function setGradOutput(spec: LossSpecBase, g: unknown, reduction: number, n: number, asOperand: (g: unknown) => Operand): void {
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

/** Validates the inputs and options of one fused loss call and allocates its outputs. */
export function prepareLoss(input: unknown, target: unknown, opts: LossOptionsBase & Record<string, unknown>, cfg: LossPrepConfig): Prepared<LossHostResult | LossTensorResult> {
  const [xName, yName] = cfg.names;
  const { reduction, wantGrad } = cfg;
  const temps: Tensor[] = [];
  const divisorOf = (shape: readonly number[], n: number) => (cfg.divisor ? cfg.divisor(shape, n) : n);

  if (input instanceof Float32Array || target instanceof Float32Array) {
    if (!(input instanceof Float32Array)) throw new ValidationError(`${xName} must be a Float32Array like ${yName}`, 'BITGRAD_INVALID_DTYPE');
    if (!(target instanceof Float32Array)) throw new ValidationError(`${yName} must be a Float32Array like ${xName}`, 'BITGRAD_INVALID_DTYPE');
    const n = input.length;
    if (target.length !== n)
      throw new ValidationError(`${xName} has ${n} elements but ${yName} has ${target.length}`, 'BITGRAD_SHAPE_MISMATCH');
    const shape = opts.shape ?? [n];
    if (shapeSize(shape as number[], 'shape') !== n)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have ${n} elements`, 'BITGRAD_SHAPE_MISMATCH');
    const spec: LossSpecBase = {
      ...cfg.base,
      n,
      reduction,
      x: input,
      y: target,
      loss: new Float32Array(reduction === 0 ? n : 1),
      grad: wantGrad ? hostGradInto(opts.gradInto, n) : undefined,
      gradScale: 1,
    };
    if (cfg.targetGrad) spec.gradTarget = hostGradInto(opts.gradTargetInto, n, 'gradTargetInto');
    spec.divisor = divisorOf(shape, n);
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
    for (const slot of cfg.weights) {
      const w = hostWeight(opts[slot.key], opts[slot.shapeKey] as readonly number[] | undefined, slot.key);
      if (w) [spec[slot.key], spec[`${slot.key}Div`], spec[`${slot.key}Mod`]] = w;
    }
    setGradOutput(spec, opts.gradOutput, reduction, n, (g) => {
      if (!(g instanceof Float32Array)) throw new ValidationError('gradOutput must be a Float32Array for Float32Array inputs', 'BITGRAD_INVALID_ARGUMENT');
      return g;
    });
    return {
      spec,
      finish: () => {
        const r: LossHostResult = {
          loss: reduction === 0 ? (spec.loss as Float32Array) : (spec.loss as Float32Array)[0],
          grad: (spec.grad as Float32Array | undefined) ?? null,
        };
        if (cfg.targetGrad) r.gradTarget = (spec.gradTarget as Float32Array | undefined) ?? null;
        return r;
      },
      fail: () => undefined,
    };
  }

  if (!(input instanceof Tensor) || !(target instanceof Tensor))
    throw new ValidationError(`${xName} and ${yName} must both be Float32Arrays or both tensors`, 'BITGRAD_INVALID_ARGUMENT');
  if (input.dtype !== 'float32' || target.dtype !== 'float32')
    throw new ValidationError(`${xName} and ${yName} must be float32 tensors`, 'BITGRAD_INVALID_DTYPE');
  if (!sameShape(input.shape, target.shape))
    throw new ValidationError(
      `${xName} [${input.shape.join(', ')}] and ${yName} [${target.shape.join(', ')}] must have the same shape`,
      'BITGRAD_SHAPE_MISMATCH',
    );
  if (input.device !== target.device)
    throw new ValidationError(`${xName} are on ${input.device} but ${yName} on ${target.device}`, 'BITGRAD_DEVICE_MISMATCH');
  const device = input.device;
  const dev = deviceIndex(device);
  const shape = input.shape;
  const n = input.size;
  const x = input.buffer;
  const y = target.buffer;
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
  const checkInto = (g: unknown, name: string): Tensor<'float32'> | undefined => {
    if (g !== undefined && !(g instanceof Tensor && g.dtype === 'float32' && sameShape(g.shape, shape) && g.device === device))
      throw new ValidationError(`${name} must be a float32 tensor of shape [${shape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
    if (g !== undefined) void (g as Tensor).buffer; // throws BITGRAD_DISPOSED before any allocation
    return g as Tensor<'float32'> | undefined;
  };
  const divisor = divisorOf(shape, n);
  const gradInto = checkInto(opts.gradInto, 'gradInto');
  const gradTInto = cfg.targetGrad ? checkInto(opts.gradTargetInto, 'gradTargetInto') : undefined;
  const lossT = allocTensor(reduction === 0 ? shape : [], 'float32', dev);
  const gradT = wantGrad ? (gradInto ?? allocTensor(shape, 'float32', dev)) : null;
  const gradTT = cfg.targetGrad ? (gradTInto ?? allocTensor(shape, 'float32', dev)) : null;
  const fail = () => {
    lossT.dispose();
    if (gradT !== gradInto) gradT?.dispose();
    if (gradTT !== gradTInto) gradTT?.dispose();
    for (const t of temps) t.dispose();
  };
  try {
    const spec: LossSpecBase = { ...cfg.base, n, reduction, x, y, loss: lossT.buffer, grad: gradT?.buffer, gradScale: 1 };
    if (gradTT) spec.gradTarget = gradTT.buffer;
    spec.divisor = divisor;
    for (const slot of cfg.weights) {
      const w = tensorWeight(opts[slot.key], slot.key);
      if (w) [spec[slot.key], spec[`${slot.key}Div`], spec[`${slot.key}Mod`]] = w;
    }
    setGradOutput(spec, opts.gradOutput, reduction, n, (g) => {
      if (!(g instanceof Tensor) || g.dtype !== 'float32' || !sameShape(g.shape, shape) || g.device !== device)
        throw new ValidationError(`gradOutput must be a float32 tensor of shape [${shape.join(', ')}] on ${device}`, 'BITGRAD_SHAPE_MISMATCH');
      return g.buffer;
    });
    return {
      spec,
      finish: () => {
        for (const t of temps) t.dispose(); // stream-ordered on CUDA; CPU work has finished
        const r: LossTensorResult = { loss: lossT, grad: gradT };
        if (cfg.targetGrad) r.gradTarget = gradTT;
        return r;
      },
      fail,
    };
  } catch (e) {
    fail();
    throw e;
  }
}

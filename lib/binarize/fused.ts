/**
 * Fused binarize + pack: an estimator's forward sign straight into a {@link BitTensor},
 * reading the latent floats once.
 * @packageDocumentation
 */
import type { BitTensor } from '../bit-tensor';
import type { Operand } from '../binding';
import { deviceIndex } from '../device';
import { ValidationError, show } from '../errors';
import { native } from '../loader';
import { Tensor, tensor } from '../tensor';
import type { Estimator, EstimatorOptions } from './estimators';
import { PackOptions, PreparedPack, failPack, preparePack } from './pack';

/** Names of the estimators {@link binarizeAndPack} can fuse. */
export type FusedEstimatorName = 'ste' | 'approxSign' | 'swishSign' | 'reste' | 'ede' | 'fda' | 'elastic' | 'rsign';

/** Options of {@link binarizeAndPack} and {@link binarizeAndPackSync}. */
export interface BinarizeAndPackOptions extends PackOptions {
  /**
   * The estimator whose forward is packed: one of the `bitgrad.binarize` estimator
   * objects or its name (default `'ste'`). Every estimator except `rsign` has the
   * forward `sign(x)` (`elastic`: `alpha sign(x)` with alpha > 0, i.e. the same bits);
   * `rsign` packs `sign(x - alpha_c)`. `biper` (a square wave, not a sign) cannot be fused.
   */
  estimator?: FusedEstimatorName | Estimator<EstimatorOptions, unknown>;
  /**
   * `rsign` thresholds: a number (one shift for every element) or one value per channel
   * of the packed axis (`C` of NHWC / NCHW activations, `Cin` of weights, `K` of rows),
   * as a Float32Array or a 1-d float32 tensor on the input's device. Required for
   * `rsign`, refused otherwise.
   */
  alpha?: number | Float32Array | Tensor;
  /** Only `'plusOne'` (the default) can be packed: a bit has no zero state. */
  zeroMode?: 'plusOne' | 'zero';
  /** `elastic` only: `'binary'` (default); the ternary modes have three levels and cannot be packed. */
  mode?: 'binary' | 'ternary' | 'unsignedBinary';
}

const SIGN_ESTIMATORS = new Set(['ste', 'approxSign', 'swishSign', 'reste', 'ede', 'fda', 'elastic']);

function estimatorName(e: unknown): string {
  if (e === undefined) return 'ste';
  if (typeof e === 'string') return e;
  if (e !== null && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string') return (e as { name: string }).name;
  throw new ValidationError(`estimator must be an estimator of bitgrad.binarize or its name (got ${show(e)})`, 'BITGRAD_INVALID_ARGUMENT');
}

/** Adds the threshold of the estimator's forward to a prepared pack call. */
function addThreshold(p: PreparedPack, fname: string, opts: BinarizeAndPackOptions): void {
  const name = estimatorName(opts.estimator);
  if (name === 'biper')
    throw new ValidationError(`${fname}: biper's forward is a square wave sign(sin(omega0 x)), not a sign of x; it cannot be fused (use pack(biper.forward(x)))`, 'BITGRAD_INVALID_ARGUMENT');
  if (name !== 'rsign' && !SIGN_ESTIMATORS.has(name))
    throw new ValidationError(`${fname}: unknown estimator ${show(name)}`, 'BITGRAD_INVALID_ARGUMENT');
  if (opts.zeroMode !== undefined && opts.zeroMode !== 'plusOne')
    throw new ValidationError(`${fname}: zeroMode ${show(opts.zeroMode)} cannot be packed (a bit is +1 or -1; only 'plusOne')`, 'BITGRAD_INVALID_ARGUMENT');
  if (opts.mode !== undefined && !(name === 'elastic' && opts.mode === 'binary'))
    throw new ValidationError(`${fname}: mode ${show(opts.mode)} cannot be packed (only elastic's 'binary')`, 'BITGRAD_INVALID_ARGUMENT');
  if (name !== 'rsign') {
    if (opts.alpha !== undefined && name !== 'elastic')
      throw new ValidationError(`${fname}: alpha applies to rsign (and is ignored by elastic's binary bits), not to ${name}`, 'BITGRAD_INVALID_ARGUMENT');
    return;
  }
  const a = opts.alpha;
  if (a === undefined) throw new ValidationError(`${fname}: rsign needs alpha (per-channel thresholds)`, 'BITGRAD_INVALID_ARGUMENT');
  const k = p.spec.k;
  const dev = p.device;
  let operand: Operand;
  let len: number;
  if (typeof a === 'number') {
    const v = Math.fround(a);
    if (!Number.isFinite(v)) throw new ValidationError(`${fname}: alpha must be a finite float32 (got ${show(a)})`, 'BITGRAD_INVALID_ARGUMENT');
    operand = Float32Array.of(v);
    len = 1;
  } else if (a instanceof Float32Array) {
    operand = a;
    len = a.length;
  } else if (a instanceof Tensor) {
    if (a.dtype !== 'float32') throw new ValidationError(`${fname}: alpha must be a float32 tensor`, 'BITGRAD_INVALID_DTYPE');
    if (a.shape.length > 1) throw new ValidationError(`${fname}: alpha must be 1-d (one value per channel)`, 'BITGRAD_SHAPE_MISMATCH');
    if (deviceIndex(a.device) !== dev) throw new ValidationError(`${fname}: alpha is on ${a.device} but the input on ${dev < 0 ? 'cpu' : `cuda:${dev}`}`, 'BITGRAD_DEVICE_MISMATCH');
    operand = a.buffer;
    len = a.size;
  } else {
    throw new ValidationError(`${fname}: alpha must be a number, a Float32Array or a float32 tensor`, 'BITGRAD_INVALID_ARGUMENT');
  }
  if (len !== 1 && len !== k)
    throw new ValidationError(`${fname}: alpha has ${len} values but the packed axis has ${k} channels`, 'BITGRAD_SHAPE_MISMATCH');
  if (dev >= 0 && operand instanceof Float32Array) {
    // Host thresholds for a GPU input: copy them next to the input (freed with the temps).
    const t = tensor(operand as Float32Array, [len], { device: `cuda:${dev}` });
    p.temps.push(t);
    operand = t.buffer;
  }
  p.spec.thresh = operand;
  p.spec.threshStride = len === 1 ? 0 : 1;
}

function prepareFused(x: unknown, rawOpts: unknown, fname: string): PreparedPack {
  const p = preparePack(x, rawOpts, fname);
  try {
    addThreshold(p, fname, rawOpts as BinarizeAndPackOptions);
  } catch (e) {
    failPack(p);
    throw e;
  }
  return p;
}

/**
 * Binarizes and packs in one pass: the bits of `estimator.forward(x)` (bit 1 <=> +1)
 * written straight into a {@link BitTensor}, reading the latent floats once and never
 * materializing the ±1 floats. Equal, bit for bit, to
 * `pack(estimator.forward(x, { zeroMode: 'plusOne' }), opts)` for every layout and input
 * order (`rsign`: `sign(x - alpha_c)` computed in float32, with alpha along the packed
 * channel axis). Same layouts, shapes, devices and async behaviour as {@link pack}; CPU
 * AVX-512 / AVX2 / scalar, CUDA warp ballots. The backward pass is the estimator's own
 * `backward(x, g)` on the latent floats.
 *
 * @param x - the latent floats: a Float32Array (with `shape`) or a float32 tensor
 * @returns a promise of the bit tensor on the input's device
 * @throws ValidationError `BITGRAD_NAN_IN_PACK` (with `index`, the flat index in the
 *   input's order) when x (or x - alpha) is NaN; `BITGRAD_INVALID_ARGUMENT` for an
 *   estimator that cannot be fused (`biper`, `zeroMode: 'zero'`, ternary modes) or bad
 *   options; `BITGRAD_SHAPE_MISMATCH` for alpha of the wrong length; the errors of {@link pack}
 */
export async function binarizeAndPack(x: Float32Array | Tensor, opts: BinarizeAndPackOptions): Promise<BitTensor> {
  const p = prepareFused(x, opts, 'binarizeAndPack');
  try {
    await native().binding.packBits(p.spec, true);
  } catch (e) {
    failPack(p);
    throw e;
  }
  for (const t of p.temps) t.dispose(); // stream-ordered on CUDA
  return p.out;
}

/**
 * Synchronous {@link binarizeAndPack}: runs on the calling thread for CPU data; for
 * CUDA it waits for the device so that a NaN is still reported.
 */
export function binarizeAndPackSync(x: Float32Array | Tensor, opts: BinarizeAndPackOptions): BitTensor {
  const p = prepareFused(x, opts, 'binarizeAndPackSync');
  try {
    native().binding.packBits(p.spec, false);
  } catch (e) {
    failPack(p);
    throw e;
  }
  for (const t of p.temps) t.dispose();
  return p.out;
}

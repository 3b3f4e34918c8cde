/**
 * Bit packing: float32 values to ±1 bits (bit 1 <=> +1) and back.
 * @packageDocumentation
 */
import { BitLayout, BitTensor, allocBitTensor, bitGeometry } from '../bit-tensor';
import type { Operand, PackSpec } from '../binding';
import { Device, deviceIndex, requireDevice } from '../device';
import { ValidationError, show } from '../errors';
import { native } from '../loader';
import { Tensor, allocTensor, shapeSize, tensor } from '../tensor';
import { checkOptions } from '../validate';

/** Order of the dims of a 4-d input to {@link pack}. */
export type PackInputLayout = 'nhwc' | 'nchw';

/** Options of {@link pack} and {@link packSync}. */
export interface PackOptions {
  /** How to pack: `'nhwc'` activations, `'weights'` conv weights, or `'rows'` GEMM rows (see {@link BitLayout}). Required. */
  layout: BitLayout;
  /**
   * Dim order of a 4-d input (`'nhwc'` and `'weights'` layouts; default `'nhwc'`).
   * `'nchw'` takes `[N, C, H, W]` activations or `[Cout, Cin, kh, kw]` (PyTorch) weights
   * and transposes them to channels-last in the same pass.
   */
  inputLayout?: PackInputLayout;
  /**
   * Shape of a Float32Array input, in `inputLayout` order (required for the 4-d
   * layouts; `'rows'` defaults to `[length]`). For a tensor input it may re-view the
   * tensor's elements with another shape of the same size (default: the tensor's shape).
   */
  shape?: readonly number[];
  /**
   * Device of the result for Float32Array input (default `'cpu'`; a GPU copies the
   * floats there first). For a tensor input it must be the tensor's device if given.
   */
  device?: Device;
}

/** A decoded pack call: the native spec, the result and temporaries to free. @internal */
export interface PreparedPack {
  spec: PackSpec;
  out: BitTensor;
  temps: Tensor[];
  /** Device index of the result (-1: CPU). */
  device: number;
}

type Prepared = PreparedPack;

/** Validates pack options and input and allocates the result (shared with binarizeAndPack). @internal */
export function preparePack(x: unknown, rawOpts: unknown, fname = 'pack'): PreparedPack {
  return prepare(x, rawOpts, fname);
}

/** Frees a prepared pack's result and temporaries after a failure. @internal */
export function failPack(p: PreparedPack): void {
  fail(p);
}

function prepare(x: unknown, rawOpts: unknown, fname = 'pack'): Prepared {
  const opts = checkOptions(rawOpts, fname) as Partial<PackOptions>;
  if (rawOpts === undefined) throw new ValidationError(`${fname} needs options with a layout: 'nhwc', 'weights' or 'rows'`, 'BITGRAD_INVALID_ARGUMENT');
  const layout = opts.layout;
  if (layout !== 'nhwc' && layout !== 'weights' && layout !== 'rows')
    throw new ValidationError(`layout must be 'nhwc', 'weights' or 'rows' (got ${show(layout)})`, 'BITGRAD_INVALID_ARGUMENT');
  const inputLayout = opts.inputLayout ?? 'nhwc';
  if (inputLayout !== 'nhwc' && inputLayout !== 'nchw')
    throw new ValidationError(`inputLayout must be 'nhwc' or 'nchw' (got ${show(inputLayout)})`, 'BITGRAD_INVALID_ARGUMENT');
  if (layout === 'rows' && inputLayout !== 'nhwc')
    throw new ValidationError("inputLayout 'nchw' applies to the 'nhwc' and 'weights' layouts only", 'BITGRAD_INVALID_ARGUMENT');

  let operand: Operand;
  let shape: readonly number[];
  let devIndex: number;
  const temps: Tensor[] = [];
  if (x instanceof Float32Array) {
    if (opts.shape === undefined && layout !== 'rows')
      throw new ValidationError(`pack of a Float32Array in layout '${layout}' needs the shape option`, 'BITGRAD_INVALID_SHAPE');
    shape = opts.shape ?? [x.length];
    if (shapeSize(shape as number[], 'shape') !== x.length)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have ${x.length} elements`, 'BITGRAD_SHAPE_MISMATCH');
    devIndex = deviceIndex(opts.device ?? 'cpu');
    requireDevice(devIndex);
    operand = x;
  } else if (x instanceof Tensor) {
    if (x.dtype !== 'float32') throw new ValidationError(`pack needs a float32 tensor (got ${x.dtype})`, 'BITGRAD_INVALID_DTYPE');
    shape = opts.shape ?? x.shape;
    if (shapeSize(shape as number[], 'shape') !== x.size)
      throw new ValidationError(`shape [${shape.join(', ')}] does not have the tensor's ${x.size} elements`, 'BITGRAD_SHAPE_MISMATCH');
    devIndex = deviceIndex(x.device);
    if (opts.device !== undefined && deviceIndex(opts.device) !== devIndex)
      throw new ValidationError(`the tensor is on ${x.device} but device is ${show(opts.device)}`, 'BITGRAD_DEVICE_MISMATCH');
    operand = x.buffer;
  } else {
    throw new ValidationError('pack needs a Float32Array or a float32 tensor', ArrayBuffer.isView(x) ? 'BITGRAD_INVALID_DTYPE' : 'BITGRAD_INVALID_ARGUMENT');
  }

  // Input dims -> logical (channels-last) shape and strides.
  let logical: number[];
  let outer: number;
  let inner: number;
  let k: number;
  let strides: [number, number, number];
  if (layout === 'rows') {
    if (shape.length < 1) throw new ValidationError("layout 'rows' needs a shape [..., K] of at least one dim", 'BITGRAD_INVALID_SHAPE');
    logical = [...shape];
    k = shape[shape.length - 1];
    outer = 1;
    inner = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    strides = [inner * k, k, 1];
  } else {
    if (shape.length !== 4) {
      const dims = inputLayout === 'nchw' ? (layout === 'nhwc' ? '[N, C, H, W]' : '[Cout, Cin, kh, kw]') : layout === 'nhwc' ? '[N, H, W, C]' : '[Cout, kh, kw, Cin]';
      throw new ValidationError(`layout '${layout}' with inputLayout '${inputLayout}' needs a 4-d shape ${dims} (got [${shape.join(', ')}])`, 'BITGRAD_INVALID_SHAPE');
    }
    const [a, b, c, d] = shape;
    if (inputLayout === 'nhwc') {
      logical = [a, b, c, d];
      k = d;
      inner = b * c;
      strides = [inner * k, k, 1];
    } else {
      logical = [a, c, d, b];
      k = b;
      inner = c * d;
      strides = [k * inner, 1, inner];
    }
    outer = a;
  }
  const g = bitGeometry(logical, layout);

  const out = allocBitTensor(logical, layout, devIndex);
  if (x instanceof Float32Array && devIndex >= 0) {
    try {
      const t = tensor(x, [x.length], { device: `cuda:${devIndex}` });
      temps.push(t);
      operand = t.buffer;
    } catch (e) {
      out.dispose();
      throw e;
    }
  }
  const spec: PackSpec = {
    x: operand,
    out: out.buffer,
    outer,
    inner,
    k,
    words: g.words,
    outerStride: strides[0],
    innerStride: strides[1],
    kStride: strides[2],
  };
  return { spec, out, temps, device: devIndex };
}

function fail(p: Prepared): void {
  p.out.dispose();
  for (const t of p.temps) t.dispose();
}

/**
 * Packs float32 values into a {@link BitTensor}: bit 1 (+1) where `x >= 0` compared by
 * value (so `-0` packs to +1), bit 0 (−1) elsewhere; `+Infinity` gives +1 and
 * `-Infinity` −1. Channels are packed LSB first into 64-bit words along the last dim
 * of the layout, padding bits 0, the true channel count kept as `k` (see
 * {@link BitLayout}). NCHW input (`inputLayout: 'nchw'`) is transposed to NHWC in the
 * same pass. CPU: AVX-512 / AVX2 / scalar chosen at run time, large inputs off the main
 * thread and over the cores; CUDA: warp ballots.
 *
 * @param x - a Float32Array (with `shape`) or a float32 tensor on any device
 * @returns a promise of the bit tensor, on the input's device (or `opts.device` for a Float32Array)
 * @throws ValidationError `BITGRAD_NAN_IN_PACK` (with `index`, the flat index of the
 *   first NaN in the input's own order) when the input holds NaN, since a bit cannot
 *   hold it; `BITGRAD_INVALID_ARGUMENT`, `BITGRAD_INVALID_SHAPE`,
 *   `BITGRAD_SHAPE_MISMATCH`, `BITGRAD_INVALID_DTYPE`, `BITGRAD_DEVICE_MISMATCH`,
 *   `BITGRAD_DISPOSED` for bad arguments; DeviceError on GPU failure
 */
export async function pack(x: Float32Array | Tensor, opts: PackOptions): Promise<BitTensor> {
  const p = prepare(x, opts);
  try {
    await native().binding.packBits(p.spec, true);
  } catch (e) {
    fail(p);
    throw e;
  }
  for (const t of p.temps) t.dispose(); // stream-ordered on CUDA
  return p.out;
}

/**
 * Synchronous {@link pack}: runs on the calling thread for CPU data (use it for small
 * inputs or in worker threads). For CUDA it waits for the device so that a NaN is
 * still reported; use {@link pack} to keep the thread free.
 */
export function packSync(x: Float32Array | Tensor, opts: PackOptions): BitTensor {
  const p = prepare(x, opts);
  try {
    native().binding.packBits(p.spec, false);
  } catch (e) {
    fail(p);
    throw e;
  }
  for (const t of p.temps) t.dispose();
  return p.out;
}

/**
 * Unpacks a {@link BitTensor} into a float32 tensor of +1 / −1 on the same device, of
 * the bit tensor's logical `shape` (so NHWC order for `'nhwc'`, even when packed from
 * NCHW input). On the CPU it runs on the calling thread; on CUDA it is stream-ordered.
 */
export function unpack(bits: BitTensor): Tensor<'float32'> {
  if (!(bits instanceof BitTensor)) throw new ValidationError('unpack needs a BitTensor', 'BITGRAD_INVALID_ARGUMENT');
  const src = bits.buffer;
  const out = allocTensor(bits.shape, 'float32', deviceIndex(bits.device));
  try {
    native().binding.unpackBits({ bits: src, out: out.buffer, rows: bits.rows, k: bits.k, words: bits.words });
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/**
 * Bit tensors: ±1 values packed one bit each into 64-bit words in native memory, the
 * operand type of the XNOR / popcount kernels. Made by `bitgrad.binarize.pack`.
 * @packageDocumentation
 */
import type { NativeBuffer } from './binding';
import { Device, defaultDevice, deviceIndex, deviceName, requireDevice } from './device';
import { ValidationError, show } from './errors';
import { native } from './loader';
import { copyInto, shapeSize, trackResource } from './tensor';

/**
 * How a {@link BitTensor} packs its values. In every layout a packed row holds `k`
 * logical bits in `words = ceil(k / 64)` uint64 words, LSB first (bit `c % 64` of word
 * `c / 64` is element `c` of the row), bit 1 meaning +1; padding bits past `k` are 0.
 *
 * - `'nhwc'`: activations, shape `[N, H, W, C]`: one row per pixel, channels packed
 *   along the last dim: words `[N][H][W][ceil(C / 64)]`, `k = C`.
 * - `'weights'`: convolution weights, shape `[Cout, kh, kw, Cin]`: words
 *   `[Cout][kh][kw][ceil(Cin / 64)]`, `k = Cin`.
 * - `'rows'`: GEMM operands, shape `[..., K]`: one row per index of the leading dims,
 *   words `[M][ceil(K / 64)]`, `k = K`.
 */
export type BitLayout = 'nhwc' | 'weights' | 'rows';

const LAYOUTS: readonly BitLayout[] = ['nhwc', 'weights', 'rows'];

/** Rows, bits per row and words per row of a logical shape in a layout. @internal */
export function bitGeometry(shape: readonly number[], layout: BitLayout): { rows: number; k: number; words: number } {
  if (!LAYOUTS.includes(layout))
    throw new ValidationError(`layout must be 'nhwc', 'weights' or 'rows' (got ${show(layout)})`, 'BITGRAD_INVALID_ARGUMENT');
  shapeSize(shape as number[]);
  if (layout === 'rows') {
    if (shape.length < 1) throw new ValidationError("layout 'rows' needs a shape [..., K] of at least one dim", 'BITGRAD_INVALID_SHAPE');
  } else if (shape.length !== 4) {
    const dims = layout === 'nhwc' ? '[N, H, W, C]' : '[Cout, kh, kw, Cin]';
    throw new ValidationError(`layout '${layout}' needs a 4-d shape ${dims} (got [${shape.join(', ')}])`, 'BITGRAD_INVALID_SHAPE');
  }
  const k = shape[shape.length - 1];
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i];
  const words = Math.ceil(k / 64);
  if (!Number.isSafeInteger(rows * words * 8)) throw new ValidationError('bit tensor is too large', 'BITGRAD_INVALID_SHAPE');
  return { rows, k, words };
}

/**
 * ±1 values packed into uint64 words in native memory on `cpu` or `cuda:N` (see
 * {@link BitLayout} for the word order). Free it with {@link BitTensor.dispose},
 * `using`, or a `bitgrad.scope` (scopes and `keep` treat bit tensors like tensors).
 * Any use after dispose throws a `ValidationError` with code `BITGRAD_DISPOSED`.
 */
export class BitTensor {
  /**
   * Logical shape of the ±1 values, in the layout's order: `[N, H, W, C]` for `'nhwc'`
   * (also when packed from NCHW input), `[Cout, kh, kw, Cin]` for `'weights'`,
   * `[..., K]` for `'rows'`.
   */
  readonly shape: readonly number[];
  /** How the bits are arranged. */
  readonly layout: BitLayout;
  /** Logical bits per packed row: the true channel count `C` / `Cin`, or `K`. */
  readonly k: number;
  /** uint64 words per packed row: `ceil(k / 64)`. */
  readonly words: number;
  /** Packed rows: the product of every dim but the last. */
  readonly rows: number;
  /** Where the words live. */
  readonly device: Device;
  #buf: NativeBuffer | null;

  /** @internal Use `bitgrad.binarize.pack` or {@link BitTensor.fromWords}. */
  constructor(buf: NativeBuffer, shape: readonly number[], layout: BitLayout, device: Device) {
    const g = bitGeometry(shape, layout);
    if (buf.byteLength < g.rows * g.words * 8)
      throw new ValidationError(`buffer of ${buf.byteLength} bytes is too small for a bit tensor [${shape.join(', ')}]`, 'BITGRAD_SHAPE_MISMATCH');
    this.#buf = buf;
    this.shape = Object.freeze([...shape]);
    this.layout = layout;
    this.k = g.k;
    this.words = g.words;
    this.rows = g.rows;
    this.device = device;
    trackResource(this);
  }

  /**
   * A bit tensor from raw words (e.g. weights packed offline), copied to `device`
   * (default {@link defaultDevice}). `words` must hold exactly `rows * ceil(k / 64)`
   * words in the layout's order, with every padding bit 0
   * (`BITGRAD_NONZERO_PADDING` otherwise).
   */
  static fromWords(words: BigUint64Array, shape: readonly number[], layout: BitLayout, opts: { device?: Device } = {}): BitTensor {
    if (!(words instanceof BigUint64Array)) throw new ValidationError('words must be a BigUint64Array', 'BITGRAD_INVALID_DTYPE');
    if (opts === null || typeof opts !== 'object') throw new ValidationError('options must be an object', 'BITGRAD_INVALID_ARGUMENT');
    const g = bitGeometry(shape, layout);
    if (words.length !== g.rows * g.words)
      throw new ValidationError(
        `shape [${shape.join(', ')}] in layout '${layout}' needs ${g.rows * g.words} words, got ${words.length}`,
        'BITGRAD_SHAPE_MISMATCH',
      );
    const tail = g.k % 64;
    if (tail !== 0) {
      const pad = ~((1n << BigInt(tail)) - 1n) & 0xffffffffffffffffn;
      for (let r = 0; r < g.rows; r++) {
        const i = r * g.words + g.words - 1;
        if ((words[i] & pad) !== 0n)
          throw new ValidationError(`word ${i} (row ${r}) has padding bits set past k = ${g.k}`, 'BITGRAD_NONZERO_PADDING');
      }
    }
    const index = deviceIndex(opts.device ?? defaultDevice());
    requireDevice(index);
    const t = allocBitTensor(shape, layout, index);
    try {
      native().binding.write(t.buffer, words);
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t;
  }

  /** True after {@link BitTensor.dispose}. */
  get disposed(): boolean {
    return this.#buf === null || this.#buf.disposed;
  }

  /** The native buffer of `rows * words` uint64 words; throws if disposed. @internal */
  get buffer(): NativeBuffer {
    if (this.#buf === null || this.#buf.disposed)
      throw new ValidationError(`bit tensor [${this.shape.join(', ')}] ${this.layout} on ${this.device} was disposed`, 'BITGRAD_DISPOSED');
    return this.#buf;
  }

  /** Bytes of packed data: `rows * words * 8`. */
  get byteLength(): number {
    return this.rows * this.words * 8;
  }

  /** Copies the raw words (`rows * words`, row-major) to a new array; on a GPU this waits for queued work. */
  dataSync(): BigUint64Array {
    const buf = this.buffer;
    const out = new BigUint64Array(this.rows * this.words);
    native().binding.read(buf, out);
    return out;
  }

  /** Copies the raw words to a new array without blocking the event loop on GPU work. */
  async data(): Promise<BigUint64Array> {
    const buf = this.buffer;
    const out = new BigUint64Array(this.rows * this.words);
    await native().binding.readAsync(buf, out);
    return out;
  }

  /** A copy on `device` (a new bit tensor, even on the same device). */
  to(device: Device): BitTensor {
    const index = deviceIndex(device);
    requireDevice(index);
    const src = this.buffer; // throws if disposed, before anything is allocated
    return copyInto(src, allocBitTensor(this.shape, this.layout, index));
  }

  /** Frees the memory now. Calling it again does nothing. */
  dispose(): void {
    if (this.#buf) {
      this.#buf.dispose();
      this.#buf = null;
    }
  }

  /** `using b = await bitgrad.binarize.pack(...)` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A short description, e.g. `BitTensor(nhwc[2,4,4,65], k=65, words=2 @ cpu)`. */
  toString(): string {
    return `BitTensor(${this.layout}[${this.shape.join(',')}], k=${this.k}, words=${this.words} @ ${this.device}${this.disposed ? ', disposed' : ''})`;
  }
}

/** Allocates an uninitialised bit tensor on a native device index. @internal */
export function allocBitTensor(shape: readonly number[], layout: BitLayout, device: number): BitTensor {
  const g = bitGeometry(shape, layout);
  const buf = native().binding.alloc(device, g.rows * g.words * 8);
  try {
    return new BitTensor(buf, shape, layout, deviceName(device));
  } catch (e) {
    buf.dispose();
    throw e;
  }
}

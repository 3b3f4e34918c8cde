/**
 * The error classes of bitgrad. Every error thrown by a public function, from
 * TypeScript or from native code, is a {@link BitgradError} with a stable `code`.
 * Native code receives these classes at load time, so `instanceof` works for errors
 * raised inside C++ as well.
 *
 * @packageDocumentation
 */

/** Base class of every bitgrad error. `code` is stable; `message` is for people. */
export class BitgradError extends Error {
  /** Stable machine-readable code, e.g. `BITGRAD_SHAPE_MISMATCH`. */
  readonly code: string;
  /** Extra facts (index of a bad element, requested bytes, ...), when there are any. */
  [key: string]: unknown;

  /**
   * @param message - human-readable description
   * @param code - stable code (defaults to `BITGRAD_ERROR`)
   */
  constructor(message: string, code = 'BITGRAD_ERROR') {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An argument is wrong: type, dtype, shape, range, device, or a disposed tensor. */
export class ValidationError extends BitgradError {
  /** @inheritDoc */
  constructor(message: string, code = 'BITGRAD_INVALID_ARGUMENT') {
    super(message, code);
  }
}

/**
 * A device (GPU) failed or is unavailable. `cudaError` carries the CUDA error name
 * when there is one; `sticky` is true when the CUDA context is unusable for the rest
 * of the process (every later GPU call fails fast with the same code).
 */
export class DeviceError extends BitgradError {
  /** CUDA error name such as `cudaErrorIllegalAddress`, when the failure came from CUDA. */
  declare cudaError?: string;
  /** True when the CUDA context is corrupted and the process must restart to use the GPU. */
  declare sticky?: boolean;
  /** @inheritDoc */
  constructor(message: string, code = 'BITGRAD_DEVICE_ERROR') {
    super(message, code);
  }
}

/** An allocation failed. `requestedBytes` and `availableBytes` say by how much. */
export class OutOfMemoryError extends BitgradError {
  /** Bytes the failed allocation asked for. */
  declare requestedBytes?: number;
  /** Bytes the device (or the configured cap) had left. */
  declare availableBytes?: number;
  /** @inheritDoc */
  constructor(message: string, code = 'BITGRAD_OUT_OF_MEMORY') {
    super(message, code);
  }
}

/** Throws a {@link ValidationError} with `code` and `message`. */
export function invalid(code: string, message: string): never {
  throw new ValidationError(message, code);
}

/** Renders any value for an error message without throwing (BigInt, Symbol, cycles). @internal */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

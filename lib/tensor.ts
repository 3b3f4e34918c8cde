/**
 * Tensors: typed data in native memory on one device, with deterministic disposal,
 * scopes, and a GC backstop.
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'async_hooks';
import type { NativeBuffer } from './binding';
import { Device, defaultDevice, deviceIndex, deviceName, requireDevice } from './device';
import { ValidationError, show } from './errors';
import { native } from './loader';

/**
 * Element types a tensor can hold. `'bfloat16'` and `'float16'` are storage types for
 * CUDA logits (crossEntropy): element size 2, data as a Uint16Array of the raw bits.
 */
export type DType = 'float32' | 'int32' | 'uint8' | 'bfloat16' | 'float16';

/** The typed array that holds a dtype's data. */
export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : D extends 'uint8' ? Uint8Array : Uint16Array;

/** Any typed array a tensor can be made from. */
export type TensorData = Float32Array | Int32Array | Uint8Array | Uint16Array;

const BYTES: Record<DType, number> = { float32: 4, int32: 4, uint8: 1, bfloat16: 2, float16: 2 };
const CTORS = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array, bfloat16: Uint16Array, float16: Uint16Array } as const;

function dtypeOf(data: unknown, half?: unknown): DType {
  if (data instanceof Uint16Array) {
    if (half === 'bfloat16' || half === 'float16') return half;
    throw new ValidationError("Uint16Array data needs { dtype: 'bfloat16' | 'float16' }", 'BITGRAD_INVALID_DTYPE');
  }
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  throw new ValidationError('tensor data must be a Float32Array, Int32Array or Uint8Array', 'BITGRAD_INVALID_DTYPE');
}

/** Checks a shape and returns its element count. @internal */
/**
 * Copies the bytes of `src` into the freshly allocated `out` and returns it; frees `out`
 * if the copy fails. The `to()` of Tensor and BitTensor. @internal
 */
export function copyInto<T extends { readonly buffer: NativeBuffer; dispose(): void }>(src: NativeBuffer, out: T): T {
  try {
    native().binding.copy(out.buffer, src);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

export function shapeSize(shape: unknown, name = 'shape'): number {
  if (!Array.isArray(shape)) throw new ValidationError(`${name} must be an array of non-negative integers`, 'BITGRAD_INVALID_SHAPE');
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      throw new ValidationError(`${name} must be an array of non-negative integers (got ${show(shape)})`, 'BITGRAD_INVALID_SHAPE');
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new ValidationError(`${name} has too many elements`, 'BITGRAD_INVALID_SHAPE');
  return n;
}

// ---- scopes -------------------------------------------------------------------------

interface Scope {
  tensors: Set<ScopedResource>;
  parent: Scope | undefined;
}

const scopes = new AsyncLocalStorage<Scope>();

function track(t: Tensor): void {
  scopes.getStore()?.tensors.add(t);
}

/** Anything a scope can own and dispose: a {@link Tensor}, or a native-memory holder such as a `BitTensor`. */
export interface ScopedResource {
  /** Frees the resource; calling it again does nothing. */
  dispose(): void;
}

const resources = new WeakSet<object>();

/**
 * Makes a non-tensor native resource (a `BitTensor`) behave like a tensor for
 * {@link scope}, {@link scopeAsync} and {@link keep}: owned by the current scope,
 * found in a scope's return value. Call it from the resource's constructor. @internal
 */
export function trackResource(r: ScopedResource): void {
  resources.add(r);
  scopes.getStore()?.tensors.add(r);
}

function collect(value: unknown, out: Set<ScopedResource>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor || resources.has(value)) {
    out.add(value as ScopedResource);
    return;
  }
  if (ArrayBuffer.isView(value)) return;
  if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
    return;
  }
  if (value instanceof Set || Array.isArray(value)) {
    for (const v of value) collect(v, out, seen);
    return;
  }
  for (const v of Object.values(value)) collect(v, out, seen);
}

function closeScope(scope: Scope, result: unknown, failed: boolean): void {
  const kept = new Set<ScopedResource>();
  if (!failed) collect(result, kept, new Set());
  for (const t of scope.tensors) {
    if (kept.has(t)) scope.parent?.tensors.add(t);
    else t.dispose();
  }
  scope.tensors.clear();
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors found in
 * its return value (arrays, plain objects, Maps and Sets are searched) and those
 * passed to {@link keep}. Returned tensors move to the enclosing scope, if any.
 * If `fn` throws, everything created inside is disposed.
 */
export function scope<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ValidationError('scope(fn) needs a function', 'BITGRAD_INVALID_ARGUMENT');
  const s: Scope = { tensors: new Set(), parent: scopes.getStore() };
  let result: T;
  try {
    result = scopes.run(s, fn);
  } catch (e) {
    closeScope(s, undefined, true);
    throw e;
  }
  if (result instanceof Promise) {
    closeScope(s, undefined, true);
    throw new ValidationError('scope() got an async function; use scopeAsync()', 'BITGRAD_ASYNC_SCOPE');
  }
  closeScope(s, result, false);
  return result;
}

/**
 * Async form of {@link scope}: tensors created anywhere inside `fn`'s async flow (but
 * not in unrelated concurrent work) are disposed when its promise settles.
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof fn !== 'function') throw new ValidationError('scopeAsync(fn) needs a function', 'BITGRAD_INVALID_ARGUMENT');
  const s: Scope = { tensors: new Set(), parent: scopes.getStore() };
  let result: T;
  try {
    result = await scopes.run(s, fn);
  } catch (e) {
    closeScope(s, undefined, true);
    throw e;
  }
  closeScope(s, result, false);
  return result;
}

/** Exempts tensors (and bit tensors) from disposal by every enclosing scope. Returns its argument. */
export function keep<T extends ScopedResource | ScopedResource[]>(tensors: T): T {
  const list: unknown[] = Array.isArray(tensors) ? tensors : [tensors];
  for (const t of list)
    if (!(t instanceof Tensor || (typeof t === 'object' && t !== null && resources.has(t))))
      throw new ValidationError('keep() takes tensors or bit tensors', 'BITGRAD_INVALID_ARGUMENT');
  for (const t of list as ScopedResource[]) {
    for (let s = scopes.getStore(); s; s = s.parent) s.tensors.delete(t);
  }
  return tensors;
}

// ---- Tensor -------------------------------------------------------------------------

/**
 * An n-dimensional array in native memory on `cpu` or `cuda:N`. Free it with
 * {@link Tensor.dispose} (or `using`, or a {@link scope}); a leaked tensor is freed by
 * the garbage collector eventually and counted in {@link memory}`().gcFreed`.
 * Any use after dispose throws a `ValidationError` with code `BITGRAD_DISPOSED`.
 */
export class Tensor<D extends DType = DType> {
  /** Dimensions, outermost first. `[]` is a scalar. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  /** Where the data lives. */
  readonly device: Device;
  /** Number of elements. */
  readonly size: number;
  #buf: NativeBuffer | null;

  /** @internal Use {@link tensor} or the ops to make tensors. */
  constructor(buf: NativeBuffer, shape: readonly number[], dtype: D, device: Device) {
    this.#buf = buf;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.device = device;
    this.size = shape.reduce((a, b) => a * b, 1);
    track(this);
  }

  /** True after {@link Tensor.dispose}. */
  get disposed(): boolean {
    return this.#buf === null || this.#buf.disposed;
  }

  /** The native buffer; throws if disposed. @internal */
  get buffer(): NativeBuffer {
    if (this.#buf === null || this.#buf.disposed)
      throw new ValidationError(`tensor [${this.shape.join(', ')}] ${this.dtype} on ${this.device} was disposed`, 'BITGRAD_DISPOSED');
    return this.#buf;
  }

  /** Copies the data to a new typed array without blocking the event loop on GPU work. */
  async data(): Promise<TypedArrayFor<D>> {
    const buf = this.buffer;
    const out = new CTORS[this.dtype](this.size) as TypedArrayFor<D>;
    await native().binding.readAsync(buf, out);
    return out;
  }

  /** Copies the data to a new typed array; on a GPU this waits for queued work. */
  dataSync(): TypedArrayFor<D> {
    const buf = this.buffer;
    const out = new CTORS[this.dtype](this.size) as TypedArrayFor<D>;
    native().binding.read(buf, out);
    return out;
  }

  /**
   * A copy on `device` (a new tensor, even on the same device). Copies to the CPU
   * wait for queued GPU work; copies to a GPU are stream-ordered.
   */
  to(device: Device): Tensor<D> {
    const index = deviceIndex(device);
    requireDevice(index);
    const src = this.buffer; // throws if disposed, before anything is allocated
    return copyInto(src, allocTensor(this.shape, this.dtype, index));
  }

  /** Frees the memory now. Calling it again does nothing. */
  dispose(): void {
    if (this.#buf) {
      this.#buf.dispose();
      this.#buf = null;
    }
  }

  /** `using t = bitgrad.tensor(...)` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A short description, e.g. `Tensor(float32[2,3] @ cpu)`. */
  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(',')}] @ ${this.device}${this.disposed ? ', disposed' : ''})`;
  }
}

/** Allocates an uninitialised tensor on a native device index. @internal */
export function allocTensor<D extends DType>(shape: readonly number[], dtype: D, device: number): Tensor<D> {
  const n = shapeSize(shape as number[]);
  const buf = native().binding.alloc(device, n * BYTES[dtype]);
  return new Tensor(buf, shape, dtype, deviceName(device));
}

/** Options of {@link tensor}. */
export interface TensorOptions {
  /** Target device; default {@link defaultDevice}. */
  device?: Device;
  /** For Uint16Array data only: the raw bits are `'bfloat16'` or `'float16'` values. */
  dtype?: 'bfloat16' | 'float16';
}

/**
 * Makes a tensor from a typed array (a view with an offset is fine; the data is
 * copied). `shape` defaults to `[data.length]`; its element count must equal
 * `data.length`. The dtype follows the array type (a Uint16Array of raw bits needs
 * `opts.dtype`: `'bfloat16'` or `'float16'`).
 */
export function tensor<T extends TensorData>(
  data: T,
  shape?: readonly number[],
  opts: TensorOptions = {},
): Tensor<T extends Float32Array ? 'float32' : T extends Int32Array ? 'int32' : T extends Uint8Array ? 'uint8' : 'bfloat16' | 'float16'> {
  const dtype = dtypeOf(data, opts !== null && typeof opts === 'object' ? opts.dtype : undefined);
  const dims = shape ?? [data.length];
  const n = shapeSize(dims as number[]);
  if (n !== data.length)
    throw new ValidationError(`shape [${dims.join(', ')}] has ${n} elements but data has ${data.length}`, 'BITGRAD_SHAPE_MISMATCH');
  if (opts === null || typeof opts !== 'object') throw new ValidationError('options must be an object', 'BITGRAD_INVALID_ARGUMENT');
  const index = deviceIndex(opts.device ?? defaultDevice());
  requireDevice(index);
  const t = allocTensor(dims, dtype, index);
  try {
    native().binding.write(t.buffer, data);
  } catch (e) {
    t.dispose();
    throw e;
  }
  return t as never;
}

/** Memory counters of one device. */
export interface DeviceMemory {
  /** Bytes held by live tensors. */
  liveBytes: number;
  /** Highest `liveBytes` seen. */
  peakBytes: number;
  /** Allocation cap (0 = none), see {@link setMemoryCap}. */
  capBytes: number;
  /**
   * Bytes kept for reuse by freed tensors ({@link emptyCache} returns them): the CUDA
   * pool's, or on the CPU the host block cache's (freed blocks of 64 KiB or more, up to
   * `BITGRAD_HOST_CACHE_MB` MiB; default an eighth of the usable memory, at most 1 GiB;
   * 0 turns it off).
   */
  pooledBytes: number;
}

/** What {@link memory} reports. */
export interface MemoryInfo {
  /** Live tensors (native buffers) in the process. */
  liveTensors: number;
  /** Tensors freed by the garbage collector instead of dispose(): leaks. */
  gcFreed: number;
  /** Bytes freed by the garbage collector. */
  gcFreedBytes: number;
  /** Per device: `cpu`, and each `cuda:N` used so far. */
  devices: Record<string, DeviceMemory>;
}

/** Memory counters: live tensors, bytes per device, pooled bytes, peak, GC-freed leaks. */
export function memory(): MemoryInfo {
  const m = native().binding.memory();
  return { liveTensors: m.liveBuffers, gcFreed: m.gcFreed, gcFreedBytes: m.gcFreedBytes, devices: m.devices };
}

/** Returns the memory freed tensors left for reuse: the CUDA pool's to the driver, the host block cache's to the C heap. */
export function emptyCache(): void {
  native().binding.emptyCache();
}

/**
 * Caps the bytes live tensors may hold on `device` (0 removes the cap). An allocation
 * past the cap throws `OutOfMemoryError` with the requested and available bytes.
 */
export function setMemoryCap(device: Device, bytes: number): void {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0)
    throw new ValidationError('bytes must be a non-negative integer', 'BITGRAD_INVALID_ARGUMENT');
  native().binding.setMemoryCap(deviceIndex(device), bytes);
}

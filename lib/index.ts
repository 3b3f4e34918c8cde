/**
 * bitgrad: losses, straight-through binarization and bit-packed XNOR kernels for
 * binary neural networks, on CUDA or the CPU.
 *
 * ```ts
 * import * as bitgrad from 'bitgrad';
 * console.log(bitgrad.backend().name, bitgrad.backend().reason);
 * const { loss, grad } = await bitgrad.losses.bceWithLogits(logits, targets, { reduction: 'mean' });
 * ```
 *
 * @packageDocumentation
 */
import type { BackendReport } from './loader';
import { native } from './loader';
import { ValidationError, show } from './errors';
import { Device, deviceIndex } from './device';

export { BitgradError, ValidationError, DeviceError, OutOfMemoryError } from './errors';
export { configure } from './loader';
export type { BackendReport, BackendRequest, LoadOptions, LoadAttempt } from './loader';
export type { ProbeResult, ProbeDevice, CpuInfo } from './binding';
export { defaultDevice } from './device';
export type { Device } from './device';
export { Tensor, tensor, scope, scopeAsync, keep, memory, emptyCache, setMemoryCap } from './tensor';
export type { DType, TensorData, TensorOptions, MemoryInfo, DeviceMemory, TypedArrayFor } from './tensor';
export type { Reduction } from './validate';

import * as losses from './losses';
import * as binarize from './binarize';
export { losses, binarize };
export * as xnor from './xnor';

/**
 * The backend chosen at load time and why, with what the probe found: CUDA driver
 * and runtime versions, devices and compute capabilities, the compiled archs, the
 * CPU SIMD path, and every binary the loader tried. Loads the native binary on
 * first call.
 */
export function backend(): BackendReport {
  return native().report;
}

/**
 * Forces the CPU SIMD path (`'auto'`, `'scalar'`, `'avx2'`, `'avx512'`), as the
 * `BITGRAD_SIMD` environment variable does at load time; for tests and benchmarks.
 * A path the CPU lacks falls back to the best available; the returned info says which.
 */
export function setSimd(path: 'auto' | 'scalar' | 'avx2' | 'avx512') {
  if (!['auto', 'scalar', 'avx2', 'avx512'].includes(path))
    throw new ValidationError(`unknown SIMD path ${show(path)}`, 'BITGRAD_INVALID_ARGUMENT');
  const info = native().binding.setSimd(path);
  native().report.cpu = info;
  return info;
}

/** Sets how many threads CPU ops may use (default: `BITGRAD_NUM_THREADS` or all cores). */
export function setNumThreads(n: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024)
    throw new ValidationError('threads must be an integer in [1, 1024]', 'BITGRAD_INVALID_ARGUMENT');
  const got = native().binding.setNumThreads(n);
  native().report.cpu = native().binding.cpuInfo();
  return got;
}

/** Waits until all queued GPU work on `device` is done (no-op on the CPU). Blocks the thread. */
export function synchronize(device: Device = 'cuda:0'): void {
  const i = deviceIndex(device);
  if (i >= 0 && native().report.name === 'cuda') native().binding.synchronize(i);
}

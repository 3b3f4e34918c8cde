/**
 * Device names: `cpu`, `cuda` (= `cuda:0`) and `cuda:N`.
 * @packageDocumentation
 */
import { DeviceError, ValidationError, show } from './errors';
import { native } from './loader';

/** A device name accepted by every function that takes one. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Parses a device name into the native index (-1 = CPU). @internal */
export function deviceIndex(device: unknown): number {
  if (device === 'cpu') return -1;
  if (device === 'cuda') return 0;
  if (typeof device === 'string') {
    const m = /^cuda:(\d{1,2})$/.exec(device);
    if (m) return Number(m[1]);
  }
  throw new ValidationError(`unknown device ${show(device)}; use 'cpu', 'cuda' or 'cuda:N'`, 'BITGRAD_INVALID_DEVICE');
}

/** Canonical name of a native device index. @internal */
export function deviceName(index: number): Device {
  return index < 0 ? 'cpu' : `cuda:${index}`;
}

/** Throws unless `index` names a device this process can use. @internal */
export function requireDevice(index: number): void {
  if (index < 0) return;
  const { report } = native();
  if (report.name !== 'cuda') {
    throw new DeviceError(`cuda:${index} is not available: ${report.reason}`, 'BITGRAD_NO_GPU');
  }
  const dev = report.cuda.devices[index];
  if (!dev) throw new DeviceError(`cuda:${index} does not exist (${report.cuda.devices.length} device(s))`, 'BITGRAD_NO_DEVICE');
  if (!dev.archCompatible) {
    throw new DeviceError(
      `cuda:${index} (${dev.name}, sm_${dev.computeCapability.replace('.', '')}) is not supported by the compiled archs ${report.cuda.compiledArchs.join(',')}`,
      'BITGRAD_ARCH_UNSUPPORTED',
    );
  }
}

/** The device tensors go to when none is given: `cuda:0` on the CUDA backend, else `cpu`. */
export function defaultDevice(): Device {
  return native().report.name === 'cuda' ? 'cuda:0' : 'cpu';
}

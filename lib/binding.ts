/**
 * The native surface, declared once. Only lib/ code talks to it; users see the facade.
 * @internal
 * @packageDocumentation
 */

/** Opaque handle of native memory on one device. */
export interface NativeBuffer {
  readonly disposed: boolean;
  readonly byteLength: number;
  /** -1 for the CPU, N for cuda:N. */
  readonly device: number;
  dispose(): void;
}

/** Float operand of an op: host memory or a buffer. */
export type Operand = Float32Array | NativeBuffer;

/** What the binary was built with. */
export interface BuildInfo {
  version: string;
  napiVersion: number;
  cuda: boolean;
  arch: string;
}

/** One CUDA device as the probe saw it. */
export interface ProbeDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalBytes: number;
  smCount: number;
  archCompatible: boolean;
}

/** Result of probing the CUDA driver and devices. */
export interface ProbeResult {
  compiled: boolean;
  usable: boolean;
  reason: string;
  errorCode: string;
  driverVersion: number;
  runtimeVersion: number;
  compiledArchs: number[];
  ptxArch: number;
  devices: ProbeDevice[];
}

/** CPU path chosen at run time. */
export interface CpuInfo {
  simd: 'scalar' | 'avx2' | 'avx512';
  simdBest: 'scalar' | 'avx2' | 'avx512';
  simdReason: string;
  threads: number;
}

/** Per-device memory counters. */
export interface NativeDeviceMemory {
  liveBytes: number;
  peakBytes: number;
  capBytes: number;
  pooledBytes: number;
}

/** Process-wide memory counters. */
export interface NativeMemory {
  liveBuffers: number;
  gcFreed: number;
  gcFreedBytes: number;
  devices: Record<string, NativeDeviceMemory>;
}

/** Arguments of the native bceWithLogits (validated by lib/losses/bce-with-logits.ts). */
export interface BceSpec {
  n: number;
  reduction: 0 | 1 | 2;
  x: Operand;
  y: Operand;
  loss: Operand;
  grad?: Operand;
  gradOut?: Operand;
  gradScale: number;
  weight?: Operand;
  weightDiv?: number;
  weightMod?: number;
  posWeight?: Operand;
  posWeightDiv?: number;
  posWeightMod?: number;
  checkTargets: boolean;
}

/** Error classes handed to native code. */
export interface ErrorClasses {
  BitgradError: Function;
  ValidationError: Function;
  DeviceError: Function;
  OutOfMemoryError: Function;
}

/** Everything a bitgrad .node exports. */
export interface NativeBinding {
  init(classes: ErrorClasses): void;
  buildInfo(): BuildInfo;
  probe(): ProbeResult;
  cpuInfo(): CpuInfo;
  setSimd(name: 'auto' | 'scalar' | 'avx2' | 'avx512'): CpuInfo;
  setNumThreads(n: number): number;
  alloc(device: number, bytes: number): NativeBuffer;
  write(buf: NativeBuffer, src: ArrayBufferView): void;
  read(buf: NativeBuffer, dst: ArrayBufferView): void;
  readAsync(buf: NativeBuffer, dst: ArrayBufferView): Promise<void>;
  copy(dst: NativeBuffer, src: NativeBuffer): void;
  synchronize(device: number): void;
  memory(): NativeMemory;
  emptyCache(): void;
  setMemoryCap(device: number, bytes: number): void;
  bceWithLogits(spec: BceSpec, async: false): void;
  bceWithLogits(spec: BceSpec, async: true): Promise<void>;
}

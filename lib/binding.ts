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

/**
 * Arguments of the native packBits (validated by lib/binarize/pack.ts). Output row
 * r = o * inner + i packs the k floats at x[o * outerStride + i * innerStride + c * kStride].
 */
export interface PackSpec {
  x: Operand;
  out: NativeBuffer;
  outer: number;
  inner: number;
  k: number;
  words: number;
  outerStride: number;
  innerStride: number;
  kStride: number;
  /** Fused binarize + pack: channel c's bit is (x - thresh[c * threshStride]) >= 0 (k floats, or one with threshStride 0). */
  thresh?: Operand;
  threshStride?: number;
}

/** Arguments of the native unpackBits: rows x words uint64 -> rows x k floats (+1 / -1). */
export interface UnpackSpec {
  bits: NativeBuffer;
  out: NativeBuffer;
  rows: number;
  k: number;
  words: number;
}

/**
 * Arguments of the native estimator (validated by lib/binarize/estimators.ts): one
 * straight-through estimator's forward (`out` = binarized `x`) or backward (`out` =
 * dL/dx, `dparam` = dL/dparam per channel). Hyper-parameters arrive precomputed.
 */
export interface EstimatorSpec {
  kind: number;
  backward: boolean;
  n: number;
  x: Operand;
  g?: Operand;
  out: Operand;
  param?: Operand;
  paramDiv?: number;
  paramMod?: number;
  dparam?: Operand;
  zero?: number;
  inclusive?: boolean;
  clip?: number;
  beta?: number;
  invO?: number;
  expo?: number;
  slope0?: number;
  t?: number;
  delta?: number;
  omega?: number;
  kt4?: number;
  t2?: number;
  fdaScale?: number;
  fdaM?: number;
  fdaTerms?: number;
  lsqMode?: number;
  lsqGs?: number;
}

/**
 * Arguments of the native researchLoss (validated by lib/losses/research.ts;
 * native/ops/research_args.h): kind indexes ResearchKind; hyper-parameters by name.
 */
export interface ResearchSpec {
  kind: number;
  rows: number;
  cols: number;
  h?: number;
  w?: number;
  reduction: 0 | 1 | 2;
  gradScale: number;
  check?: 0 | 1;
  x: Operand;
  x2?: Operand;
  y: Operand;
  loss: Operand;
  grad?: Operand;
  grad2?: Operand;
  gradOut?: Operand;
  [param: string]: unknown;
}

/**
 * Arguments of the native lossEw (validated by lib/losses/elementwise.ts): one
 * elementwise loss (kind indexes LossKind in native/ops/loss_ew_args.h) with its
 * gradient(s); `divisor` divides a reducing mean.
 */
export interface LossEwSpec {
  kind: number;
  n: number;
  reduction: 0 | 1 | 2;
  divisor: number;
  x: Operand;
  y: Operand;
  loss: Operand;
  grad?: Operand;
  gradTarget?: Operand;
  gradOut?: Operand;
  gradScale: number;
  weight?: Operand;
  weightDiv?: number;
  weightMod?: number;
  check: 0 | 1 | 2;
  alpha?: number;
  gamma?: number;
  margin?: number;
  logTarget?: boolean;
}

/**
 * Arguments of the native classLoss (validated by lib/losses/cross-entropy.ts): input
 * [outer, classes, inner]; kind 0 crossEntropy, 1 nllLoss, 2 multiMarginLoss; dtype 0
 * float32, 1 bfloat16, 2 float16 (x and grad).
 */
export interface ClassLossSpec {
  kind: 0 | 1 | 2;
  dtype: 0 | 1 | 2;
  outer: number;
  classes: number;
  inner: number;
  x: Operand;
  target?: Int32Array | NativeBuffer;
  prob?: Operand;
  weight?: Operand;
  ignoreIndex: number;
  labelSmoothing: number;
  p: number;
  margin: number;
  reduction: 0 | 1 | 2;
  gradScale: number;
  gradOut?: Operand;
  loss: Operand;
  grad?: Operand;
}

/**
 * Arguments of the native rowLoss (validated by lib/losses/rowwise.ts): x [rows, classes]
 * float32; kind and p0..p2 as in native/ops/rowwise_args.h.
 */
export interface RowLossSpec {
  kind: number;
  rows: number;
  classes: number;
  x: Operand;
  t?: Operand;
  target?: Int32Array | NativeBuffer;
  p0: number;
  p1: number;
  p2: number;
  mode: 0 | 1;
  state?: Operand;
  index?: Int32Array | NativeBuffer;
  nState?: number;
  reduction: 0 | 1 | 2;
  gradScale: number;
  gradOut?: Operand;
  loss: Operand;
  grad?: Operand;
}

/** Error classes handed to native code. */
/**
 * Arguments of the native xnorConv (validated by lib/xnor/index.ts; native/ops/xnor_args.h):
 * x words [n][h][w][xwords], wt words [cout][kh][kw][gwords], output NHWC.
 */
export interface XnorConvSpec {
  x: NativeBuffer;
  wt: NativeBuffer;
  out: NativeBuffer;
  n: number;
  h: number;
  w: number;
  c: number;
  xwords: number;
  cout: number;
  kh: number;
  kw: number;
  cg: number;
  gwords: number;
  groups: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  ho: number;
  wo: number;
  /** 0 zero padding, 1 one padding. */
  padMode: 0 | 1;
  /** 0 int32, 1 float, 2 bits. */
  outType: 0 | 1 | 2;
  alpha?: Operand;
  beta?: Operand;
  residual?: Operand;
}

/**
 * Arguments of the native xnorLinearBackward (validated by lib/xnor/index.ts;
 * native/ops/xnor_train_args.h): g [m][n] float, x bits [m][words], w bits [n][words],
 * gx [m][k] and gw [n][k] float outputs (either may be absent).
 */
export interface XnorLinearBackwardSpec {
  g: Operand;
  alpha?: Operand;
  x?: NativeBuffer;
  w?: NativeBuffer;
  gx?: NativeBuffer;
  gw?: NativeBuffer;
  m: number;
  n: number;
  k: number;
  words: number;
}

/**
 * Arguments of the native xnorConvBackward (validated by lib/xnor/conv-train.ts;
 * native/ops/xnor_conv_train_args.h): g NHWC [n][ho][wo][cout] float; wt weight bits and
 * gx [n][h][w][c] for the input gradient, x input bits and gw [cout][kh][kw][cg] for the
 * weight gradient (either pair may be absent). Geometry as {@link XnorConvSpec}.
 */
export interface XnorConvBackwardSpec {
  g: Operand;
  alpha?: Operand;
  x?: NativeBuffer;
  wt?: NativeBuffer;
  gx?: NativeBuffer;
  gw?: NativeBuffer;
  n: number;
  h: number;
  w: number;
  c: number;
  xwords: number;
  cout: number;
  kh: number;
  kw: number;
  cg: number;
  gwords: number;
  groups: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  ho: number;
  wo: number;
  padMode: 0 | 1;
}

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
  packBits(spec: PackSpec, async: false): void;
  packBits(spec: PackSpec, async: true): Promise<void>;
  unpackBits(spec: UnpackSpec): void;
  estimator(spec: EstimatorSpec, async: false): void;
  estimator(spec: EstimatorSpec, async: true): Promise<void>;
  lossEw(spec: LossEwSpec, async: false): void;
  lossEw(spec: LossEwSpec, async: true): Promise<void>;
  researchLoss(spec: ResearchSpec, async: false): void;
  researchLoss(spec: ResearchSpec, async: true): Promise<void>;
  classLoss(spec: ClassLossSpec, async: false): void;
  classLoss(spec: ClassLossSpec, async: true): Promise<void>;
  xnorConv(spec: XnorConvSpec, async: false): void;
  xnorConv(spec: XnorConvSpec, async: true): Promise<void>;
  xnorKernelName(): string;
  xnorLinearBackward(spec: XnorLinearBackwardSpec, async: false): void;
  xnorLinearBackward(spec: XnorLinearBackwardSpec, async: true): Promise<void>;
  xnorConvBackward(spec: XnorConvBackwardSpec, async: false): void;
  xnorConvBackward(spec: XnorConvBackwardSpec, async: true): Promise<void>;
  rowLoss(spec: RowLossSpec, async: false): void;
  rowLoss(spec: RowLossSpec, async: true): Promise<void>;
}

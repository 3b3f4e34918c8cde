/**
 * Finds, loads and probes the native binary, and decides the backend.
 *
 * Order: an explicit binary (option `binary` or `BITGRAD_BINARY`), then local builds
 * (`build-cmake/Release`, `build/Release`), then `prebuilds/<platform>-<arch>/`.
 * In `auto` mode CUDA-capable binaries are tried first and probed (driver, devices,
 * compute capability against the compiled archs); a CUDA binary without a usable GPU
 * runs its CPU path. In `cpu` mode CPU-only binaries come first. Every failed attempt
 * is kept, so one error can list every cause and its fix.
 *
 * @packageDocumentation
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BuildInfo, CpuInfo, NativeBinding, ProbeResult } from './binding';
import { BitgradError, DeviceError, OutOfMemoryError, ValidationError } from './errors';

/** Backend selection: `auto` picks CUDA when a usable GPU exists. */
export type BackendRequest = 'auto' | 'cpu' | 'cuda';

/** Options of {@link configure}; environment variables give the defaults. */
export interface LoadOptions {
  /** `BITGRAD_BACKEND`; default `auto`. */
  backend?: BackendRequest;
  /** `BITGRAD_REQUIRE_GPU=1`: fail instead of falling back to the CPU. */
  requireGpu?: boolean;
  /** `BITGRAD_BINARY`: path of a .node file to load instead of searching. */
  binary?: string;
}

/** One binary the loader tried. */
export interface LoadAttempt {
  /** Path of the .node file. */
  binary: string;
  /** Why it was not used, or `loaded`. */
  outcome: string;
}

/** What {@link backend} reports: the backend chosen, why, and what was found. */
export interface BackendReport {
  /** The backend ops run on by default. */
  name: 'cpu' | 'cuda';
  /** Why this backend was chosen (and, for `cpu`, why CUDA was not). */
  reason: string;
  /** What was asked for. */
  requested: BackendRequest;
  /** Whether a missing GPU is an error. */
  requireGpu: boolean;
  /** The .node file in use. */
  binary: string;
  /** Package version of the binary. */
  version: string;
  /** Node-API version the binary targets, and the one this Node provides. */
  napiVersion: number;
  /** Node-API version of the running Node. */
  nodeNapiVersion: number;
  /** CUDA facts: compiled in, driver and runtime versions, devices, compiled archs. */
  cuda: ProbeResult;
  /** CPU facts: SIMD path chosen at run time, and threads. */
  cpu: CpuInfo;
  /** Every binary tried, in order. */
  attempts: LoadAttempt[];
}

interface Loaded {
  binding: NativeBinding;
  report: BackendReport;
}

const REQUIRED_NAPI = 8;
let options: LoadOptions = {};
let loaded: Loaded | null = null;

function readEnvRequest(): BackendRequest {
  const v = (process.env.BITGRAD_BACKEND ?? 'auto').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'cpu' || v === 'cuda') return v;
  throw new ValidationError(`BITGRAD_BACKEND must be auto, cpu or cuda (got "${v}")`, 'BITGRAD_INVALID_ENV');
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/**
 * Sets how the native binary is chosen. Must run before the first op (or call
 * {@link reset} first, which tests do). Options override environment variables.
 */
export function configure(opts: LoadOptions): void {
  if (opts === null || typeof opts !== 'object') throw new ValidationError('configure() takes an options object', 'BITGRAD_INVALID_ARGUMENT');
  if (opts.backend !== undefined && !['auto', 'cpu', 'cuda'].includes(opts.backend))
    throw new ValidationError(`backend must be auto, cpu or cuda (got ${String(opts.backend)})`, 'BITGRAD_INVALID_ARGUMENT');
  if (loaded) throw new ValidationError('configure() must be called before the first op (the backend is already chosen)', 'BITGRAD_ALREADY_LOADED');
  options = { ...opts };
}

/**
 * Forgets the chosen backend so the next op loads again (tests; a binary already
 * loaded into the process stays mapped and is reused).
 * @internal
 */
export function reset(): void {
  loaded = null;
  options = {};
}

function packageRoot(): string {
  // lib/ (ts-jest) and dist/ (compiled) both sit one level below the package root.
  return path.resolve(__dirname, '..');
}

function listNodeFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.node'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function isCudaName(file: string): boolean {
  return /cuda/i.test(path.basename(file));
}

/** Candidate binaries in the order they are tried. @internal */
export function candidates(request: BackendRequest, explicit?: string): string[] {
  if (explicit) return [path.resolve(explicit)];
  const root = packageRoot();
  const found = [
    ...listNodeFiles(path.join(root, 'build-cmake', 'Release')),
    ...listNodeFiles(path.join(root, 'build', 'Release')),
    ...listNodeFiles(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)),
  ];
  const unique = [...new Set(found)];
  // Stable partition: CUDA-capable first unless the CPU was asked for.
  const cuda = unique.filter(isCudaName);
  const cpu = unique.filter((f) => !isCudaName(f));
  return request === 'cpu' ? [...cpu, ...cuda] : [...cuda, ...cpu];
}

function describeLoadError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/GLIBC_|GLIBCXX_/.test(msg)) return `${msg} (this system's C library is older than the build machine's; build from source: npm rebuild bitgrad)`;
  if (/invalid ELF|wrong ELF class|not a valid Win32|mach-o/i.test(msg)) return `${msg} (binary for another platform)`;
  return msg;
}

function load(): Loaded {
  const request = options.backend ?? readEnvRequest();
  const requireGpu = options.requireGpu ?? truthy(process.env.BITGRAD_REQUIRE_GPU);
  const explicit = options.binary ?? (process.env.BITGRAD_BINARY || undefined);
  const nodeNapi = Number(process.versions.napi ?? 0);
  if (nodeNapi < REQUIRED_NAPI) {
    throw new BitgradError(
      `bitgrad needs Node-API ${REQUIRED_NAPI} (Node >= 20.17); this Node (${process.version}) provides ${nodeNapi}`,
      'BITGRAD_NODE_TOO_OLD',
    );
  }
  const attempts: LoadAttempt[] = [];
  const files = candidates(request, explicit);
  for (const file of files) {
    if (!fs.existsSync(file)) {
      attempts.push({ binary: file, outcome: 'file not found' });
      continue;
    }
    let binding: NativeBinding;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = require(file) as NativeBinding;
      binding.init({ BitgradError, ValidationError, DeviceError, OutOfMemoryError });
    } catch (err) {
      attempts.push({ binary: file, outcome: `failed to load: ${describeLoadError(err)}` });
      continue;
    }
    attempts.push({ binary: file, outcome: 'loaded' });
    return { binding, report: decide(binding, file, request, requireGpu, nodeNapi, attempts) };
  }
  const lines = attempts.length
    ? attempts.map((a) => `  - ${a.binary}: ${a.outcome}`).join('\n')
    : `  - no .node file in build-cmake/Release, build/Release or prebuilds/${process.platform}-${process.arch}`;
  throw new BitgradError(
    `bitgrad could not load a native binary for ${process.platform}-${process.arch} (Node ${process.version}).\n` +
      `Tried:\n${lines}\n` +
      'Fixes: install a release that ships a prebuild for this platform; or build from source ' +
      '(a C++17 compiler and CMake: `npm run build:native` in a clone, or `npm rebuild bitgrad --foreground-scripts` ' +
      'with install scripts allowed); or point BITGRAD_BINARY at a built bitgrad .node file.',
    'BITGRAD_LOAD_FAILED',
  );
}

function decide(
  binding: NativeBinding,
  file: string,
  request: BackendRequest,
  requireGpu: boolean,
  nodeNapi: number,
  attempts: LoadAttempt[],
): BackendReport {
  const build: BuildInfo = binding.buildInfo();
  const probe = binding.probe();
  const cpu = binding.cpuInfo();
  let name: 'cpu' | 'cuda' = 'cpu';
  let reason: string;
  if (request === 'cpu') {
    reason = 'CPU requested (BITGRAD_BACKEND=cpu or backend option)';
  } else if (!build.cuda) {
    reason = `CUDA not used: ${probe.reason}`;
  } else if (!probe.usable) {
    reason = `CUDA not used: ${probe.reason}`;
  } else {
    name = 'cuda';
    const d = probe.devices.find((x) => x.archCompatible) ?? probe.devices[0];
    reason = `usable GPU: ${d.name} (sm_${d.computeCapability.replace('.', '')}), driver ${probe.driverVersion}`;
  }
  const report: BackendReport = {
    name,
    reason,
    requested: request,
    requireGpu,
    binary: file,
    version: build.version,
    napiVersion: build.napiVersion,
    nodeNapiVersion: nodeNapi,
    cuda: probe,
    cpu,
    attempts,
  };
  if (name !== 'cuda' && (requireGpu || request === 'cuda')) {
    const why = request === 'cuda' ? 'BITGRAD_BACKEND=cuda' : 'BITGRAD_REQUIRE_GPU';
    throw new DeviceError(
      `${why} is set but no usable GPU: ${reason}. Binary: ${file}.` +
        (build.cuda ? '' : ' This binary has no CUDA code: use the CUDA-capable prebuild or build with a CUDA toolkit.'),
      'BITGRAD_NO_GPU',
    );
  }
  return report;
}

/** The loaded binding and report, loading on first use. @internal */
export function native(): Loaded {
  if (!loaded) loaded = load();
  return loaded;
}

// Loader: backend choice, environment overrides, strict mode, load failures.
import * as path from 'path';
import * as bitgrad from '../lib';
import { candidates, configure, reset } from '../lib/loader';
import { thrown } from './helpers';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  reset();
});

const hasGpu = (() => {
  try {
    return bitgrad.backend().name === 'cuda';
  } finally {
    reset();
  }
})();

test('reports the backend, why, and every binary tried', () => {
  const r = bitgrad.backend();
  expect(['cpu', 'cuda']).toContain(r.name);
  expect(r.reason.length).toBeGreaterThan(5);
  expect(r.requested).toBe('auto');
  expect(r.attempts[r.attempts.length - 1]).toEqual({ binary: r.binary, outcome: 'loaded' });
  expect(['scalar', 'avx2', 'avx512']).toContain(r.cpu.simd);
  expect(r.cpu.threads).toBeGreaterThanOrEqual(1);
  expect(r.napiVersion).toBe(8);
  expect(r.nodeNapiVersion).toBeGreaterThanOrEqual(8);
  if (!hasGpu) {
    // Either a CPU-only binary, or the CUDA binary whose probe explains the missing GPU.
    expect(r.reason).toMatch(/^CUDA not used: /);
    if (r.cuda.compiled) {
      expect(r.cuda.usable).toBe(false);
      expect(r.cuda.errorCode).toMatch(/^cuda/);
      expect(r.cuda.compiledArchs.length).toBeGreaterThan(0);
    }
  }
});

test('CUDA-capable binaries are tried first in auto mode, CPU-only first in cpu mode', () => {
  const auto = candidates('auto');
  const cpu = candidates('cpu');
  expect(new Set(auto)).toEqual(new Set(cpu));
  const firstCpu = auto.findIndex((f) => !/cuda/i.test(path.basename(f)));
  const lastCuda = auto.map((f) => /cuda/i.test(path.basename(f))).lastIndexOf(true);
  if (firstCpu >= 0 && lastCuda >= 0) expect(lastCuda).toBeLessThan(firstCpu);
  if (cpu.some((f) => !/cuda/i.test(path.basename(f)))) expect(/cuda/i.test(path.basename(cpu[0]))).toBe(false);
});

test('BITGRAD_BACKEND=cpu chooses the CPU and says so', () => {
  process.env.BITGRAD_BACKEND = 'cpu';
  const r = bitgrad.backend();
  expect(r.name).toBe('cpu');
  expect(r.requested).toBe('cpu');
  expect(r.reason).toMatch(/CPU requested/);
});

test('configure() overrides the environment and must come first', () => {
  process.env.BITGRAD_BACKEND = 'cuda';
  configure({ backend: 'cpu' });
  expect(bitgrad.backend().name).toBe('cpu');
  expect(thrown(() => configure({ backend: 'auto' })).code).toBe('BITGRAD_ALREADY_LOADED');
  reset();
  expect(thrown(() => configure({ backend: 'gpu' as never })).code).toBe('BITGRAD_INVALID_ARGUMENT');
});

test('an unknown BITGRAD_BACKEND is a coded error', () => {
  process.env.BITGRAD_BACKEND = 'tpu';
  const e = thrown(() => bitgrad.backend());
  expect(e).toBeInstanceOf(bitgrad.ValidationError);
  expect(e.code).toBe('BITGRAD_INVALID_ENV');
});

(hasGpu ? test.skip : test)('strict mode: BITGRAD_REQUIRE_GPU=1 without a GPU is an error, not a CPU fallback', () => {
  process.env.BITGRAD_REQUIRE_GPU = '1';
  const e = thrown(() => bitgrad.backend());
  expect(e).toBeInstanceOf(bitgrad.DeviceError);
  expect(e.code).toBe('BITGRAD_NO_GPU');
  expect(e.message).toMatch(/BITGRAD_REQUIRE_GPU/);
  reset();
  process.env.BITGRAD_REQUIRE_GPU = '0';
  expect(bitgrad.backend().name).toBe('cpu');
  reset();
  configure({ requireGpu: true });
  expect(thrown(() => bitgrad.backend()).code).toBe('BITGRAD_NO_GPU');
  reset();
  process.env.BITGRAD_REQUIRE_GPU = '';
  process.env.BITGRAD_BACKEND = 'cuda';
  expect(thrown(() => bitgrad.backend()).code).toBe('BITGRAD_NO_GPU');
});

test('a missing or broken binary gives one error listing every cause and fix', () => {
  process.env.BITGRAD_BINARY = '/nonexistent/bitgrad.node';
  const e = thrown(() => bitgrad.backend());
  expect(e).toBeInstanceOf(bitgrad.BitgradError);
  expect(e.code).toBe('BITGRAD_LOAD_FAILED');
  expect(e.message).toMatch(/\/nonexistent\/bitgrad.node: file not found/);
  expect(e.message).toMatch(/Fixes:/);
  reset();
  configure({ binary: path.join(__dirname, '..', 'package.json') });
  const e2 = thrown(() => bitgrad.losses.bceWithLogitsSync(Float32Array.of(0), Float32Array.of(0)));
  expect(e2.code).toBe('BITGRAD_LOAD_FAILED');
  expect(e2.message).toMatch(/failed to load/);
});

test('repeated require of the package reuses the loaded binary', () => {
  let a: typeof bitgrad | undefined;
  let b: typeof bitgrad | undefined;
  jest.isolateModules(() => {
    a = require('../lib');
  });
  jest.isolateModules(() => {
    b = require('../lib');
  });
  for (const m of [a!, b!]) {
    const r = m.losses.bceWithLogitsSync(Float32Array.of(0), Float32Array.of(1));
    expect(r.loss).toBeCloseTo(Math.log(2), 6);
  }
});

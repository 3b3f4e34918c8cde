// Shared scaffolding of the bench/*.js scripts (never asserted in tests): command-line
// options, the built facade, the commit and machine metadata of a result, seeded inputs,
// memcpy bandwidth, best-of-N and benchmark.js timing, the PyTorch peer scripts in
// bench/peers/, and the JSON result file.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execSync, spawnSync } = require('child_process');

/** The repository root. */
const root = path.join(__dirname, '..');

/** The value after `name` on the command line (`--n 1e6` -> '1e6'), or `dflt`. */
function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** Whether the bare switch `name` (`--quick`) is on the command line. */
function flag(name) {
  return process.argv.includes(name);
}

/** The built facade: $BITGRAD_DIST, else dist/index.js (the addon itself: $BITGRAD_BINARY). */
function loadBitgrad() {
  return require(process.env.BITGRAD_DIST || path.join(root, 'dist', 'index.js'));
}

/** Default path of a result file: bench/results/<name>. */
function resultPath(name) {
  return path.join(root, 'bench', 'results', name);
}

/** Throws the `--gpu` error unless bitgrad `b` runs on CUDA. */
function requireGpu(b) {
  const report = b.backend();
  if (report.name !== 'cuda') throw new Error(`--gpu needs a usable GPU: ${report.reason}`);
  return report;
}

/** Short hash of HEAD, or `fallback` outside a git checkout ($BITGRAD_COMMIT, else 'unknown'). */
function commit(fallback = process.env.BITGRAD_COMMIT || 'unknown') {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return fallback;
  }
}

// x86 family/model → core generation, for the CPUs this project is measured on (a VM's
// model name often says only "AMD EPYC"; Zen 4 splits 512-bit operations, Zen 5 does not).
function microarch(vendor, family, model) {
  if (vendor !== 'AuthenticAMD') return undefined;
  if (family === 25) return model >= 0x10 && model <= 0x1f ? 'Zen 4 (Genoa)' : model >= 0x60 ? 'Zen 4' : 'Zen 3';
  if (family === 26) return 'Zen 5';
  return undefined;
}

/**
 * { cpu: model name, cores: logical CPU count } plus, on Linux x86, the CPUID family and
 * model, the core generation they name, and whether AVX-512 VPOPCNTDQ is there.
 */
function cpuInfo() {
  const cpus = os.cpus();
  // nodeFlags: bench scripts run with --single-threaded-gc (package.json), because on a
  // 2-vCPU machine V8's concurrent GC threads otherwise take the second core in the
  // middle of 2-thread measurements.
  const info = { cpu: cpus[0] && cpus[0].model, cores: cpus.length, nodeFlags: process.execArgv.join(' ') };
  try {
    const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k) => (new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(text) || [])[1];
    const family = Number(field('cpu family'));
    const model = Number(field('model'));
    if (Number.isFinite(family) && Number.isFinite(model)) {
      Object.assign(info, { family, model, microarch: microarch(field('vendor_id'), family, model) });
      info.avx512vpopcntdq = /\bavx512_vpopcntdq\b/.test(field('flags') || '');
    }
  } catch {
    /* not Linux: model name and count only */
  }
  return info;
}

/**
 * The `machine` block of a result: cpu, cores, [memoryGiB,] node, simd path and GPU names,
 * from bitgrad's backend report `report` (b.backend()).
 */
function machine(report, { memory = false } = {}) {
  return {
    ...cpuInfo(),
    ...(memory ? { memoryGiB: Math.round(os.totalmem() / 2 ** 30) } : {}),
    node: process.version,
    simd: report.cpu.simd,
    gpu: report.cuda.devices.map((d) => d.name),
  };
}

// Linear congruential generators of the seeded inputs: [multiplier, increment] mod 2^32.
const LCG = { glibc: [1103515245, 12345], numrec: [1664525, 1013904223] };

/** `count` float32 values uniform in [lo, hi) from a 32-bit LCG seeded with `seed`. */
function uniform(count, seed, lo, hi, lcg = 'glibc') {
  const [a, c] = LCG[lcg];
  const out = new Float32Array(count);
  const span = hi - lo;
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, a) + c) >>> 0;
    out[i] = (s / 4294967296) * span + lo;
  }
  return out;
}

/** Seeded loss inputs: logits x uniform in [-8, 8), soft targets y = (i mod 8) / 7. */
function lossData(count) {
  const x = uniform(count, 12345, -8, 8);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) y[i] = (i & 7) / 7;
  return { x, y };
}

/**
 * BCE-with-logits fwd+grad, mean, as a plain loop the way a TypeScript user would write it
 * (float64 math): the plain-JavaScript peer. Writes the gradient into `grad`, returns the loss.
 */
function jsBce(x, y, grad) {
  const count = x.length;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const xi = x[i];
    const yi = y[i];
    const e = Math.exp(-Math.abs(xi));
    sum += (1 - yi) * xi + Math.max(-xi, 0) + Math.log1p(e);
    const s = xi >= 0 ? 1 / (1 + e) : e / (1 + e);
    grad[i] = (s - yi) / count;
  }
  return sum / count;
}

/**
 * memcpy source and destination of `bytes` each, both written first: an untouched
 * zero-filled source is backed by the kernel's shared zero page, which reads from cache
 * and would overstate the bandwidth.
 */
function copyBuffers(bytes) {
  const src = new Uint8Array(bytes).fill(0x5a);
  const dst = new Uint8Array(bytes).fill(1);
  return { src, dst };
}

/**
 * A runSuite case timing a memcpy (TypedArray.set, one thread) of `bytes`, counted as
 * 2 x bytes moved (read + write); named `memcpy <bytes> B (<label>)`; `extra` is merged in.
 */
function memcpyCase(bytes, label, extra = {}) {
  const { src, dst } = copyBuffers(bytes);
  return { ...extra, name: `memcpy ${bytes} B${label ? ` (${label})` : ''}`, fn: () => dst.set(src), elements: 0, bytes: 2 * bytes };
}

/**
 * Best seconds of `fn()` over `reps` timed runs after one untimed warm-up; `after(result)`
 * (say, dispose) runs after each call, outside the timing.
 */
function bestTime(fn, reps, after) {
  const warm = fn();
  if (after) after(warm);
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const out = fn();
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    if (after) after(out);
    if (t < best) best = t;
  }
  return best;
}

/** Single-thread memcpy of `bytes` (written buffers), best of `reps`: { seconds, gbPerSec } (read + write). */
function measureMemcpy(bytes, reps) {
  const { src, dst } = copyBuffers(bytes);
  const seconds = bestTime(() => dst.set(src), reps);
  return { seconds, gbPerSec: (2 * bytes) / seconds / 1e9 };
}

/**
 * memcpy on `threads` threads at once (worker_threads, each copying its share of `bytes`
 * between its own buffers), best of `reps` rounds started together: { seconds, gbPerSec }
 * (read + write counted). The bound for memory-bound kernels on that many cores.
 */
function measureMemcpyThreads(bytes, threads, reps) {
  const { Worker } = require('worker_threads');
  const sync = new Int32Array(new SharedArrayBuffer(8)); // [0] round to run, [1] done count
  const share = Math.floor(bytes / threads / 4) * 4;
  const src = `
    const { workerData: { sync, share, reps } } = require('worker_threads');
    const a = new Float32Array(share / 4).fill(1), b = new Float32Array(share / 4).fill(2);
    b.set(a);
    Atomics.add(sync, 1, 1);
    for (let r = 1; r <= reps; r++) {
      Atomics.wait(sync, 0, r - 1);
      b.set(a);
      Atomics.add(sync, 1, 1);
    }`;
  const workers = [];
  for (let t = 0; t < threads; t++) workers.push(new Worker(src, { eval: true, workerData: { sync, share, reps } }));
  const waitDone = (n) => {
    while (Atomics.load(sync, 1) < n) Atomics.wait(sync, 1, Atomics.load(sync, 1), 1);
  };
  waitDone(threads); // warmed up
  let best = Infinity;
  for (let r = 1; r <= reps; r++) {
    const t0 = process.hrtime.bigint();
    Atomics.store(sync, 0, r);
    Atomics.notify(sync, 0);
    waitDone(threads * (r + 1));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s < best) best = s;
  }
  for (const w of workers) w.terminate();
  return { seconds: best, gbPerSec: (2 * share * threads) / best / 1e9 };
}

/**
 * Runs benchmark.js cases; resolves to one result row each, in order. A case:
 * { name, fn, key?, defer?, setup?, elements, bytes, slow? (3 samples, no time budget),
 * scale? (mean multiplied by it, for a timed subset), note? }. `maxTime`: seconds per case.
 */
function runSuite(cases, { maxTime }) {
  const Benchmark = require('benchmark');
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite();
    for (const c of cases)
      suite.add(c.name, c.fn, { defer: !!c.defer, maxTime: c.slow ? 0 : maxTime, minSamples: c.slow ? 3 : 5, onStart: c.setup });
    const results = [];
    suite.on('cycle', (ev) => {
      const t = ev.target;
      const c = cases.find((k) => k.name === t.name);
      const sec = t.stats.mean * (c.scale || 1);
      results.push({
        name: t.name,
        key: c.key,
        meanMs: +(sec * 1e3).toFixed(4),
        rmePct: +t.stats.rme.toFixed(2),
        samples: t.stats.sample.length,
        elements: c.elements,
        bytes: c.bytes,
        elementsPerSec: c.elements ? Math.round(c.elements / sec) : undefined,
        gbPerSec: c.bytes ? +(c.bytes / sec / 1e9).toFixed(2) : undefined,
        ...(c.note ? { note: c.note } : {}),
      });
      console.log(String(t) + (c.scale ? `  (x${c.scale} -> ${(sec * 1e3).toFixed(1)} ms extrapolated)` : ''));
    });
    suite.on('complete', () => resolve(results));
    suite.run({ async: true });
  });
}

/** The Python of the PyTorch peers: $BITGRAD_TORCH_PYTHON, else $BITGRAD_PYTHON, else `dflt`. */
function peerPython(dflt = '/usr/bin/python3') {
  return process.env.BITGRAD_TORCH_PYTHON || process.env.BITGRAD_PYTHON || dflt;
}

/**
 * Runs bench/peers/<script> with `args` and returns the last line of its stdout parsed as
 * JSON, or on failure { error: the last line of stderr (else the spawn error, else the exit
 * status), stderrTail: the last 300 characters of stderr (else the spawn error) }.
 * With `--threads N` in args, the BLAS and OpenMP pools get N threads too: Debian's
 * torch calls OpenBLAS (pthread build), which sizes its own pool from the cores and
 * ignores torch.set_num_threads, so a "1-thread" torch.mm ran on 2 cores before.
 */
function runPeer(script, args = [], { python = peerPython(), timeout } = {}) {
  const env = { ...process.env };
  const ti = args.indexOf('--threads');
  if (ti >= 0 && args[ti + 1] !== undefined)
    for (const k of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) env[k] = String(args[ti + 1]);
  const r = spawnSync(python, [path.join(__dirname, 'peers', script), ...args], { encoding: 'utf8', timeout, env });
  if (r.status !== 0) {
    const error = (r.stderr || (r.error && r.error.message) || `exit ${r.status}`).toString().trim().split('\n').pop();
    return { error, stderrTail: (r.stderr || String(r.error)).slice(-300) };
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Writes `data` as 2-space JSON to `file` (making its folder) and, unless `log` is false,
 * prints `wrote <file>` (the path relative to the root with `relative`).
 */
function writeJson(file, data, { log = true, relative = false } = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  if (log) console.log(`wrote ${relative ? path.relative(root, file) : file}`);
}

/** Runs the async `main` and exits 1 on an error, printing it. */
function main(fn) {
  fn().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = {
  root,
  arg,
  flag,
  loadBitgrad,
  resultPath,
  requireGpu,
  commit,
  cpuInfo,
  machine,
  uniform,
  lossData,
  jsBce,
  copyBuffers,
  memcpyCase,
  bestTime,
  measureMemcpy,
  measureMemcpyThreads,
  runSuite,
  peerPython,
  runPeer,
  writeJson,
  main,
};

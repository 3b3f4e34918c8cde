#!/usr/bin/env node
// Benchmarks (never asserted in tests). Prints a table and writes JSON.
//   node bench/benchmark.js [--gpu] [--n 1e7] [--out file.json] [--quick]
// CPU: bceWithLogits fwd+grad (mean) on n elements with 1 and all threads, against a
// plain JavaScript loop and against the memory-bandwidth floor (12 bytes per element:
// read logits and targets, write the gradient) from a measured memcpy.
// --gpu: the same op on cuda:0 against a measured device-to-device copy.
'use strict';
const Benchmark = require('benchmark');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execSync } = require('child_process');

const root = path.join(__dirname, '..');
const b = require(process.env.BITGRAD_DIST || path.join(root, 'dist', 'index.js'));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const quick = process.argv.includes('--quick');
const gpu = process.argv.includes('--gpu');
const n = Math.round(Number(arg('--n', gpu ? '1e8' : '1e7')));
const outFile = arg('--out', path.join(root, 'bench', 'results', gpu ? 'bench-gpu.json' : 'bench-cpu.json'));
const maxTime = quick ? 0.5 : 2;

function commit() {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.env.BITGRAD_COMMIT || 'unknown';
  }
}

function data(count) {
  const x = new Float32Array(count);
  const y = new Float32Array(count);
  let s = 12345;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = (s / 4294967296) * 16 - 8;
    y[i] = (i & 7) / 7;
  }
  return { x, y };
}

// Plain loop, float64 math, as a TypeScript user would write it.
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

// PyTorch CPU (Debian's python3-torch) on the same n and thread count, when installed.
function torchPeer(count, threads) {
  const { spawnSync } = require('child_process');
  const py = process.env.BITGRAD_TORCH_PYTHON || '/usr/bin/python3';
  const r = spawnSync(py, [path.join(__dirname, 'peers', 'torch_bce.py'), String(count), '--cpu', '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`PyTorch peer not available (${(r.stderr || r.error || '').toString().trim().split('\n').pop()})`);
    return null;
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(`${j.peer} binary_cross_entropy_with_logits fwd+bwd n=${count}: median ${j.medianMs.toFixed(2)} ms (${j.threads} threads)`);
  return j;
}

function runSuite(cases) {
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite();
    for (const c of cases) suite.add(c.name, c.fn, { defer: !!c.defer, maxTime, minSamples: 5, onStart: c.setup });
    const results = [];
    suite.on('cycle', (ev) => {
      const t = ev.target;
      const c = cases.find((k) => k.name === t.name);
      const sec = t.stats.mean;
      results.push({
        name: t.name,
        meanMs: +(sec * 1e3).toFixed(4),
        rmePct: +t.stats.rme.toFixed(2),
        samples: t.stats.sample.length,
        elements: c.elements,
        bytes: c.bytes,
        elementsPerSec: c.elements ? Math.round(c.elements / sec) : undefined,
        gbPerSec: c.bytes ? +(c.bytes / sec / 1e9).toFixed(2) : undefined,
      });
      console.log(String(t));
    });
    suite.on('complete', () => resolve(results));
    suite.run({ async: true });
  });
}

// Estimator backward (binarize.*.backwardSync with `into`) on 64 MiB of floats: reads x
// and g, writes dx (12 bytes per element), against a memcpy of the same 64 MiB measured
// in the same run (8 bytes per element moved), with 1 and 2 threads.
async function estimatorBench() {
  const m = 16 * 1024 * 1024;
  const { x } = data(m);
  const g = new Float32Array(m).fill(0.5);
  const dx = new Float32Array(m);
  const src = new Uint8Array(4 * m);
  const dst = new Uint8Array(4 * m);
  const names = ['ste', 'approxSign', 'swishSign', 'reste', 'biper', 'ede', 'fda'];
  const cases = [{ name: `memcpy ${4 * m} B (estimators)`, fn: () => dst.set(src), elements: 0, bytes: 8 * m }];
  for (const t of [1, 2])
    for (const e of names)
      cases.push({ name: `binarize.${e}.backwardSync n=${m} (${t} thread${t > 1 ? 's' : ''})`, fn: () => { b.setNumThreads(t); b.binarize[e].backwardSync(x, g, { into: dx }); }, elements: m, bytes: 12 * m });
  cases.push({ name: `binarize.rsign.backwardSync n=${m} [64,64,64,64] (2 threads)`, fn: () => { b.setNumThreads(2); b.binarize.rsign.backwardSync(x, g, { alpha: new Float32Array(64), shape: [64, 64, 64, 64], into: dx }); }, elements: m, bytes: 12 * m });
  const results = await runSuite(cases);
  b.setNumThreads(os.cpus().length);
  const mc = results[0].gbPerSec;
  const ratios = {};
  for (const e of names) {
    const one = results.find((r) => r.name === `binarize.${e}.backwardSync n=${m} (1 thread)`);
    const two = results.find((r) => r.name === `binarize.${e}.backwardSync n=${m} (2 threads)`);
    ratios[e] = { fractionOfMemcpy1Thread: +(one.gbPerSec / mc).toFixed(3), fractionOfMemcpy2Threads: +(two.gbPerSec / mc).toFixed(3), twoThreadsVsOne: +(one.meanMs / two.meanMs).toFixed(2) };
  }
  ratios.rsign = { fractionOfMemcpy2Threads: +(results[results.length - 1].gbPerSec / mc).toFixed(3) };
  return { results, ratios };
}

// binarize.packSync on 64 MiB of floats (reads 4 bytes, writes 1 bit per element),
// NHWC and NCHW input, 1 and 2 threads, against a memcpy of the same 64 MiB measured
// in the same run.
async function packBench() {
  const m = 16 * 1024 * 1024;
  const { x } = data(m);
  const src = new Uint8Array(4 * m);
  const dst = new Uint8Array(4 * m);
  const bytes = 4 * m + m / 8;
  const shapes = { nhwc: [16, 64, 64, 256], nchw: [16, 256, 64, 64] };
  const run = (inputLayout, t) => () => { b.setNumThreads(t); b.binarize.packSync(x, { layout: 'nhwc', inputLayout, shape: shapes[inputLayout] }).dispose(); };
  const cases = [{ name: `memcpy ${4 * m} B (pack)`, fn: () => dst.set(src), elements: 0, bytes: 8 * m }];
  for (const inputLayout of ['nhwc', 'nchw'])
    for (const t of [1, 2]) cases.push({ name: `binarize.packSync ${inputLayout} [${shapes[inputLayout]}] (${t} thread${t > 1 ? 's' : ''})`, fn: run(inputLayout, t), elements: m, bytes });
  cases.push({ name: `binarize.pack (async) nhwc [${shapes.nhwc}] (2 threads)`, defer: true, fn: (d) => { b.setNumThreads(2); b.binarize.pack(x, { layout: 'nhwc', shape: shapes.nhwc }).then((bt) => { bt.dispose(); d.resolve(); }); }, elements: m, bytes });
  const results = await runSuite(cases);
  b.setNumThreads(os.cpus().length);
  const mc = results[0].gbPerSec;
  const ratios = {};
  for (const inputLayout of ['nhwc', 'nchw']) {
    const one = results.find((r) => r.name.startsWith(`binarize.packSync ${inputLayout}`) && r.name.endsWith('(1 thread)'));
    const two = results.find((r) => r.name.startsWith(`binarize.packSync ${inputLayout}`) && r.name.endsWith('(2 threads)'));
    ratios[inputLayout] = { fractionOfMemcpy1Thread: +(one.gbPerSec / mc).toFixed(3), fractionOfMemcpy2Threads: +(two.gbPerSec / mc).toFixed(3), twoThreadsVsOne: +(one.meanMs / two.meanMs).toFixed(2) };
  }
  return { results, ratios };
}

// binarize.pack on a 64 MiB cuda:0 tensor (NHWC and NCHW) against a device copy of it.
async function packBenchGpu() {
  const m = 16 * 1024 * 1024;
  const xt = b.tensor(data(m).x, [m], { device: 'cuda:0' });
  const shapes = { nhwc: [16, 64, 64, 256], nchw: [16, 256, 64, 64] };
  const cases = [{ name: `device copy ${4 * m} B (pack)`, fn: () => { const t = xt.to('cuda:0'); b.synchronize('cuda:0'); t.dispose(); }, elements: 0, bytes: 8 * m }];
  for (const inputLayout of ['nhwc', 'nchw'])
    cases.push({ name: `binarize.pack cuda ${inputLayout} [${shapes[inputLayout]}]`, defer: true, fn: (d) => b.binarize.pack(xt, { layout: 'nhwc', inputLayout, shape: shapes[inputLayout] }).then((bt) => { bt.dispose(); d.resolve(); }), elements: m, bytes: 4 * m + m / 8 });
  const results = await runSuite(cases);
  xt.dispose();
  const copy = results[0].gbPerSec;
  return { results, ratios: { nhwcFractionOfDeviceCopy: +(results[1].gbPerSec / copy).toFixed(3), nchwFractionOfDeviceCopy: +(results[2].gbPerSec / copy).toFixed(3) } };
}

// Elementwise losses (losses.binaryCrossEntropySync ... marginBceSync) fwd+grad with
// 'mean' and gradInto on n elements (read input and target, write the gradient: 12 bytes
// per element), all threads, against a memcpy of 12 n bytes measured in the same run.
async function elementwiseLossBench() {
  const threads = os.cpus().length;
  const { x, y } = data(n);
  const p = Float32Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
  const pm = Float32Array.from(y, (v) => 2 * v - 1);
  const lq = Float32Array.from(p, (v) => Math.log(v));
  const grad = new Float32Array(n);
  const src = new Uint8Array(12 * n);
  const dst = new Uint8Array(12 * n);
  const losses = [
    ['binaryCrossEntropy', p, y, {}],
    ['sigmoidFocalLoss', x, y, { reduction: 'mean' }],
    ['sigmoidFocalLoss gamma=1.5', x, y, { reduction: 'mean', gamma: 1.5 }],
    ['softMarginLoss', x, pm, {}],
    ['hingeEmbeddingLoss', x, pm, {}],
    ['klDiv', lq, y, { reduction: 'batchmean' }],
    ['marginBce', x, y, { margin: 0.4 }],
  ];
  const cases = [{ name: `memcpy ${12 * n} B (losses)`, fn: () => dst.set(src), elements: 0, bytes: 2 * 12 * n }];
  for (const [name, a, t, o] of losses) {
    const f = b.losses[`${name.split(' ')[0]}Sync`];
    cases.push({ name: `losses.${name} fwd+grad n=${n} (${threads} threads, gradInto)`, fn: () => { b.setNumThreads(threads); f(a, t, { ...o, gradInto: grad }); }, elements: n, bytes: 12 * n });
  }
  const results = await runSuite(cases);
  const mc = results[0].gbPerSec;
  const ratios = {};
  losses.forEach(([name], i) => { ratios[name] = { fractionOfMemcpy: +(results[i + 1].gbPerSec / mc).toFixed(3), meanMs: +results[i + 1].meanMs.toFixed(2) }; });
  return { results, ratios };
}

async function cpu() {
  const { x, y } = data(n);
  const big = new Uint8Array(12 * n);
  const big2 = new Uint8Array(12 * n);
  const grad = new Float32Array(n);
  const threads = os.cpus().length;
  const cases = [
    { name: `memcpy ${12 * n} B`, fn: () => big2.set(big), elements: 0, bytes: 2 * 12 * n },
    { name: `bitgrad bceWithLogitsSync fwd+grad n=${n} (1 thread)`, setup: () => b.setNumThreads(1), fn: () => { b.setNumThreads(1); b.losses.bceWithLogitsSync(x, y); }, elements: n, bytes: 12 * n },
    { name: `bitgrad bceWithLogitsSync fwd+grad n=${n} (${threads} threads)`, fn: () => { b.setNumThreads(threads); b.losses.bceWithLogitsSync(x, y); }, elements: n, bytes: 12 * n },
    { name: `bitgrad bceWithLogitsSync fwd+grad n=${n} (${threads} threads, gradInto reused)`, fn: () => { b.setNumThreads(threads); b.losses.bceWithLogitsSync(x, y, { gradInto: grad }); }, elements: n, bytes: 12 * n },
    { name: `bitgrad bceWithLogitsSync fwd+grad n=${n} (1 thread, gradInto reused)`, fn: () => { b.setNumThreads(1); b.losses.bceWithLogitsSync(x, y, { gradInto: grad }); }, elements: n, bytes: 12 * n },
    { name: `bitgrad bceWithLogits (async) fwd+grad n=${n} (${threads} threads)`, defer: true, fn: (d) => { b.setNumThreads(threads); b.losses.bceWithLogits(x, y).then(() => d.resolve()); }, elements: n, bytes: 12 * n },
    { name: `plain JavaScript loop fwd+grad n=${n}`, fn: () => jsBce(x, y, grad), elements: n, bytes: 12 * n },
  ];
  const results = await runSuite(cases);
  b.setNumThreads(threads);
  const by = (p) => results.find((r) => r.name.startsWith(p));
  const memcpy = results[0];
  const one = results[1];
  const all = results[2];
  const allInto = results[3];
  const oneInto = results[4];
  const js = by('plain JavaScript');
  const torch = torchPeer(n, threads);
  if (torch) results.push({ name: torch.peer, meanMs: torch.medianMs, elements: n, bytes: 12 * n, note: 'median, same n, same threads' });
  return {
    results,
    ratios: {
      ...(torch ? { bitgradVsTorchCpu: +(torch.medianMs / all.meanMs).toFixed(2), bitgradGradIntoVsTorchCpu: +(torch.medianMs / allInto.meanMs).toFixed(2) } : {}),
      bitgradAllThreadsVsPlainJs: +(js.meanMs / all.meanMs).toFixed(2),
      bitgradOneThreadVsPlainJs: +(js.meanMs / one.meanMs).toFixed(2),
      bitgradAllThreadsGradIntoVsPlainJs: +(js.meanMs / allInto.meanMs).toFixed(2),
      twoThreadsVsOne: +(one.meanMs / all.meanMs).toFixed(2),
      twoThreadsVsOneGradInto: +(oneInto.meanMs / allInto.meanMs).toFixed(2),
      fractionOfMemcpyBandwidth: +(all.gbPerSec / memcpy.gbPerSec).toFixed(3),
      fractionOfMemcpyBandwidthGradInto: +(allInto.gbPerSec / memcpy.gbPerSec).toFixed(3),
    },
    estimators: process.argv.includes('--no-estimators') ? undefined : await estimatorBench(),
    pack: process.argv.includes('--no-pack') ? undefined : await packBench(),
    elementwiseLosses: process.argv.includes('--no-losses') ? undefined : await elementwiseLossBench(),
    crossEntropy: process.argv.includes('--no-ce') ? undefined : await ceBench(false),
  };
}

async function cuda() {
  if (b.backend().name !== 'cuda') throw new Error(`--gpu needs a usable GPU: ${b.backend().reason}`);
  const { x, y } = data(n);
  const xt = b.tensor(x, [n], { device: 'cuda:0' });
  const yt = b.tensor(y, [n], { device: 'cuda:0' });
  const cases = [
    { name: `device copy ${4 * n} B`, fn: () => { const t = xt.to('cuda:0'); b.synchronize('cuda:0'); t.dispose(); }, elements: 0, bytes: 2 * 4 * n },
    { name: `bitgrad bceWithLogitsSync cuda fwd+grad n=${n} + synchronize`, fn: () => { const r = b.losses.bceWithLogitsSync(xt, yt); b.synchronize('cuda:0'); r.loss.dispose(); r.grad.dispose(); }, elements: n, bytes: 12 * n },
    { name: `bitgrad bceWithLogits (async) cuda fwd+grad n=${n}`, defer: true, fn: (d) => b.losses.bceWithLogits(xt, yt).then((r) => { r.loss.dispose(); r.grad.dispose(); d.resolve(); }), elements: n, bytes: 12 * n },
  ];
  const results = await runSuite(cases);
  xt.dispose();
  yt.dispose();
  const copy = results[0];
  const sync = results[1];
  return { results, ratios: { fractionOfDeviceCopyBandwidth: +(sync.gbPerSec / copy.gbPerSec).toFixed(3) }, pack: await packBenchGpu(), crossEntropy: await ceBench(true) };
}

// crossEntropy fwd+grad (mean, int32 indices) on fp32 logits: CPU [4096, 32000] with 1
// and 2 threads (new gradient / in place) vs a plain JS loop, PyTorch 1.13 CPU (2
// threads) and the memory floor (read the logits once, write the gradient: a memcpy of
// the logits measured in the same run); --gpu: [16384, 131072] on cuda:0 vs a device
// copy of the logits and PyTorch on the same GPU (peer run by scripts/gpu-check.sh).
async function ceBench(onGpu) {
  const [N, V] = onGpu ? [16384, 131072] : quick ? [1024, 32000] : [4096, 32000];
  const count = N * V;
  const x = new Float32Array(count);
  let s = 99;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = (s / 4294967296) * 16 - 8;
  }
  const y = Int32Array.from({ length: N }, (_, i) => (i * 7919) % V);
  const bytes = 8 * count; // floor: one read of the logits, one write of the gradient
  let cases;
  let xt;
  let yt;
  if (onGpu) {
    xt = b.tensor(x, [N, V], { device: 'cuda:0' });
    yt = b.tensor(y, [N], { device: 'cuda:0' });
    cases = [
      { name: `device copy ${4 * count} B (CE)`, fn: () => { const t = xt.to('cuda:0'); b.synchronize('cuda:0'); t.dispose(); }, elements: 0, bytes },
      { name: `bitgrad crossEntropySync cuda [${N}, ${V}] + synchronize`, fn: () => { const r = b.losses.crossEntropySync(xt, yt); b.synchronize('cuda:0'); r.loss.dispose(); r.grad.dispose(); }, elements: count, bytes },
      { name: `bitgrad crossEntropySync cuda [${N}, ${V}] inPlace + synchronize`, fn: () => { const r = b.losses.crossEntropySync(xt, yt, { inPlace: true }); b.synchronize('cuda:0'); r.loss.dispose(); }, elements: count, bytes },
    ];
  } else {
    const src = new Uint8Array(4 * count);
    const dst = new Uint8Array(4 * count);
    const scratch = Float32Array.from(x);
    const grad = new Float32Array(count);
    const js = () => {
      let tot = 0;
      for (let r = 0; r < N; r++) {
        const o = r * V;
        let m = -Infinity;
        for (let c = 0; c < V; c++) if (x[o + c] > m) m = x[o + c];
        let d = 0;
        for (let c = 0; c < V; c++) d += Math.exp(x[o + c] - m);
        const lse = m + Math.log(d);
        tot += lse - x[o + y[r]];
        for (let c = 0; c < V; c++) grad[o + c] = Math.exp(x[o + c] - lse) / N;
        grad[o + y[r]] -= 1 / N;
      }
      return tot / N;
    };
    cases = [
      { name: `memcpy ${4 * count} B (CE)`, fn: () => dst.set(src), elements: 0, bytes },
      { name: `bitgrad crossEntropySync [${N}, ${V}] (1 thread)`, fn: () => { b.setNumThreads(1); b.losses.crossEntropySync(x, y); }, elements: count, bytes },
      { name: `bitgrad crossEntropySync [${N}, ${V}] (2 threads)`, fn: () => { b.setNumThreads(2); b.losses.crossEntropySync(x, y); }, elements: count, bytes },
      { name: `bitgrad crossEntropySync [${N}, ${V}] gradInto reused (2 threads)`, fn: () => { b.setNumThreads(2); b.losses.crossEntropySync(x, y, { gradInto: grad }); }, elements: count, bytes },
      { name: `bitgrad crossEntropySync [${N}, ${V}] inPlace (2 threads)`, fn: () => { b.setNumThreads(2); b.losses.crossEntropySync(scratch, y, { inPlace: true }); }, elements: count, bytes },
      { name: `plain JavaScript loop CE fwd+grad [${N}, ${V}]`, fn: js, elements: count, bytes },
    ];
  }
  const results = await runSuite(cases);
  b.setNumThreads(os.cpus().length);
  if (xt) { xt.dispose(); yt.dispose(); }
  const floor = results[0];
  const by = (p) => results.find((r) => r.name.includes(p));
  const ratios = {};
  if (onGpu) {
    ratios.fractionOfDeviceCopy = +(by('+ synchronize').gbPerSec / floor.gbPerSec).toFixed(3);
    ratios.inPlaceFractionOfDeviceCopy = +(by('inPlace').gbPerSec / floor.gbPerSec).toFixed(3);
  } else {
    const two = by('(2 threads)');
    ratios.twoThreadsVsPlainJs = +(by('plain JavaScript').meanMs / two.meanMs).toFixed(2);
    ratios.twoThreadsVsOne = +(by('(1 thread)').meanMs / two.meanMs).toFixed(2);
    ratios.fractionOfMemcpyFloor = +(two.gbPerSec / floor.gbPerSec).toFixed(3);
    ratios.inPlaceFractionOfMemcpyFloor = +(by('inPlace').gbPerSec / floor.gbPerSec).toFixed(3);
    ratios.gradIntoFractionOfMemcpyFloor = +(by('gradInto').gbPerSec / floor.gbPerSec).toFixed(3);
    const { spawnSync } = require('child_process');
    const py = process.env.BITGRAD_TORCH_PYTHON || '/usr/bin/python3';
    const r = spawnSync(py, [path.join(__dirname, 'peers', 'torch_ce.py'), String(N), String(V), '--cpu', '--threads', '2'], { encoding: 'utf8' });
    if (r.status === 0) {
      const j = JSON.parse(r.stdout.trim().split('\n').pop());
      console.log(`${j.peer} cross_entropy fwd+bwd [${N}, ${V}]: median ${j.medianMs.toFixed(2)} ms (${j.threads} threads)`);
      results.push({ name: `${j.peer} cross_entropy fwd+bwd`, meanMs: j.medianMs, elements: count, bytes, note: 'median, same shape, 2 threads' });
      ratios.twoThreadsVsTorchCpu2Threads = +(j.medianMs / two.meanMs).toFixed(2);
      ratios.inPlaceVsTorchCpu2Threads = +(j.medianMs / by('inPlace').meanMs).toFixed(2);
    } else {
      console.log(`PyTorch CE peer not available (${(r.stderr || r.error || '').toString().trim().split('\n').pop()})`);
    }
  }
  console.log(`crossEntropy ${JSON.stringify(ratios)}`);
  return { shape: [N, V], results, ratios };
}

(async () => {
  const report = b.backend();
  const body = gpu ? await cuda() : await cpu();
  const out = {
    kind: gpu ? 'gpu' : 'cpu',
    commit: commit(),
    date: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0] && os.cpus()[0].model,
      cores: os.cpus().length,
      node: process.version,
      simd: report.cpu.simd,
      gpu: report.cuda.devices.map((d) => d.name),
    },
    n,
    ...body,
  };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out.ratios));
  console.log(`wrote ${outFile}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

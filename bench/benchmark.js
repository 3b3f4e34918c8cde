#!/usr/bin/env node
// Benchmarks (never asserted in tests). Prints a table and writes JSON.
//   node bench/benchmark.js [--gpu] [--n 1e7] [--out file.json] [--quick]
// CPU: bceWithLogits fwd+grad (mean) on n elements with 1 and all threads, against a
// plain JavaScript loop and against the memory-bandwidth floor (12 bytes per element:
// read logits and targets, write the gradient) from a measured memcpy.
// --gpu: the same op on cuda:0 against a measured device-to-device copy.
// The loss benchmarks against peers (tfjs, PyTorch, other losses, cross-entropy) are in
// bench/losses.js.
'use strict';
const os = require('os');
const common = require('./common');

const b = common.loadBitgrad();
const quick = common.flag('--quick');
const gpu = common.flag('--gpu');
const n = Math.round(Number(common.arg('--n', gpu ? '1e8' : '1e7')));
const outFile = common.arg('--out', common.resultPath(gpu ? 'bench-gpu.json' : 'bench-cpu.json'));
const maxTime = quick ? 0.5 : 2;
const data = common.lossData;
const runSuite = (cases) => common.runSuite(cases, { maxTime });
const { jsBce } = common; // the plain-JavaScript peer

// PyTorch CPU (Debian's python3-torch) on the same n and thread count, when installed.
function torchPeer(count, threads) {
  const j = common.runPeer('torch_bce.py', [String(count), '--cpu', '--threads', String(threads)]);
  if (j.error) {
    console.log(`PyTorch peer not available (${j.error})`);
    return null;
  }
  console.log(`${j.peer} binary_cross_entropy_with_logits fwd+bwd n=${count}: median ${j.medianMs.toFixed(2)} ms (${j.threads} threads)`);
  return j;
}

// Estimator backward (binarize.*.backwardSync with `into`) on 64 MiB of floats: reads x
// and g, writes dx (12 bytes per element), against a memcpy of the same 64 MiB measured
// in the same run (8 bytes per element moved), with 1 and 2 threads.
async function estimatorBench() {
  const m = 16 * 1024 * 1024;
  const { x } = data(m);
  const g = new Float32Array(m).fill(0.5);
  const dx = new Float32Array(m);
  const names = ['ste', 'approxSign', 'swishSign', 'reste', 'biper', 'ede', 'fda'];
  const cases = [common.memcpyCase(4 * m, 'estimators')];
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
  const bytes = 4 * m + m / 8;
  const shapes = { nhwc: [16, 64, 64, 256], nchw: [16, 256, 64, 64] };
  const run = (inputLayout, t) => () => { b.setNumThreads(t); b.binarize.packSync(x, { layout: 'nhwc', inputLayout, shape: shapes[inputLayout] }).dispose(); };
  const cases = [common.memcpyCase(4 * m, 'pack')];
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

async function cpu() {
  const { x, y } = data(n);
  const grad = new Float32Array(n);
  const threads = os.cpus().length;
  const cases = [
    common.memcpyCase(12 * n),
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
    estimators: common.flag('--no-estimators') ? undefined : await estimatorBench(),
    pack: common.flag('--no-pack') ? undefined : await packBench(),
  };
}

async function cuda() {
  common.requireGpu(b);
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
  return { results, ratios: { fractionOfDeviceCopyBandwidth: +(sync.gbPerSec / copy.gbPerSec).toFixed(3) }, pack: await packBenchGpu() };
}

common.main(async () => {
  const report = b.backend();
  const body = gpu ? await cuda() : await cpu();
  const out = {
    kind: gpu ? 'gpu' : 'cpu',
    commit: common.commit(),
    date: new Date().toISOString(),
    machine: common.machine(report),
    n,
    ...body,
  };
  common.writeJson(outFile, out, { log: false });
  console.log(JSON.stringify(out.ratios));
  console.log(`wrote ${outFile}`);
});

#!/usr/bin/env node
// Loss benchmarks (issue 3, item 6). Never asserted in tests. Prints a table, writes JSON.
//   node bench/losses.js [--gpu] [--quick] [--threads 2] [--out file.json] [--note text]
//                        [--tfjs-ce-rows 128] [--torch-ce-json peer.json]
//
// CPU (default; JSON in bench/results/bench-losses.json):
//   1. bceWithLogits fwd+grad (mean) on 1e7 elements and crossEntropy fwd+grad (mean,
//      int32 indices) on fp32 logits [4096, 32000], each against, in the same run: a plain
//      JavaScript loop, @tensorflow/tfjs's CPU backend (tf.losses.* under tf.valueAndGrad),
//      PyTorch 1.13 CPU (bench/peers/torch_*.py, spawned, same thread count) and the
//      memory-bandwidth floor (bytes moved / memcpy bandwidth measured in this run;
//      12 B/element for fused BCE fwd+grad: read x, y, write dx; 12 B/element of logits for
//      CE: read twice, write the gradient once, spec losses.md §3.1).
//   2. The other elementwise losses fwd+grad on 1e7 as a fraction of memcpy bandwidth.
//   3. `targets`: every target of issue 3 as a ratio (GPU ones null on a CPU run).
//   4. `rowwise`: zLoss, ldrKl (softplus scores), decoupledSoftmax (5% positives),
//      plackettLuceDistillation (T 2) and cbcLoss fwd+grad on [4096, 1000] on the forced
//      scalar (float64) path and the best SIMD path (bitgrad.setSimd), with the speedup.
//   5. `research`: mwLoss [256, 256] (16.7M pairs) and basnetHybrid [4, 1, 256, 256]
//      fwd+grad, forced scalar vs the best SIMD path, each on 1 and 2 threads.
//      --research-only runs just this section (JSON in bench-losses-research.json).
// bitgrad is timed both the way a training loop calls it (`gradInto` a reused buffer, or
// `inPlace` over the logits for CE) and allocating a new gradient each call; both named.
//
// --gpu (JSON in bench/results/bench-losses-gpu.json; run by scripts/gpu-check.sh):
// crossEntropy [16384, 131072] fp32 on cuda:0 against a device copy of the logits (3x
// traffic floor), Liger-Kernel's published 12.3 ms (H100 NVL) and PyTorch eager on the same
// GPU (the peer JSON from --torch-ce-json, written by gpu-check.sh), with bitgrad's peak
// device memory against logits + gradient; the elementwise losses on 1e8 elements against
// a device-to-device copy.
'use strict';
const fs = require('fs');
const os = require('os');
const common = require('./common');

const { arg } = common;
const b = common.loadBitgrad();
const gpu = common.flag('--gpu');
const quick = common.flag('--quick');
const threads = Number(arg('--threads', '2'));
const n = Math.round(Number(arg('--n', gpu ? (quick ? '1e7' : '1e8') : quick ? '1e6' : '1e7')));
const researchOnly = common.flag('--research-only');
const outFile = arg('--out', common.resultPath(gpu ? 'bench-losses-gpu.json' : researchOnly ? 'bench-losses-research.json' : 'bench-losses.json'));
const maxTime = quick ? 0.5 : 2;
const GPU_NOTE = 'needs a GPU run (scripts/gpu-check.sh)';
const data = common.lossData; // seeded inputs: logits uniform in [-8, 8), soft targets k/7
const runSuite = (cases) => common.runSuite(cases, { maxTime });
const { jsBce } = common; // the plain-JavaScript peer

const r2 = (v) => (v == null || !Number.isFinite(v) ? null : +v.toFixed(2));
const r3 = (v) => (v == null || !Number.isFinite(v) ? null : +v.toFixed(3));

// Logits [N, V] uniform in [-8, 8): 256 seeded rows, tiled (a memcpy, not 2e9 LCG steps).
function logits(N, V) {
  const x = new Float32Array(N * V);
  const block = Math.min(N, 256) * V;
  let s = 99;
  for (let i = 0; i < block; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = (s / 4294967296) * 16 - 8;
  }
  for (let o = block; o < x.length; o += block) x.copyWithin(o, 0, Math.min(block, x.length - o));
  const y = Int32Array.from({ length: N }, (_, i) => (i * 7919) % V);
  return { x, y };
}

// The same for cross-entropy (mean over rows, class indices): max, sum, gradient.
function jsCe(x, y, grad, N, V) {
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
}

// @tensorflow/tfjs (pure-JS CPU backend; single-threaded by design), or the reason it is not there.
let tfCache;
async function tfjs() {
  if (tfCache !== undefined) return tfCache;
  try {
    const tf = require('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await tf.ready();
    tfCache = { tf };
  } catch (e) {
    tfCache = { error: String(e && e.message ? e.message : e).split('\n')[0] };
  }
  return tfCache;
}

// Spawns a PyTorch peer script; returns its JSON line or { error }.
function torchPeer(script, args, what) {
  const j = common.runPeer(script, args, { timeout: 300e3 });
  if (j.error) {
    console.log(`PyTorch peer ${script} not available (${j.error})`);
    return { error: j.error };
  }
  console.log(`${j.peer} ${what}: median ${j.medianMs.toFixed(2)} ms (${j.threads} threads)`);
  return j;
}

const byKey = (results, key) => results.find((r) => r.key === key);

// A ratio entry of `targets`: value >= target means met.
function target(value, goal, extra = {}) {
  const v = value == null || !Number.isFinite(value) ? null : r3(value);
  return { value: v, target: goal, met: v == null ? null : v >= goal, ...extra };
}
const gpuTarget = (goal, extra = {}) => ({ value: null, target: goal, met: null, note: GPU_NOTE, ...extra });

// 1a. BCE-with-logits on n elements.
async function bceCpu() {
  const { x, y } = data(n);
  const grad = new Float32Array(n);
  const T = await tfjs();
  let tx;
  let ty;
  const cases = [
    common.memcpyCase(12 * n, 'TypedArray.set, 1 thread', { key: 'memcpy' }),
    { key: 'gradInto', name: `bitgrad bceWithLogitsSync fwd+grad n=${n} gradInto reused (${threads} threads)`, fn: () => { b.setNumThreads(threads); b.losses.bceWithLogitsSync(x, y, { gradInto: grad }); }, elements: n, bytes: 12 * n },
    { key: 'alloc', name: `bitgrad bceWithLogitsSync fwd+grad n=${n} allocating (${threads} threads)`, fn: () => { b.setNumThreads(threads); b.losses.bceWithLogitsSync(x, y); }, elements: n, bytes: 12 * n },
    { key: 'async', name: `bitgrad bceWithLogits (async) fwd+grad n=${n} gradInto reused (${threads} threads)`, defer: true, fn: (d) => { b.setNumThreads(threads); b.losses.bceWithLogits(x, y, { gradInto: grad }).then(() => d.resolve()); }, elements: n, bytes: 12 * n },
    { key: 'js', name: `plain JavaScript loop BCE fwd+grad n=${n}`, fn: () => jsBce(x, y, grad), elements: n, bytes: 12 * n },
  ];
  if (T.tf) {
    const { tf } = T;
    tx = tf.tensor1d(x);
    ty = tf.tensor1d(y);
    const vg = tf.valueAndGrad((xx) => tf.losses.sigmoidCrossEntropy(ty, xx, undefined, 0, tf.Reduction.MEAN));
    cases.push({
      key: 'tfjs', slow: true,
      name: `tfjs ${tf.version.tfjs} cpu sigmoidCrossEntropy + valueAndGrad n=${n}`,
      fn: () => tf.tidy(() => { const r = vg(tx); r.value.dataSync(); r.grad.dataSync(); }),
      elements: n, bytes: 12 * n,
    });
  }
  const results = await runSuite(cases);
  if (tx) { tx.dispose(); ty.dispose(); }
  const torch = torchPeer('torch_bce.py', [String(n), '--cpu', '--threads', String(threads)], `binary_cross_entropy_with_logits fwd+bwd n=${n}`);
  if (!torch.error) results.push({ name: `${torch.peer} binary_cross_entropy_with_logits fwd+bwd`, key: 'torch', meanMs: torch.medianMs, elements: n, bytes: 12 * n, note: `median of 5 after 3 warm-up steps, ${torch.threads} threads, allocates x.grad each step` });
  const memcpy = byKey(results, 'memcpy');
  const floorMs = (12 * n) / (memcpy.gbPerSec * 1e9) * 1e3;
  const t = (k) => (byKey(results, k) ? byKey(results, k).meanMs : null);
  const ratio = (peer, k) => (t(peer) != null && t(k) != null ? t(peer) / t(k) : null);
  return {
    n,
    bytesPerElement: 12,
    memcpyGBps: memcpy.gbPerSec,
    floorMs: r3(floorMs),
    results,
    ratios: {
      gradIntoVsTorchCpu: r2(ratio('torch', 'gradInto')),
      allocatingVsTorchCpu: r2(ratio('torch', 'alloc')),
      gradIntoVsTfjsCpu: r2(ratio('tfjs', 'gradInto')),
      allocatingVsTfjsCpu: r2(ratio('tfjs', 'alloc')),
      gradIntoVsPlainJs: r2(ratio('js', 'gradInto')),
      allocatingVsPlainJs: r2(ratio('js', 'alloc')),
      gradIntoFractionOfFloor: r3(floorMs / t('gradInto')),
      allocatingFractionOfFloor: r3(floorMs / t('alloc')),
      torchFractionOfFloor: r3(t('torch') ? floorMs / t('torch') : null),
      tfjsFractionOfFloor: r3(t('tfjs') ? floorMs / t('tfjs') : null),
    },
    peers: { tfjs: T.tf ? `@tensorflow/tfjs ${T.tf.version.tfjs} cpu backend` : { error: T.error }, torch: torch.error ? { error: torch.error } : torch },
  };
}

// 1b. crossEntropy [N, V] on fp32 logits, int32 class indices, mean.
async function ceCpu() {
  const [N, V] = quick ? [256, 32000] : [4096, 32000];
  const count = N * V;
  const { x, y } = logits(N, V);
  const scratch = Float32Array.from(x);
  const grad = new Float32Array(count);
  const bytes = 12 * count; // floor: two reads of the logits, one write of the gradient
  const T = await tfjs();
  const tfRows = Math.min(N, Number(arg('--tfjs-ce-rows', quick ? '16' : '128')));
  let tfx;
  let tfl;
  const cases = [
    common.memcpyCase(4 * count, 'TypedArray.set, 1 thread', { key: 'memcpy' }),
    { key: 'inPlace', name: `bitgrad crossEntropySync [${N}, ${V}] inPlace (${threads} threads)`, fn: () => { b.setNumThreads(threads); b.losses.crossEntropySync(scratch, y, { inPlace: true }); }, elements: count, bytes },
    { key: 'gradInto', name: `bitgrad crossEntropySync [${N}, ${V}] gradInto reused (${threads} threads)`, fn: () => { b.setNumThreads(threads); b.losses.crossEntropySync(x, y, { gradInto: grad }); }, elements: count, bytes },
    { key: 'alloc', name: `bitgrad crossEntropySync [${N}, ${V}] allocating (${threads} threads)`, fn: () => { b.setNumThreads(threads); b.losses.crossEntropySync(x, y); }, elements: count, bytes },
    { key: 'js', name: `plain JavaScript loop CE fwd+grad [${N}, ${V}]`, fn: () => jsCe(x, y, grad, N, V), elements: count, bytes, slow: !quick },
  ];
  if (T.tf) {
    const { tf } = T;
    // tfjs takes one-hot labels (built here, outside the timing); its CPU backend needs
    // ~45 ms a row at V = 32000, so it is timed on the first tfRows rows and scaled by
    // N / tfRows (rows are independent; time measured linear in rows 16..128).
    tfx = tf.tensor2d(x.subarray(0, tfRows * V), [tfRows, V]);
    tfl = tf.tidy(() => tf.oneHot(tf.tensor1d(y.subarray(0, tfRows), 'int32'), V).toFloat());
    const vg = tf.valueAndGrad((z) => tf.losses.softmaxCrossEntropy(tfl, z, undefined, 0, tf.Reduction.MEAN));
    cases.push({
      key: 'tfjs', slow: true, scale: N / tfRows,
      name: `tfjs ${tf.version.tfjs} cpu softmaxCrossEntropy + valueAndGrad [${tfRows}, ${V}] (one-hot labels)`,
      note: `timed on ${tfRows} of ${N} rows, meanMs scaled by ${N / tfRows}`,
      fn: () => tf.tidy(() => { const r = vg(tfx); r.value.dataSync(); r.grad.dataSync(); }),
      elements: count, bytes,
    });
  }
  const results = await runSuite(cases);
  if (tfx) { tfx.dispose(); tfl.dispose(); }
  const torch = torchPeer('torch_ce.py', [String(N), String(V), '--cpu', '--threads', String(threads)], `cross_entropy fwd+bwd [${N}, ${V}]`);
  if (!torch.error) results.push({ name: `${torch.peer} cross_entropy fwd+bwd [${N}, ${V}]`, key: 'torch', meanMs: torch.medianMs, elements: count, bytes, note: `median of 5 after 2 warm-up steps, ${torch.threads} threads, int64 targets, allocates x.grad each step` });
  const memcpy = byKey(results, 'memcpy');
  const floorMs = bytes / (memcpy.gbPerSec * 1e9) * 1e3;
  const t = (k) => (byKey(results, k) ? byKey(results, k).meanMs : null);
  const ratio = (peer, k) => (t(peer) != null && t(k) != null ? t(peer) / t(k) : null);
  return {
    shape: [N, V],
    bytesPerElement: 12,
    memcpyGBps: memcpy.gbPerSec,
    floorMs: r3(floorMs),
    onePassFloorMs: r3((8 * count) / (memcpy.gbPerSec * 1e9) * 1e3),
    results,
    ratios: {
      inPlaceVsTorchCpu: r2(ratio('torch', 'inPlace')),
      gradIntoVsTorchCpu: r2(ratio('torch', 'gradInto')),
      allocatingVsTorchCpu: r2(ratio('torch', 'alloc')),
      inPlaceVsTfjsCpu: r2(ratio('tfjs', 'inPlace')),
      allocatingVsTfjsCpu: r2(ratio('tfjs', 'alloc')),
      inPlaceVsPlainJs: r2(ratio('js', 'inPlace')),
      allocatingVsPlainJs: r2(ratio('js', 'alloc')),
      inPlaceFractionOfFloor: r3(floorMs / t('inPlace')),
      gradIntoFractionOfFloor: r3(floorMs / t('gradInto')),
      allocatingFractionOfFloor: r3(floorMs / t('alloc')),
      torchFractionOfFloor: r3(t('torch') ? floorMs / t('torch') : null),
    },
    peers: { torch: torch.error ? { error: torch.error } : torch },
  };
}

// 2. Elementwise losses fwd+grad ('mean' unless noted) on `count` elements: 12 B/element
// (read input and target, write the gradient). `inputs` maps host arrays or device tensors.
function elementwiseSet(x, y) {
  const p = Float32Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
  const pm = Float32Array.from(y, (v) => (v >= 0.5 ? 1 : -1));
  const lq = Float32Array.from(p, (v) => Math.log(v));
  return [
    ['bceWithLogits', x, y, {}],
    ['binaryCrossEntropy', p, y, {}],
    ['sigmoidFocalLoss', x, y, { reduction: 'mean' }],
    ['softMarginLoss', x, pm, {}],
    ['hingeEmbeddingLoss', x, pm, {}],
    ['klDiv', lq, y, { reduction: 'batchmean' }],
    ['marginBce', x, y, { margin: 0.4 }],
  ];
}

async function elementwiseCpu() {
  const { x, y } = data(n);
  const grad = new Float32Array(n);
  const losses = elementwiseSet(x, y);
  const cases = [common.memcpyCase(12 * n, 'TypedArray.set, 1 thread', { key: 'memcpy' })];
  for (const [name, a, t, o] of losses) {
    const f = b.losses[`${name}Sync`];
    cases.push({ key: `${name}:gradInto`, name: `losses.${name}Sync fwd+grad n=${n} gradInto reused (${threads} threads)`, fn: () => { b.setNumThreads(threads); f(a, t, { ...o, gradInto: grad }); }, elements: n, bytes: 12 * n });
    cases.push({ key: `${name}:alloc`, name: `losses.${name}Sync fwd+grad n=${n} allocating (${threads} threads)`, fn: () => { b.setNumThreads(threads); f(a, t, o); }, elements: n, bytes: 12 * n });
  }
  const results = await runSuite(cases);
  const mc = byKey(results, 'memcpy').gbPerSec;
  const perLoss = {};
  for (const [name, , , o] of losses) {
    const gi = byKey(results, `${name}:gradInto`);
    const al = byKey(results, `${name}:alloc`);
    perLoss[name] = { options: o, gradIntoMeanMs: r2(gi.meanMs), gradIntoFractionOfMemcpy: r3(gi.gbPerSec / mc), allocatingMeanMs: r2(al.meanMs), allocatingFractionOfMemcpy: r3(al.gbPerSec / mc) };
  }
  return { n, bytesPerElement: 12, memcpyGBps: mc, results, perLoss };
}

// 4. Row-wise losses moved onto the SIMD row engine: forced scalar vs the best SIMD path.
async function rowwiseCpu() {
  const [N, C] = quick ? [512, 1000] : [4096, 1000];
  const { x, y } = logits(N, C);
  let s = 11;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const t = Float32Array.from({ length: N * C }, () => 6 * rnd() - 3);
  const mask = Float32Array.from({ length: N * C }, () => (rnd() < 0.05 ? 1 : 0));
  const best = b.backend().cpu.simdBest;
  const paths = best === 'scalar' ? ['scalar'] : ['scalar', best];
  const losses = [
    ['zLoss', () => b.losses.zLossSync(x, y)],
    ['ldrKl', () => b.losses.ldrKlSync(x, y, { scores: 'softplus' })],
    ['decoupledSoftmax', () => b.losses.decoupledSoftmaxSync(x, mask, { shape: [N, C] })],
    ['plackettLuceDistillation', () => b.losses.plackettLuceDistillationSync(x, t, y, { temperature: 2 })],
    ['cbcLoss', () => b.losses.cbcLossSync(x, t, { shape: [N, C] })],
  ];
  const cases = [];
  for (const [name, f] of losses)
    for (const p of paths)
      cases.push({ key: `${name}:${p}`, name: `losses.${name}Sync fwd+grad [${N}, ${C}] ${p} (${threads} threads)`, fn: () => { b.setSimd(p); b.setNumThreads(threads); f(); }, elements: N * C, bytes: 8 * N * C });
  const results = await runSuite(cases);
  b.setSimd('auto');
  const perLoss = {};
  for (const [name] of losses) {
    const sc = byKey(results, `${name}:scalar`);
    const v = byKey(results, `${name}:${best}`);
    perLoss[name] = { scalarMeanMs: r2(sc.meanMs), simd: best, simdMeanMs: v ? r2(v.meanMs) : null, speedup: v ? r2(sc.meanMs / v.meanMs) : null };
    console.log(`${name} [${N}, ${C}]: scalar ${perLoss[name].scalarMeanMs} ms, ${best} ${perLoss[name].simdMeanMs} ms (${perLoss[name].speedup}x)`);
  }
  return { shape: [N, C], results, perLoss };
}

// 5. Research losses moved onto the SIMD kernels (rs_kernels.h): forced scalar (float64)
// vs the best path, 1 and 2 threads, in one process.
async function researchCpu() {
  const [B, C] = quick ? [128, 128] : [256, 256];
  const [N, H, W] = quick ? [2, 128, 128] : [4, 256, 256];
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const S = Float32Array.from({ length: B * C }, () => 2 * rnd() - 1);
  const P = Float32Array.from({ length: N * H * W }, () => 0.01 + 0.98 * rnd());
  const G = Float32Array.from(P, (v) => (rnd() < v ? 1 : 0));
  const best = b.backend().cpu.simdBest;
  const paths = best === 'scalar' ? ['scalar'] : ['scalar', best];
  const losses = [
    ['mwLoss', `[${B}, ${C}] tau 0.1`, B * C, () => b.losses.mwLossSync(S, { shape: [B, C], tau: 0.1 })],
    ['basnetHybrid', `[${N}, 1, ${H}, ${W}]`, N * H * W, () => b.losses.basnetHybridSync(P, G, { shape: [N, 1, H, W] })],
  ];
  const cases = [];
  for (const [name, shape, count, f] of losses)
    for (const p of paths)
      for (const t of [1, 2])
        cases.push({ key: `${name}:${p}:${t}`, name: `losses.${name}Sync fwd+grad ${shape} ${p} (${t} thread${t > 1 ? 's' : ''})`, fn: () => { b.setSimd(p); b.setNumThreads(t); f(); }, elements: count, bytes: 8 * count });
  const results = await runSuite(cases);
  b.setSimd('auto');
  const perLoss = {};
  const ms = (k) => (byKey(results, k) ? byKey(results, k).meanMs : null);
  for (const [name, shape] of losses) {
    const sc1 = ms(`${name}:scalar:1`), v1 = ms(`${name}:${best}:1`), v2 = ms(`${name}:${best}:2`), sc2 = ms(`${name}:scalar:2`);
    perLoss[name] = {
      shape, simd: best,
      scalar1ThreadMs: r2(sc1), scalar2ThreadsMs: r2(sc2), simd1ThreadMs: r2(v1), simd2ThreadsMs: r2(v2),
      simdSpeedup1Thread: r2(sc1 / v1), twoThreadSpeedupSimd: r2(v1 / v2), bestVsScalar1Thread: r2(sc1 / v2),
    };
    console.log(`${name} ${shape}: scalar ${perLoss[name].scalar1ThreadMs} ms (1 thread) / ${perLoss[name].scalar2ThreadsMs} ms (2), ${best} ${perLoss[name].simd1ThreadMs} ms (1) / ${perLoss[name].simd2ThreadsMs} ms (2): ${perLoss[name].bestVsScalar1Thread}x`);
  }
  return { results, perLoss };
}

const worst = (perLoss, field) => {
  let w = null;
  for (const [name, v] of Object.entries(perLoss)) if (v[field] != null && (w == null || v[field] < w.value)) w = { value: v[field], loss: name };
  return w || { value: null, loss: null };
};

async function cpu() {
  if (researchOnly) {
    const research = await researchCpu();
    b.setNumThreads(os.cpus().length);
    return { targets: {}, research };
  }
  const bce = await bceCpu();
  const ce = await ceCpu();
  const elementwise = await elementwiseCpu();
  const rowwise = await rowwiseCpu();
  const research = await researchCpu();
  b.setNumThreads(os.cpus().length);
  const ewIn = worst(elementwise.perLoss, 'gradIntoFractionOfMemcpy');
  const ewAl = worst(elementwise.perLoss, 'allocatingFractionOfMemcpy');
  const why = (peer) => (peer && peer.error ? { error: peer.error } : {});
  const targets = {
    bce_vs_torch_cpu: target(bce.ratios.gradIntoVsTorchCpu, 1.5, { variant: 'gradInto reused', ...why(bce.peers.torch) }),
    bce_vs_torch_cpu_allocating: target(bce.ratios.allocatingVsTorchCpu, 1.5, { variant: 'allocating', ...why(bce.peers.torch) }),
    bce_vs_tfjs_cpu: target(bce.ratios.gradIntoVsTfjsCpu, 20, { variant: 'gradInto reused', ...why(bce.peers.tfjs) }),
    bce_vs_tfjs_cpu_allocating: target(bce.ratios.allocatingVsTfjsCpu, 20, { variant: 'allocating', ...why(bce.peers.tfjs) }),
    ce_4096x32000_vs_torch_cpu: target(ce.ratios.inPlaceVsTorchCpu, 1, { variant: 'inPlace (gradient over the logits)', ...why(ce.peers.torch) }),
    ce_4096x32000_vs_torch_cpu_gradInto: target(ce.ratios.gradIntoVsTorchCpu, 1, { variant: 'gradInto reused', ...why(ce.peers.torch) }),
    ce_4096x32000_vs_torch_cpu_allocating: target(ce.ratios.allocatingVsTorchCpu, 1, { variant: 'allocating', ...why(ce.peers.torch) }),
    elementwise_fraction_of_memcpy: target(ewIn.value, 0.6, { variant: 'gradInto reused', worstLoss: ewIn.loss, note: 'minimum over the elementwise losses; per loss in elementwise.perLoss' }),
    elementwise_fraction_of_memcpy_allocating: target(ewAl.value, 0.6, { variant: 'allocating', worstLoss: ewAl.loss }),
    gpu_elementwise_fraction_of_hbm: gpuTarget(0.8),
    gpu_ce_16384x131072_vs_liger_h100nvl_12_3ms: gpuTarget(1, { note: `${GPU_NOTE}; value = 12.3 ms / bitgrad ms (Liger-Kernel's published H100 NVL figure)` }),
    gpu_ce_16384x131072_vs_torch_eager: gpuTarget(2.5),
    gpu_ce_16384x131072_memory_within_logits_plus_grad: gpuTarget(1, { lowerIsBetter: true, note: `${GPU_NOTE}; value = bitgrad's peak device bytes / (logits + gradient bytes)` }),
  };
  if (quick) for (const k of Object.keys(targets)) if (k.startsWith('ce_') && targets[k].value != null) targets[k].note = `--quick: measured at [${ce.shape}], not [4096, 32000]`;
  return { targets, bceWithLogits: bce, crossEntropy: ce, elementwise, rowwise, research };
}

// --gpu
async function cuda() {
  common.requireGpu(b);
  const dev = 'cuda:0';
  const copyCase = (t, bytes, label) => ({ key: 'copy', name: `device copy ${t.shape.reduce((a, c) => a * c, 1) * 4} B (${label})`, fn: () => { const c = t.to(dev); b.synchronize(dev); c.dispose(); }, elements: 0, bytes });

  // CE first, so that bitgrad's device peak counter covers it alone.
  const [N, V] = quick ? [2048, 131072] : [16384, 131072];
  const count = N * V;
  const host = logits(N, V);
  const xt = b.tensor(host.x, [N, V], { device: dev });
  const yt = b.tensor(host.y, [N], { device: dev });
  host.x = null;
  const bytes = 12 * count;
  const peakBefore = b.memory().devices[dev].peakBytes;
  const ceResults = await runSuite([
    { key: 'alloc', name: `bitgrad crossEntropySync cuda [${N}, ${V}] allocating + synchronize`, fn: () => { const r = b.losses.crossEntropySync(xt, yt); b.synchronize(dev); r.loss.dispose(); r.grad.dispose(); }, elements: count, bytes },
    { key: 'inPlace', name: `bitgrad crossEntropySync cuda [${N}, ${V}] inPlace + synchronize`, fn: () => { const r = b.losses.crossEntropySync(xt, yt, { inPlace: true }); b.synchronize(dev); r.loss.dispose(); }, elements: count, bytes },
  ]);
  const peakBytes = b.memory().devices[dev].peakBytes;
  // The copy and gradInto keep a second N x V buffer live: timed after the peak was read.
  const gt = b.tensor(new Float32Array(count), [N, V], { device: dev });
  ceResults.push(...(await runSuite([
    copyCase(xt, 2 * 4 * count, 'CE logits'),
    { key: 'gradInto', name: `bitgrad crossEntropySync cuda [${N}, ${V}] gradInto + synchronize`, fn: () => { const r = b.losses.crossEntropySync(xt, yt, { gradInto: gt }); b.synchronize(dev); r.loss.dispose(); }, elements: count, bytes },
  ])));
  gt.dispose();
  xt.dispose();
  yt.dispose();
  const copy = byKey(ceResults, 'copy');
  const floorMs = bytes / (copy.gbPerSec * 1e9) * 1e3;
  const t = (k) => byKey(ceResults, k).meanMs;
  let torch = { error: 'no --torch-ce-json given' };
  const tj = arg('--torch-ce-json');
  if (tj) {
    try {
      torch = JSON.parse(fs.readFileSync(tj, 'utf8').trim().split('\n').pop());
      if (!(torch.medianMs > 0) || torch.n !== N || torch.v !== V) torch = { error: `peer JSON ${tj} is not a timing of [${N}, ${V}]` };
    } catch (e) {
      torch = { error: `no PyTorch GPU peer (${tj}: ${e.message.split('\n')[0]})` };
    }
  }
  const ce = {
    shape: [N, V],
    copyGBps: copy.gbPerSec,
    floorMs: r3(floorMs),
    peakDeviceBytes: peakBytes,
    peakDeviceBytesBeforeTiming: peakBefore,
    logitsPlusGradBytes: 2 * 4 * count,
    results: ceResults,
    peers: { torch },
    ratios: {
      allocatingFractionOfFloor: r3(floorMs / t('alloc')),
      inPlaceFractionOfFloor: r3(floorMs / t('inPlace')),
      gradIntoFractionOfFloor: r3(floorMs / t('gradInto')),
      allocatingVsLiger12_3ms: r2(12.3 / t('alloc')),
      inPlaceVsLiger12_3ms: r2(12.3 / t('inPlace')),
      allocatingVsTorchGpu: torch.error ? null : r2(torch.medianMs / t('alloc')),
      inPlaceVsTorchGpu: torch.error ? null : r2(torch.medianMs / t('inPlace')),
    },
  };

  // Elementwise losses on n elements (12 B/element) against a device-to-device copy of one
  // n-element input (8 B/element of traffic), the achievable HBM bandwidth.
  const { x, y } = data(n);
  const sets = elementwiseSet(x, y).map(([name, a, tg, o]) => [name, b.tensor(a, [n], { device: dev }), b.tensor(tg, [n], { device: dev }), o]);
  const g = b.tensor(new Float32Array(n), [n], { device: dev });
  const cases = [copyCase(sets[0][1], 2 * 4 * n, 'elementwise')];
  for (const [name, a, tg, o] of sets) {
    const f = b.losses[`${name}Sync`];
    cases.push({ key: `${name}:gradInto`, name: `losses.${name}Sync cuda n=${n} gradInto + synchronize`, fn: () => { const r = f(a, tg, { ...o, gradInto: g }); b.synchronize(dev); r.loss.dispose(); }, elements: n, bytes: 12 * n });
    cases.push({ key: `${name}:alloc`, name: `losses.${name}Sync cuda n=${n} allocating + synchronize`, fn: () => { const r = f(a, tg, o); b.synchronize(dev); r.loss.dispose(); r.grad.dispose(); }, elements: n, bytes: 12 * n });
  }
  const results = await runSuite(cases);
  for (const [, a, tg] of sets) { a.dispose(); tg.dispose(); }
  g.dispose();
  const cp = byKey(results, 'copy').gbPerSec;
  const perLoss = {};
  for (const [name, , , o] of sets) {
    const gi = byKey(results, `${name}:gradInto`);
    const al = byKey(results, `${name}:alloc`);
    perLoss[name] = { options: o, gradIntoMeanMs: r3(gi.meanMs), gradIntoFractionOfCopy: r3(gi.gbPerSec / cp), allocatingMeanMs: r3(al.meanMs), allocatingFractionOfCopy: r3(al.gbPerSec / cp) };
  }
  const elementwise = { n, bytesPerElement: 12, copyGBps: cp, results, perLoss };
  const ewIn = worst(perLoss, 'gradIntoFractionOfCopy');
  const ewAl = worst(perLoss, 'allocatingFractionOfCopy');
  const targets = {
    bce_vs_torch_cpu: { value: null, target: 1.5, met: null, note: 'CPU target: node bench/losses.js' },
    bce_vs_tfjs_cpu: { value: null, target: 20, met: null, note: 'CPU target: node bench/losses.js' },
    ce_4096x32000_vs_torch_cpu: { value: null, target: 1, met: null, note: 'CPU target: node bench/losses.js' },
    elementwise_fraction_of_memcpy: { value: null, target: 0.6, met: null, note: 'CPU target: node bench/losses.js' },
    gpu_elementwise_fraction_of_hbm: target(ewIn.value, 0.8, { variant: 'gradInto', worstLoss: ewIn.loss, note: 'against a measured device-to-device copy (achievable HBM bandwidth)' }),
    gpu_elementwise_fraction_of_hbm_allocating: target(ewAl.value, 0.8, { variant: 'allocating', worstLoss: ewAl.loss }),
    gpu_ce_16384x131072_vs_liger_h100nvl_12_3ms: target(ce.ratios.inPlaceVsLiger12_3ms, 1, { variant: 'inPlace', note: '12.3 ms / bitgrad ms; Liger-Kernel published on H100 NVL, this GPU may differ' }),
    gpu_ce_16384x131072_vs_liger_h100nvl_12_3ms_allocating: target(ce.ratios.allocatingVsLiger12_3ms, 1, { variant: 'allocating' }),
    gpu_ce_16384x131072_vs_torch_eager: target(ce.ratios.inPlaceVsTorchGpu, 2.5, { variant: 'inPlace', ...(torch.error ? { error: torch.error } : {}) }),
    gpu_ce_16384x131072_vs_torch_eager_allocating: target(ce.ratios.allocatingVsTorchGpu, 2.5, { variant: 'allocating', ...(torch.error ? { error: torch.error } : {}) }),
    gpu_ce_16384x131072_memory_within_logits_plus_grad: (() => {
      const v = peakBytes > 0 ? r3(peakBytes / (2 * 4 * count)) : null;
      return { value: v, target: 1, met: v == null ? null : v <= 1, lowerIsBetter: true, variant: 'allocating', note: "bitgrad's peak live device bytes (its own tensors, targets included; CUB scratch not counted) / (logits + gradient bytes), rounded to 0.1 %" };
    })(),
  };
  return { targets, crossEntropy: ce, elementwise };
}

common.main(async () => {
  const load0 = os.loadavg();
  const t0 = Date.now();
  const report = b.backend();
  const body = gpu ? await cuda() : await cpu();
  const load1 = os.loadavg();
  const note = arg('--note');
  const out = {
    kind: gpu ? 'gpu' : 'cpu',
    commit: common.commit(),
    date: new Date().toISOString(),
    machine: common.machine(report, { memory: true }),
    threads,
    quick,
    notes: [
      ...(note ? [note] : []),
      `load average (1 min) ${load0[0].toFixed(2)} at start, ${load1[0].toFixed(2)} at end, on ${os.cpus().length} cores; the run took ${((Date.now() - t0) / 1e3).toFixed(0)} s`,
      'bitgrad rows are benchmark.js means; PyTorch rows are the peer script\'s median; tfjs runs on its pure-JS CPU backend (one thread, no tfjs-node)',
      'floor = bytes moved / the memcpy bandwidth measured in this run (TypedArray.set, one thread; read + write counted); bitgrad may exceed it (two threads, CE rows stay in cache for the second read)',
    ],
    ...body,
  };
  common.writeJson(outFile, out, { log: false });
  for (const [k, v] of Object.entries(out.targets)) console.log(`${k.padEnd(58)} ${String(v.value).padStart(8)}  (target ${v.target}${v.met == null ? '' : v.met ? ', met' : ', NOT met'})`);
  console.log(`wrote ${outFile}`);
});

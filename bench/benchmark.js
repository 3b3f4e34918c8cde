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
  return {
    results,
    ratios: {
      bitgradAllThreadsVsPlainJs: +(js.meanMs / all.meanMs).toFixed(2),
      bitgradOneThreadVsPlainJs: +(js.meanMs / one.meanMs).toFixed(2),
      bitgradAllThreadsGradIntoVsPlainJs: +(js.meanMs / allInto.meanMs).toFixed(2),
      twoThreadsVsOne: +(one.meanMs / all.meanMs).toFixed(2),
      twoThreadsVsOneGradInto: +(oneInto.meanMs / allInto.meanMs).toFixed(2),
      fractionOfMemcpyBandwidth: +(all.gbPerSec / memcpy.gbPerSec).toFixed(3),
      fractionOfMemcpyBandwidthGradInto: +(allInto.gbPerSec / memcpy.gbPerSec).toFixed(3),
    },
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
  return { results, ratios: { fractionOfDeviceCopyBandwidth: +(sync.gbPerSec / copy.gbPerSec).toFixed(3) } };
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

#!/usr/bin/env node
// Binarization benchmarks (never asserted in tests): bit packing, fused binarize + pack,
// every estimator's backward and the weight-scaling ops' forward + backward on 64 MiB of
// float32 input, each as a fraction of the single-core memcpy bandwidth measured in the
// same run, with 1 and 2 threads (bitgrad.setNumThreads). Timings are the best of
// --reps runs (the machine may be shared). Writes bench/results/bench-binarize.json.
//   node bench/binarize.js [--reps 5] [--mib 64] [--out file.json]
// Env: BITGRAD_DIST (the built facade, default dist/index.js), BITGRAD_BINARY (the addon).
'use strict';
const os = require('os');
const common = require('./common');

const b = common.loadBitgrad();
const reps = Math.max(1, Number(common.arg('--reps', '5')));
const mib = Number(common.arg('--mib', '64'));
const outFile = common.arg('--out', common.resultPath('bench-binarize.json'));
const n = Math.floor((mib * 1024 * 1024) / 4);

// Seeded float32 input uniform in [-1.5, 1.5).
const fill = (count, seed) => common.uniform(count, seed, -1.5, 1.5);

// Best wall time (seconds) of `reps` runs after one warm-up.
const best = (fn) => common.bestTime(fn, reps);

const x = fill(n, 1);
const g = fill(n, 2);
const buf = new Float32Array(n);

// Single-core memcpy of the same 4 bytes per float (read + write counted).
const memcpyGBs = common.measureMemcpy(4 * n, reps).gbPerSec;
// The same copy split over 2 threads: what 2 cores can move, the ceiling of the "2/1"
// column for memory-bound kernels.
const memcpy2GBs = common.measureMemcpyThreads(4 * n, 2, reps).gbPerSec;

const results = [];
function run(group, name, bytesPerElem, fn) {
  const row = { group, name, bytesPerElement: bytesPerElem };
  for (const t of [1, 2]) {
    b.setNumThreads(t);
    const s = best(fn);
    const gbs = (bytesPerElem * n) / s / 1e9;
    row[`t${t}`] = { ms: +(s * 1e3).toFixed(2), gbPerSec: +gbs.toFixed(2), fractionOfMemcpy: +(gbs / memcpyGBs).toFixed(3) };
  }
  row.twoVsOne = +(row.t1.ms / row.t2.ms).toFixed(2);
  results.push(row);
  console.log(
    `${name.padEnd(46)} 1T ${String(row.t1.ms).padStart(8)} ms ${row.t1.fractionOfMemcpy.toFixed(3)}x memcpy | 2T ${String(row.t2.ms).padStart(8)} ms ${row.t2.fractionOfMemcpy.toFixed(3)}x | 2/1 ${row.twoVsOne}`,
  );
}

const C = 256;
const HW = n / C; // pixels per channel over the whole batch
const N = 4;
const side = Math.round(Math.sqrt(HW / N));
const shapes = { nhwc: [N, side, HW / N / side, C], nchw: [N, C, side, HW / N / side] };
if (shapes.nhwc.some((d) => !Number.isInteger(d))) throw new Error(`64 MiB does not split into ${shapes.nhwc}`);
const packBytes = 4 + 1 / 8;
const bz = b.binarize;

console.log(`bitgrad bench/binarize: ${n} floats (${mib} MiB), best of ${reps}; memcpy ${memcpyGBs.toFixed(2)} GB/s on 1 core, ${memcpy2GBs.toFixed(2)} on 2 (${(memcpy2GBs / memcpyGBs).toFixed(2)}x, the 2/1 ceiling of memory-bound ops); simd ${b.setSimd('auto').simd}`);

// Bit packing (reads 4 B, writes 1 bit per element).
for (const inputLayout of ['nhwc', 'nchw'])
  run('pack', `pack ${inputLayout} [${shapes[inputLayout]}]`, packBytes, () => bz.packSync(x, { layout: 'nhwc', inputLayout, shape: shapes[inputLayout] }).dispose());
run('pack', `pack rows [${n / 4096}, 4096]`, packBytes, () => bz.packSync(x, { layout: 'rows', shape: [n / 4096, 4096] }).dispose());

// Fused binarize + pack, against forward-then-pack.
const alpha = fill(C, 3).map((v) => v / 10);
for (const inputLayout of ['nhwc', 'nchw']) {
  const shape = shapes[inputLayout];
  run('binarizeAndPack', `binarizeAndPack ste ${inputLayout}`, packBytes, () => bz.binarizeAndPackSync(x, { layout: 'nhwc', inputLayout, shape }).dispose());
  run('binarizeAndPack', `binarizeAndPack rsign ${inputLayout}`, packBytes, () =>
    bz.binarizeAndPackSync(x, { layout: 'nhwc', inputLayout, shape, estimator: 'rsign', alpha }).dispose(),
  );
  const axis = inputLayout === 'nchw' ? 1 : 3;
  run('binarizeAndPack', `(unfused) rsign.forward + pack ${inputLayout}`, packBytes, () => {
    bz.rsign.forwardSync(x, { shape, alpha, channelAxis: axis, into: buf });
    bz.packSync(buf, { layout: 'nhwc', inputLayout, shape }).dispose();
  });
}

// Estimator backward: reads x and g, writes dL/dx (12 B per element).
for (const name of ['ste', 'approxSign', 'swishSign', 'reste', 'biper', 'ede', 'fda']) {
  run('estimatorBackward', `${name}.backward`, 12, () => bz[name].backwardSync(x, g, { into: buf }));
}
run('estimatorBackward', 'rsign.backward (NCHW, per-channel alpha)', 12, () =>
  bz.rsign.backwardSync(x, g, { shape: shapes.nchw, alpha, channelAxis: 1, into: buf }),
);
run('estimatorBackward', 'elastic.backward (binary, scalar alpha)', 12, () => bz.elastic.backwardSync(x, g, { alpha: 0.5, into: buf }));

// Weight scaling, forward + backward on [4096, n / 4096] rows held in CPU tensors (the
// results come from the tensor pool, so fresh-page faults of new 64 MiB arrays are not
// timed): the forward reads W and writes the binarized W (8 B), the backward reads W and
// g and writes dL/dW (12 B).
const wshape = [4096, n / 4096];
const wt = b.tensor(x, wshape);
const gt = b.tensor(g, wshape);
const disposeAll = (r) => {
  for (const v of Object.values(r)) if (v && typeof v.dispose === 'function') v.dispose();
};
const scaling = [
  ['magnitudeAwareSign', {}],
  ['xnor', {}],
  ['dorefa', {}],
  ['libraPB', {}],
  ['multiBasis', { bases: 2 }],
  ['ternaryWeights', {}],
];
for (const [name, opts] of scaling) {
  run('scalingForwardBackward', `${name} forward + backward`, 20, () => {
    disposeAll(bz[name].forwardSync(wt, opts));
    disposeAll(bz[name].backwardSync(wt, gt, opts));
  });
}
run('scalingForwardBackward', 'elastic forward + backward', 20, () => {
  bz.elastic.forwardSync(x, { alpha: 0.5, into: buf });
  bz.elastic.backwardSync(x, g, { alpha: 0.5, into: buf });
});
wt.dispose();
gt.dispose();

b.setNumThreads(os.cpus().length);
const report = {
  date: new Date().toISOString(),
  host: { ...common.cpuInfo(), loadavg: os.loadavg() },
  simd: b.setSimd('auto').simd,
  floats: n,
  reps,
  timing: 'best of reps after one warm-up; the machine may be shared with other work',
  memcpySingleCoreGBs: +memcpyGBs.toFixed(2),
  memcpyTwoThreadsGBs: +memcpy2GBs.toFixed(2),
  memcpyTwoVsOne: +(memcpy2GBs / memcpyGBs).toFixed(3),
  results,
};
common.writeJson(outFile, report, { relative: true });

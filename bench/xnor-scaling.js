#!/usr/bin/env node
// 2 threads vs 1 on ResNet-18's 3x3 layers (batch 1, zero padding, int32): the ratio of
// the minimum, 10th percentile and median of many back-to-back calls, because on a 2-vCPU
// VM the second core is now and then taken by the host and a best-of-few time is noisy.
//   node --single-threaded-gc bench/xnor-scaling.js [--calls N] [--out file.json]
// Never asserted in tests; writes bench/results/bench-xnor-scaling.json.
'use strict';
const common = require('./common');

const b = common.loadBitgrad();
const calls = Number(common.arg('--calls', '1000'));
const outFile = common.arg('--out', common.resultPath('bench-xnor-scaling.json'));
const rand = (n, seed) => common.uniform(n, seed, -0.5, 0.5, 'numrec');
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

const layers = {};
for (const [hw, c] of [[56, 64], [28, 128], [14, 256], [7, 512]]) {
  const key = `${hw}x${hw}x${c}`;
  const x = b.binarize.packSync(rand(hw * hw * c, 3), { layout: 'nhwc', shape: [1, hw, hw, c] });
  const w = b.binarize.packSync(rand(c * 9 * c, 4), { layout: 'weights', shape: [c, 3, 3, c] });
  const stats = {};
  for (const threads of [1, 2]) {
    b.setNumThreads(threads);
    b.xnor.conv2dSync(x, w, { padding: 1, padMode: 'zero' }).dispose();
    const us = [];
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      const out = b.xnor.conv2dSync(x, w, { padding: 1, padMode: 'zero' });
      us.push(Number(process.hrtime.bigint() - t0) / 1e3);
      out.dispose();
    }
    us.sort((p, q) => p - q);
    stats[`${threads}t`] = { minUs: us[0], p10Us: pct(us, 0.1), medianUs: pct(us, 0.5), p90Us: pct(us, 0.9) };
  }
  const r = (k) => stats['1t'][k] / stats['2t'][k];
  layers[key] = { ...stats, twoVsOne: { min: r('minUs'), p10: r('p10Us'), median: r('medianUs') } };
  console.log(
    `${key.padEnd(10)} 1T median ${stats['1t'].medianUs.toFixed(1)} us, 2T median ${stats['2t'].medianUs.toFixed(1)} us; ` +
      `2T vs 1T: min ${r('minUs').toFixed(2)}x, p10 ${r('p10Us').toFixed(2)}x, median ${r('medianUs').toFixed(2)}x`,
  );
  x.dispose();
  w.dispose();
}
b.setNumThreads(require('os').cpus().length);
common.writeJson(outFile, { machine: common.cpuInfo(), calls, layers, commit: common.commit(''), date: new Date().toISOString() });

// CUDA-vs-CPU parity of the XNOR ops (xnor.gemm / gemmSync / conv2d / conv2dSync):
// int32 and bit outputs must be identical, float outputs identical too (both backends
// round the same double expression). Plain JavaScript, same conventions as parity.js.
'use strict';
const { rng } = require('./parity.js');

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

function values(seed, n) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

function same(name, got, want) {
  if (got.length !== want.length) throw new Error(`${name}: ${got.length} values, CPU has ${want.length}`);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) throw new Error(`${name}: element ${i} is ${got[i]} on CUDA, ${want[i]} on the CPU`);
}

async function compare(b, name, run, xf, xopts, wf, wopts, opts) {
  const { packSync } = b.binarize;
  const xc = packSync(xf, { ...xopts, device: 'cpu' });
  const wc = packSync(wf, { ...wopts, device: 'cpu' });
  const xg = packSync(xf, { ...xopts, device: 'cuda:0' });
  const wg = packSync(wf, { ...wopts, device: 'cuda:0' });
  const want = run.sync(xc, wc, opts);
  const g1 = await run.async(xg, wg, opts);
  const g2 = run.sync(xg, wg, opts);
  if (g1.device !== 'cuda:0') throw new Error(`${name}: result on ${g1.device}`);
  const w = want.dataSync();
  same(`${name} (async)`, await g1.data(), w);
  same(`${name} (sync)`, g2.dataSync(), w);
  for (const t of [xc, wc, xg, wg, want, g1, g2]) t.dispose();
}

const OUTS = [{}, { outputType: 'float', scale: Float32Array.of(-0.5), bias: 1 }, { outputType: 'bits', bias: 2 }];

for (const [m, n, k] of [[5, 7, 63], [70, 130, 257], [256, 300, 4096]]) {
  for (const o of OUTS)
    add(`xnor gemm ${m}x${n}x${k} ${o.outputType || 'int32'}`, async (b) => {
      const run = { sync: b.xnor.gemmSync, async: b.xnor.gemm };
      await compare(b, 'gemm', run, values(m + k, m * k), { layout: 'rows', shape: [m, k] }, values(n + k, n * k), { layout: 'rows', shape: [n, k] }, o);
    });
}

for (const g of [
  { n: 2, h: 9, w: 7, c: 65, cout: 13, k: 3, groups: 1, stride: 1, padding: 1, dilation: 1 },
  { n: 1, h: 14, w: 14, c: 256, cout: 70, k: 3, groups: 1, stride: 2, padding: 1, dilation: 1 },
  { n: 3, h: 6, w: 5, c: 130, cout: 10, k: 3, groups: 2, stride: 1, padding: 2, dilation: 2 },
  // 1x1: GEMM-shaped (the tensor-core path by default on sm_80+), then two that are not.
  { n: 3, h: 7, w: 9, c: 130, cout: 70, k: 1, groups: 1, stride: 1, padding: 0, dilation: 1 },
  { n: 2, h: 7, w: 9, c: 130, cout: 70, k: 1, groups: 1, stride: 2, padding: 0, dilation: 1 },
  { n: 2, h: 5, w: 6, c: 130, cout: 70, k: 1, groups: 2, stride: 1, padding: 0, dilation: 1 },
]) {
  for (const padMode of ['zero', 'one'])
    for (const o of OUTS)
      add(`xnor conv2d ${JSON.stringify(g)} ${padMode} ${o.outputType || 'int32'}`, async (b) => {
        const run = { sync: b.xnor.conv2dSync, async: b.xnor.conv2d };
        const cg = g.c / g.groups;
        await compare(
          b,
          'conv2d',
          run,
          values(g.c, g.n * g.h * g.w * g.c),
          { layout: 'nhwc', shape: [g.n, g.h, g.w, g.c] },
          values(g.cout, g.cout * g.k * g.k * cg),
          { layout: 'weights', shape: [g.cout, g.k, g.k, cg] },
          { ...o, padMode, groups: g.groups, stride: g.stride, padding: g.padding, dilation: g.dilation },
        );
      });
}

module.exports = { cases };

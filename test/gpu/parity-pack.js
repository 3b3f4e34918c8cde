// CUDA-vs-CPU parity of bit packing (binarize.pack / packSync / unpack): the words
// must be identical (bits are exact), NaN errors must carry the same index.
// Plain JavaScript, same conventions as parity.js.
'use strict';
const { rng } = require('./parity.js');

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

function values(seed, n) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < 0.03 ? 0 : u < 0.06 ? -0 : r() * 2 - 1;
  }
  return out;
}

function sameWords(name, got, want) {
  if (got.length !== want.length) throw new Error(`${name}: ${got.length} words, CPU has ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${name}: word ${i} is ${got[i].toString(16)} on CUDA, ${want[i].toString(16)} on the CPU`);
  }
}

function sameFloats(name, got, want) {
  if (got.length !== want.length) throw new Error(`${name}: ${got.length} floats, CPU has ${want.length}`);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`${name}: float ${i} is ${got[i]} on CUDA, ${want[i]} on the CPU`);
}

async function expectNan(p, index) {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e.code !== 'BITGRAD_NAN_IN_PACK') throw new Error(`expected BITGRAD_NAN_IN_PACK, got ${e.code}: ${e.message}`);
    if (e.index !== index) throw new Error(`NaN index ${e.index}, expected ${index}`);
    return;
  }
  throw new Error('expected BITGRAD_NAN_IN_PACK, got success');
}

// Packs x on both devices (async from a CUDA tensor, sync from host data sent to
// cuda:0) and compares words and unpacked floats.
async function compare(b, name, x, opts) {
  const { pack, packSync, unpack } = b.binarize;
  const cpu = packSync(x, { ...opts, device: 'cpu' });
  const want = cpu.dataSync();
  const wantBack = unpack(cpu).dataSync();
  const xt = b.tensor(x, [x.length], { device: 'cuda:0' });
  const g1 = await pack(xt, { ...opts });
  const g2 = packSync(x, { ...opts, device: 'cuda:0' });
  if (g1.device !== 'cuda:0' || g2.device !== 'cuda:0') throw new Error(`${name}: result on ${g1.device} / ${g2.device}`);
  if (JSON.stringify(g1.shape) !== JSON.stringify(cpu.shape) || g1.k !== cpu.k || g1.words !== cpu.words)
    throw new Error(`${name}: geometry ${g1} vs ${cpu}`);
  sameWords(`${name} (async)`, await g1.data(), want);
  sameWords(`${name} (sync)`, g2.dataSync(), want);
  const back = unpack(g1);
  sameFloats(`${name} unpack`, await back.data(), wantBack);
  for (const t of [cpu, xt, g1, g2, back]) t.dispose();
}

for (const C of [1, 3, 63, 64, 65, 513]) {
  for (const layout of ['nhwc', 'weights']) {
    for (const inputLayout of ['nhwc', 'nchw']) {
      add(`pack ${layout} from ${inputLayout}, C=${C}, batch 2`, async (b) => {
        const [N, H, W] = [2, 5, 3];
        const shape = inputLayout === 'nhwc' ? [N, H, W, C] : [N, C, H, W];
        await compare(b, `C=${C}`, values(C * 13 + layout.length + inputLayout.length, N * H * W * C), { layout, inputLayout, shape });
      });
    }
  }
}

for (const [shape, inputLayout] of [[[8, 56, 56, 256], 'nhwc'], [[8, 256, 56, 56], 'nchw'], [[4, 3, 224, 224], 'nchw'], [[3, 97, 33, 31], 'nchw']]) {
  add(`pack large [${shape}] from ${inputLayout}`, async (b) => {
    const n = shape.reduce((a, c) => a * c, 1);
    await compare(b, `[${shape}]`, values(n, n), { layout: 'nhwc', inputLayout, shape });
  });
}

for (const shape of [[1000, 1000], [7, 1], [3, 0], [0, 9], [1, 4097]]) {
  add(`pack rows [${shape}]`, async (b) => {
    const n = shape.reduce((a, c) => a * c, 1);
    await compare(b, `rows [${shape}]`, values(n + 1, n), { layout: 'rows', shape });
  });
}

add('pack sign convention on cuda: -0, +0, ±Inf, denormals', async (b) => {
  const x = Float32Array.of(-0, 0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1);
  const g = await b.binarize.pack(x, { layout: 'rows', shape: [1, 10], device: 'cuda:0' });
  const w = await g.data();
  if (w[0] !== 0b0101010111n) throw new Error(`word ${w[0].toString(2)}`);
  g.dispose();
});

for (const inputLayout of ['nhwc', 'nchw']) {
  add(`pack NaN on cuda gives the CPU's first index (${inputLayout})`, async (b) => {
    const [N, C, H, W] = [2, 70, 9, 9];
    const shape = inputLayout === 'nhwc' ? [N, H, W, C] : [N, C, H, W];
    const n = N * C * H * W;
    const x = values(77, n);
    x[n - 3] = NaN;
    x[4321] = NaN;
    x[n - 1] = NaN;
    const live = b.memory().liveTensors;
    const xt = b.tensor(x, [n], { device: 'cuda:0' });
    await expectNan(b.binarize.pack(xt, { layout: 'nhwc', inputLayout, shape }), 4321);
    await expectNan(() => b.binarize.packSync(xt, { layout: 'nhwc', inputLayout, shape }), 4321);
    await expectNan(() => b.binarize.packSync(x, { layout: 'nhwc', inputLayout, shape, device: 'cpu' }), 4321);
    xt.dispose();
    if (b.memory().liveTensors !== live) throw new Error('a failed pack leaked tensors');
    // The device is still usable afterwards.
    x.fill(1);
    await compare(b, 'after NaN', x, { layout: 'nhwc', inputLayout, shape });
  });
}

add('BitTensor to() between cpu and cuda:0 keeps the words', async (b) => {
  const x = values(5, 4 * 130);
  const cpu = b.binarize.packSync(x, { layout: 'rows', shape: [4, 130] });
  const g = cpu.to('cuda:0');
  const back = g.to('cpu');
  sameWords('to()', back.dataSync(), cpu.dataSync());
  const f = b.binarize.BitTensor.fromWords(cpu.dataSync(), [4, 130], 'rows', { device: 'cuda:0' });
  sameWords('fromWords', await f.data(), cpu.dataSync());
  for (const t of [cpu, g, back, f]) t.dispose();
});

module.exports = { cases };

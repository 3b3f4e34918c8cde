// Lifetime cases for the CUDA path: memory and JS objects released while GPU work that
// uses them is still queued, and an environment torn down under pending completions.
// A failure here is often a crash of the whole process rather than a thrown error.
'use strict';
const path = require('path');
const { Worker } = require('worker_threads');
const { assertClose } = require('./parity.js');

const dist = process.env.BITGRAD_DIST || path.join(__dirname, '..', '..', 'dist', 'index.js');

function ramp(n, lo, hi) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + ((hi - lo) * ((i * 7919) % 1009)) / 1008;
  return out;
}

const cases = [];
function add(name, fn) {
  cases.push({ name, fn });
}

add('lifetimes: inputs disposed right after an async op is queued; freed blocks reused at once', async (b) => {
  const n = (1 << 20) + 3;
  const x = ramp(n, -12, 12);
  const y = ramp(n, 0, 1);
  const host = b.losses.bceWithLogitsSync(x, y, { reduction: 'none' });
  const xt = b.tensor(x, [n], { device: 'cuda:0' });
  const yt = b.tensor(y, [n], { device: 'cuda:0' });
  const p = b.losses.bceWithLogits(xt, yt, { reduction: 'none' });
  xt.dispose();
  yt.dispose();
  // Same sizes: the pool hands the just-freed blocks back (stream-ordered after the op).
  const junk = [b.tensor(new Float32Array(n).fill(NaN), [n], { device: 'cuda:0' }), b.tensor(new Float32Array(n).fill(-1), [n], { device: 'cuda:0' })];
  const out = await p;
  for (const j of junk) j.dispose();
  assertClose('loss', await out.loss.data(), host.loss);
  assertClose('grad', await out.grad.data(), host.grad);
  out.loss.dispose();
  out.grad.dispose();
});

add('lifetimes: a tensor disposed while its async read is in flight still reads back its data', async (b) => {
  const n = (1 << 22) + 1;
  const x = ramp(n, -3, 3);
  const t = b.tensor(x, [n], { device: 'cuda:0' });
  const reads = [t.data(), t.data()];
  t.dispose();
  for (const r of await Promise.all(reads)) assertClose('read', r, x);
});

add('lifetimes: terminating a worker with GPU completions pending does not crash the process', async (b) => {
  for (let round = 0; round < 3; round++) {
    const w = new Worker(
      `const { workerData, parentPort } = require('worker_threads');
       const b = require(workerData.dist);
       const n = 1 << 26;
       const x = b.tensor(new Float32Array(n).fill(0.5), [n], { device: 'cuda:0' });
       const y = b.tensor(new Float32Array(n).fill(1), [n], { device: 'cuda:0' });
       const small = b.tensor(new Float32Array(1024).fill(2), [1024], { device: 'cuda:0' });
       for (let i = 0; i < 300; i++) {
         b.losses.bceWithLogits(x, y, { grad: false }).catch(() => {});
         if (i % 10 === 0) small.data().catch(() => {});
       }
       setImmediate(() => parentPort.postMessage('queued'));`,
      { eval: true, workerData: { dist } },
    );
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
  }
  // Let the host callbacks of the dead environments fire, then use the GPU again.
  b.synchronize('cuda:0');
  await new Promise((r) => setTimeout(r, 300));
  const x = ramp(4099, -5, 5);
  const y = ramp(4099, 0, 1);
  const host = b.losses.bceWithLogitsSync(x, y, { reduction: 'none' });
  await b.scopeAsync(async () => {
    const out = await b.losses.bceWithLogits(b.tensor(x, [4099], { device: 'cuda:0' }), b.tensor(y, [4099], { device: 'cuda:0' }), { reduction: 'none' });
    assertClose('loss', await out.loss.data(), host.loss);
  });
});

module.exports = { cases };

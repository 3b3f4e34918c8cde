// worker_threads: each thread loads the addon in its own environment and computes.
import * as path from 'path';
import { Worker } from 'worker_threads';

const dist = path.join(__dirname, '..', 'dist', 'index.js');

function runWorker(code: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { dist } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (c) => c !== 0 && reject(new Error(`worker exited with ${c}`)));
  });
}

const body = `
const { parentPort, workerData } = require('worker_threads');
const b = require(workerData.dist);
(async () => {
  const x = new Float32Array(200000).map((_, i) => Math.sin(i));
  const y = new Float32Array(200000).map((_, i) => (i % 3) / 2);
  const s = b.losses.bceWithLogitsSync(x, y, { reduction: 'sum' });
  const a = await b.losses.bceWithLogits(x, y, { reduction: 'sum' });
  const t = b.tensor(x.subarray(0, 10), [10], { device: 'cpu' });
  const back = t.dataSync()[3];
  t.dispose();
  let code = null;
  try { b.tensor([1], [1]); } catch (e) { code = e.code + ':' + (e instanceof b.ValidationError); }
  parentPort.postMessage({ sync: s.loss, async: a.loss, back, code, backend: b.backend().name });
})();
`;

test('two workers and the main thread compute the same loss', async () => {
  const main = require(dist);
  const x = new Float32Array(200000).map((_, i) => Math.sin(i));
  const y = new Float32Array(200000).map((_, i) => (i % 3) / 2);
  const expected = main.losses.bceWithLogitsSync(x, y, { reduction: 'sum' }).loss;
  const results = (await Promise.all([runWorker(body), runWorker(body)])) as Array<Record<string, unknown>>;
  for (const r of results) {
    expect(r.sync).toBe(expected);
    expect(r.async).toBe(expected);
    expect(r.back).toBe(Math.fround(Math.sin(3)));
    expect(r.code).toBe('BITGRAD_INVALID_DTYPE:true');
  }
});

test('terminating a worker in the middle of async work does not crash the process', async () => {
  const w = new Worker(
    `const { workerData, parentPort } = require('worker_threads');
     const b = require(workerData.dist);
     const x = new Float32Array(4e6); const y = new Float32Array(4e6);
     for (let i = 0; i < 8; i++) b.losses.bceWithLogits(x, y);
     parentPort.postMessage('queued');`,
    { eval: true, workerData: { dist } },
  );
  await new Promise((r) => w.once('message', r));
  await w.terminate();
  const main = require(dist);
  expect(main.losses.bceWithLogitsSync(Float32Array.of(0), Float32Array.of(0)).loss).toBeCloseTo(Math.log(2), 6);
});

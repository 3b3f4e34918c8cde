// Seeded fuzz: random bad arguments at every public function. Each call must either
// return normally (the arguments happened to be valid) or throw / reject with a
// BitgradError carrying a code — never a TypeError from deep inside, never a crash.
// Later ops add themselves to TARGETS.
import * as bitgrad from '../lib';
import { rng } from './helpers';

type Target = { name: string; call: (a: unknown[]) => unknown };

function pool(r: () => number): unknown[] {
  const disposed = bitgrad.tensor(Float32Array.of(1, 2), [2], { device: 'cpu' });
  disposed.dispose();
  const f2 = bitgrad.tensor(Float32Array.of(0.5, 0.5), [2], { device: 'cpu' });
  const i2 = bitgrad.tensor(Int32Array.of(1, 2), [2], { device: 'cpu' });
  const u3 = bitgrad.tensor(Uint8Array.of(1, 2, 3), [3], { device: 'cpu' });
  return [
    undefined, null, 0, -1, 1, 2.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31), 'cpu', 'cuda', 'cuda:99', 'x', '',
    true, false, {}, [], [1, 2], [-1], [2.5], [2, 3], [0], [1e12, 1e12], Symbol('s'), () => 1, BigInt(3),
    new Float32Array(0), Float32Array.of(0.5, 0.5), Float32Array.of(NaN, 2), new Float32Array(7).fill(Math.floor(r() * 3)),
    new Float64Array(2), new Int32Array(2), new Uint8Array(3), new ArrayBuffer(8), new DataView(new ArrayBuffer(4)),
    disposed, f2, i2, u3, { reduction: 'bogus' }, { reduction: 'none', gradOutput: 3 }, { weight: 'w' },
    { weight: Float32Array.of(1, 2, 3) }, { posWeight: NaN }, { shape: [3, 3] }, { shape: 'x' }, { grad: 'yes' },
    { checkTargets: 1 }, { device: 'tpu' }, { device: 'cuda:3' }, { weightShape: [-1] }, { gradOutput: f2 },
    { posWeight: i2 }, { weight: disposed }, { gradInto: f2 }, { gradInto: disposed }, { gradInto: new Float32Array(2) }, Object.create(null), new Proxy({}, {}), new Map(), new Date(0),
  ];
}

const live = bitgrad.tensor(Float32Array.of(1, 2), [2], { device: 'cpu' });

const TARGETS: Target[] = [
  { name: 'tensor', call: (a) => bitgrad.tensor(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'Tensor.to', call: (a) => live.to(a[0] as never) },
  { name: 'Tensor.data', call: (a) => (a[0] instanceof bitgrad.Tensor ? a[0].data() : live.data()) },
  { name: 'setMemoryCap', call: (a) => bitgrad.setMemoryCap(a[0] as never, a[1] as never) },
  { name: 'setSimd', call: (a) => bitgrad.setSimd(a[0] as never) },
  { name: 'setNumThreads', call: (a) => bitgrad.setNumThreads(a[0] as never) },
  { name: 'scope', call: (a) => bitgrad.scope(a[0] as never) },
  { name: 'scopeAsync', call: (a) => bitgrad.scopeAsync(a[0] as never) },
  { name: 'keep', call: (a) => bitgrad.keep(a[0] as never) },
  { name: 'synchronize', call: (a) => bitgrad.synchronize(a[0] as never) },
  { name: 'configure', call: (a) => bitgrad.configure(a[0] as never) },
  { name: 'losses.bceWithLogits', call: (a) => bitgrad.losses.bceWithLogits(a[0] as never, a[1] as never, a[2] as never) },
  { name: 'losses.bceWithLogitsSync', call: (a) => bitgrad.losses.bceWithLogitsSync(a[0] as never, a[1] as never, a[2] as never) },
];

function isCoded(e: unknown): boolean {
  return e instanceof bitgrad.BitgradError && typeof e.code === 'string' && /^BITGRAD_[A-Z_]+$/.test(e.code);
}

test('1,500 random bad calls: coded errors only, no crash', async () => {
  const r = rng(20261129);
  const values = pool(r);
  const pick = () => values[Math.floor(r() * values.length)];
  const uncoded: string[] = [];
  let calls = 0;
  let threw = 0;
  for (let i = 0; i < 1500; i++) {
    const t = TARGETS[i % TARGETS.length];
    const args = [pick(), pick(), pick()];
    calls++;
    try {
      const out = t.call(args);
      if (out instanceof Promise) await out;
    } catch (e) {
      threw++;
      if (!isCoded(e)) uncoded.push(`${t.name}(${args.map((x) => String(typeof x === 'symbol' ? 'Symbol' : x)).join(', ')}): ${String(e)}`);
    }
  }
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
  bitgrad.setMemoryCap('cpu', 0);
  expect(uncoded.slice(0, 10)).toEqual([]);
  expect(calls).toBe(1500);
  expect(threw).toBeGreaterThan(1000);
});

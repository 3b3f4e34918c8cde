// Tensors: round trips, views, dispose, scopes, memory counters, the GC backstop.
import * as v8 from 'v8';
import * as vm from 'vm';
import * as bitgrad from '../lib';
import { rejected, thrown } from './helpers';

const { tensor, scope, scopeAsync, keep, memory } = bitgrad;

// Counters are process-wide, and the GC may free tensors leaked by earlier test files at
// any moment (each moves one count from liveTensors to gcFreed), so tests compare the
// sum, which only the test's own tensors change.
function live(): number {
  const m = memory();
  return m.liveTensors + m.gcFreed;
}
function liveBytes(): number {
  const m = memory();
  return m.devices.cpu.liveBytes + m.gcFreedBytes;
}

describe('round trips', () => {
  test.each([
    ['float32', Float32Array.from([1.5, -2, 3e-8, NaN, Infinity, -0])],
    ['int32', Int32Array.from([1, -2, 2147483647, -2147483648])],
    ['uint8', Uint8Array.from([0, 1, 255, 128])],
  ])('%s', async (dtype, data) => {
    const t = tensor(data as Float32Array, [2, data.length / 2], { device: 'cpu' });
    expect(t.dtype).toBe(dtype);
    expect(t.shape).toEqual([2, data.length / 2]);
    expect(t.device).toBe('cpu');
    expect(t.size).toBe(data.length);
    expect(Array.from(t.dataSync())).toEqual(Array.from(data));
    expect(Array.from(await t.data())).toEqual(Array.from(data));
    const c = t.to('cpu');
    expect(c).not.toBe(t);
    expect(Array.from(c.dataSync())).toEqual(Array.from(data));
    t.dispose();
    c.dispose();
  });

  test('views with byte offsets copy only the view', () => {
    const backing = Float32Array.from([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    const t = tensor(view, undefined, { device: 'cpu' });
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    const u8 = new Uint8Array(new ArrayBuffer(16), 3, 5).fill(7);
    const t2 = tensor(u8, [5], { device: 'cpu' });
    expect(Array.from(t2.dataSync())).toEqual([7, 7, 7, 7, 7]);
    t.dispose();
    t2.dispose();
  });

  test('scalars and empty tensors', () => {
    const s = tensor(Float32Array.of(4), [], { device: 'cpu' });
    expect(s.shape).toEqual([]);
    expect(Array.from(s.dataSync())).toEqual([4]);
    const e = tensor(new Float32Array(0), [0, 3], { device: 'cpu' });
    expect(e.size).toBe(0);
    expect(e.dataSync().length).toBe(0);
    s.dispose();
    e.dispose();
  });

  test('default device is the backend default', () => {
    const t = tensor(Float32Array.of(1));
    expect(t.device).toBe(bitgrad.defaultDevice());
    t.dispose();
  });
});

describe('validation', () => {
  test('bad data, shape, device', () => {
    expect(thrown(() => tensor([1, 2, 3] as never)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => tensor(new Float64Array(2) as never)).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => tensor(new Float32Array(6), [4, 2])).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => tensor(new Float32Array(6), [2, -3])).code).toBe('BITGRAD_INVALID_SHAPE');
    expect(thrown(() => tensor(new Float32Array(6), [2.5, 2])).code).toBe('BITGRAD_INVALID_SHAPE');
    expect(thrown(() => tensor(new Float32Array(1), [1], { device: 'gpu' as never })).code).toBe('BITGRAD_INVALID_DEVICE');
  });
  test('cuda tensors without a GPU throw DeviceError BITGRAD_NO_GPU', () => {
    if (bitgrad.backend().name === 'cuda') return;
    const e = thrown(() => tensor(new Float32Array(1), [1], { device: 'cuda' }));
    expect(e).toBeInstanceOf(bitgrad.DeviceError);
    expect(e.code).toBe('BITGRAD_NO_GPU');
  });
});

describe('dispose', () => {
  test('idempotent; every use after dispose throws BITGRAD_DISPOSED', async () => {
    const t = tensor(Float32Array.of(1, 2), [2], { device: 'cpu' });
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(thrown(() => t.dataSync()).code).toBe('BITGRAD_DISPOSED');
    expect((await rejected(t.data())).code).toBe('BITGRAD_DISPOSED');
    expect(thrown(() => t.to('cpu')).code).toBe('BITGRAD_DISPOSED');
    expect(thrown(() => t.dataSync())).toBeInstanceOf(bitgrad.ValidationError);
  });
  test('Symbol.dispose (using)', () => {
    const before = live();
    {
      using t = tensor(Float32Array.of(1), [1], { device: 'cpu' });
      expect(live()).toBe(before + 1);
      expect(t.disposed).toBe(false);
    }
    expect(live()).toBe(before);
  });
});

describe('scopes', () => {
  test('dispose everything except what is returned or kept', () => {
    const before = live();
    let inner!: bitgrad.Tensor;
    let kept!: bitgrad.Tensor;
    const out = scope(() => {
      inner = tensor(Float32Array.of(1), [1], { device: 'cpu' });
      kept = keep(tensor(Float32Array.of(2), [1], { device: 'cpu' }));
      const a = tensor(Float32Array.of(3), [1], { device: 'cpu' });
      const b = tensor(Float32Array.of(4), [1], { device: 'cpu' });
      return { pair: [a], nested: new Map([['b', b]]) };
    });
    expect(inner.disposed).toBe(true);
    expect(kept.disposed).toBe(false);
    expect(out.pair[0].disposed).toBe(false);
    expect(out.nested.get('b')!.disposed).toBe(false);
    expect(live()).toBe(before + 3);
    kept.dispose();
    out.pair[0].dispose();
    out.nested.get('b')!.dispose();
    expect(live()).toBe(before);
  });
  test('nested scopes hand returned tensors to the parent; throws dispose all', () => {
    const before = live();
    let escaped!: bitgrad.Tensor;
    scope(() => {
      escaped = scope(() => tensor(Float32Array.of(1), [1], { device: 'cpu' }));
      expect(escaped.disposed).toBe(false);
    });
    expect(escaped.disposed).toBe(true);
    expect(() =>
      scope(() => {
        escaped = tensor(Float32Array.of(1), [1], { device: 'cpu' });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(escaped.disposed).toBe(true);
    expect(live()).toBe(before);
    expect(thrown(() => scope(async () => 1 as never)).code).toBe('BITGRAD_ASYNC_SCOPE');
  });
  test('scopeAsync follows its own async flow only', async () => {
    const before = live();
    let outside!: bitgrad.Tensor;
    const p = scopeAsync(async () => {
      await new Promise((r) => setTimeout(r, 5));
      const t = tensor(Float32Array.of(1), [1], { device: 'cpu' });
      await new Promise((r) => setTimeout(r, 5));
      return [t, (await bitgrad.losses.bceWithLogits(t, t)).grad!];
    });
    outside = tensor(Float32Array.of(1), [1], { device: 'cpu' }); // concurrent, not in the scope
    const [t, g] = await p;
    expect(outside.disposed).toBe(false);
    expect(t.disposed).toBe(false);
    expect(g.disposed).toBe(false);
    for (const x of [outside, t, g]) x.dispose();
    expect(live()).toBe(before);
  });
});

describe('memory()', () => {
  test('counts bytes and returns to zero', () => {
    const n0 = live();
    const b0 = liveBytes();
    const t = tensor(new Float32Array(1000), [1000], { device: 'cpu' });
    const m1 = memory();
    expect(live()).toBe(n0 + 1);
    expect(liveBytes()).toBe(b0 + 4000);
    expect(m1.devices.cpu.peakBytes).toBeGreaterThanOrEqual(m1.devices.cpu.liveBytes);
    t.dispose();
    expect(liveBytes()).toBe(b0);
    expect(live()).toBe(n0);
  });
  test('freed large CPU blocks are pooled for reuse, not live, and emptyCache() returns them', () => {
    const n = 1 << 18; // 1 MiB of float32
    const dataA = new Float32Array(n).fill(3), dataB = new Float32Array(n).fill(5);
    bitgrad.emptyCache();
    expect(memory().devices.cpu.pooledBytes).toBe(0);
    const b0 = liveBytes();
    const a = tensor(dataA, [n], { device: 'cpu' });
    a.dispose();
    expect(liveBytes()).toBe(b0);
    const p1 = memory().devices.cpu.pooledBytes;
    expect(p1).toBeGreaterThanOrEqual(4 * n);
    // A block of the same size comes from the pool, and holds the new contents.
    const b = tensor(dataB, [n], { device: 'cpu' });
    const p2 = memory().devices.cpu.pooledBytes;
    expect(p1 - p2).toBe(4 * n);
    expect(liveBytes()).toBe(b0 + 4 * n);
    expect(b.dataSync()[n - 1]).toBe(5);
    b.dispose();
    bitgrad.emptyCache();
    expect(memory().devices.cpu.pooledBytes).toBe(0);
    // Small blocks are never pooled.
    tensor(new Float32Array(100), [100], { device: 'cpu' }).dispose();
    expect(memory().devices.cpu.pooledBytes).toBe(0);
  });
  test('a memory cap gives OutOfMemoryError with requested and available bytes', () => {
    const b0 = liveBytes();
    const base = memory().devices.cpu.liveBytes;
    bitgrad.setMemoryCap('cpu', base + 1024);
    try {
      const e = thrown(() => tensor(new Float32Array(1000), [1000], { device: 'cpu' }));
      expect(e).toBeInstanceOf(bitgrad.OutOfMemoryError);
      expect(e.code).toBe('BITGRAD_OUT_OF_MEMORY');
      expect(e.requestedBytes).toBe(4000);
      // A GC between the two reads could only free memory, raising what is available.
      expect(e.availableBytes).toBeGreaterThanOrEqual(1024);
    } finally {
      bitgrad.setMemoryCap('cpu', 0);
    }
    expect(liveBytes()).toBe(b0);
  });
  test('the GC finalizer frees leaked tensors and counts them', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const before = memory();
    (() => {
      for (let i = 0; i < 50; i++) tensor(new Float32Array(256), [256], { device: 'cpu' });
    })();
    for (let i = 0; i < 20 && memory().gcFreed < before.gcFreed + 50; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    const after = memory();
    expect(after.gcFreed).toBeGreaterThanOrEqual(before.gcFreed + 50);
    expect(after.gcFreedBytes).toBeGreaterThanOrEqual(before.gcFreedBytes + 50 * 1024);
    // The 50 were created and all freed by the GC (plus any older leaks it found).
    expect(after.liveTensors + after.gcFreed).toBe(before.liveTensors + before.gcFreed + 50);
    expect(after.liveTensors).toBeLessThanOrEqual(before.liveTensors);
  });
});

// Bit packing: pack / packSync / unpack against a plain-JS reference packer, every
// layout and input order, padding bits, the sign convention at 0 / -0 / ±Inf, NaN
// errors with their index, each SIMD path against the scalar one, BitTensor lifetime
// and scopes, and coded errors for bad arguments.
import * as bitgrad from '../lib';
import { rejected, rng, thrown } from './helpers';

const { pack, packSync, unpack, BitTensor } = bitgrad.binarize;
type Layout = 'nhwc' | 'weights' | 'rows';

/** Random floats in [-1, 1) with some exact +0 / -0 sprinkled in. */
function values(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < 0.03 ? 0 : u < 0.06 ? -0 : r() * 2 - 1;
  }
  return out;
}

/** The input in channels-last order (NCHW -> NHWC for 4-d 'nchw' input), as plain numbers. */
function channelsLast(x: Float32Array, shape: number[], inputLayout: 'nhwc' | 'nchw'): { logical: number[]; dims: number[] } {
  if (inputLayout === 'nhwc') return { logical: Array.from(x), dims: [...shape] };
  const [n, c, h, w] = shape;
  const logical: number[] = new Array(x.length);
  for (let a = 0; a < n; a++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let z = 0; z < w; z++) logical[((a * h + y) * w + z) * c + ch] = x[((a * c + ch) * h + y) * w + z];
  return { logical, dims: [n, h, w, c] };
}

/** Reference packer on plain numbers and BigInts: bit c%64 of word c/64 is (v >= 0). */
function refPack(logical: number[], k: number): BigUint64Array {
  const rows = k === 0 ? 0 : logical.length / k;
  const words = Math.ceil(k / 64);
  const out = new BigUint64Array(rows * words);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < k; c++) if (logical[r * k + c] >= 0) out[r * words + Math.floor(c / 64)] |= 1n << BigInt(c % 64);
  return out;
}

function signs(logical: number[]): number[] {
  return logical.map((v) => (v >= 0 ? 1 : -1));
}

function expectWords(got: BigUint64Array, want: BigUint64Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) throw new Error(`word ${i}: got ${got[i].toString(16)}, want ${want[i].toString(16)}`);
}

afterAll(() => {
  bitgrad.setSimd('auto');
  bitgrad.setNumThreads(require('os').cpus().length);
});

describe('round trips', () => {
  const CHANNELS = [1, 3, 63, 64, 65, 513];
  for (const layout of ['nhwc', 'weights'] as const) {
    for (const inputLayout of ['nhwc', 'nchw'] as const) {
      test.each(CHANNELS)(`${layout} from ${inputLayout}, C = %i, batch 2`, async (C) => {
        const [N, H, W] = layout === 'nhwc' ? [2, 3, 2] : [3, 3, 3];
        const shape = inputLayout === 'nhwc' ? [N, H, W, C] : [N, C, H, W];
        const x = values(C * 31 + (layout === 'nhwc' ? 1 : 2) + (inputLayout === 'nhwc' ? 0 : 7), N * H * W * C);
        const { logical, dims } = channelsLast(x, shape, inputLayout);
        const want = refPack(logical, C);
        const bits = await pack(x, { layout, inputLayout, shape });
        expect(bits).toBeInstanceOf(BitTensor);
        expect(bits.shape).toEqual(dims);
        expect(bits.layout).toBe(layout);
        expect(bits.k).toBe(C);
        expect(bits.words).toBe(Math.ceil(C / 64));
        expect(bits.rows).toBe(N * H * W);
        expect(bits.device).toBe('cpu');
        expect(bits.byteLength).toBe(N * H * W * bits.words * 8);
        expectWords(bits.dataSync(), want);
        expectWords(await bits.data(), want);
        const back = unpack(bits);
        expect(back.shape).toEqual(dims);
        expect(back.dtype).toBe('float32');
        expect(Array.from(back.dataSync())).toEqual(signs(logical));
        // Sync form and a tensor input give the same words.
        const s = packSync(x, { layout, inputLayout, shape });
        expectWords(s.dataSync(), want);
        const t = bitgrad.tensor(x, shape, { device: 'cpu' });
        const fromTensor = await pack(t, { layout, inputLayout });
        expectWords(fromTensor.dataSync(), want);
        for (const d of [bits, back, s, t, fromTensor]) d.dispose();
      });
    }
  }

  test.each([
    [[5, 65]],
    [[3, 2, 130]],
    [[7]],
    [[4, 64]],
    [[0, 5]],
    [[4, 0]],
    [[1, 1]],
  ])("rows, shape %j", async (shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = values(n + 5, n);
    const k = shape[shape.length - 1];
    const bits = await pack(x, { layout: 'rows', shape });
    expect(bits.shape).toEqual(shape);
    expect(bits.k).toBe(k);
    expect(bits.rows).toBe(shape.slice(0, -1).reduce((a, b) => a * b, 1));
    expectWords(bits.dataSync(), refPack(Array.from(x), k));
    const back = unpack(bits);
    expect(back.shape).toEqual(shape);
    expect(Array.from(back.dataSync())).toEqual(signs(Array.from(x)));
    bits.dispose();
    back.dispose();
  });

  test('NCHW with 1 x 1 images and a single channel', () => {
    for (const shape of [[4, 70, 1, 1], [3, 1, 5, 7]]) {
      const x = values(shape[1], shape.reduce((a, b) => a * b, 1));
      const { logical } = channelsLast(x, shape, 'nchw');
      const bits = packSync(x, { layout: 'weights', inputLayout: 'nchw', shape });
      expectWords(bits.dataSync(), refPack(logical, shape[1]));
      bits.dispose();
    }
  });

  test("rows defaults to one row of the whole Float32Array", () => {
    const x = values(3, 100);
    const bits = packSync(x, { layout: 'rows' });
    expect(bits.shape).toEqual([100]);
    expect(bits.rows).toBe(1);
    expectWords(bits.dataSync(), refPack(Array.from(x), 100));
    bits.dispose();
  });

  test('a tensor may be re-viewed with the shape option', () => {
    const x = values(11, 2 * 70);
    const t = bitgrad.tensor(x, [140], { device: 'cpu' });
    const bits = packSync(t, { layout: 'rows', shape: [2, 70] });
    expect(bits.shape).toEqual([2, 70]);
    expectWords(bits.dataSync(), refPack(Array.from(x), 70));
    t.dispose();
    bits.dispose();
  });

  test('large inputs (worker thread and thread pool) in both orders', async () => {
    for (const inputLayout of ['nhwc', 'nchw'] as const) {
      const [N, C, H, W] = [3, 97, 33, 31];
      const shape = inputLayout === 'nhwc' ? [N, H, W, C] : [N, C, H, W];
      const x = values(99, N * C * H * W);
      const { logical } = channelsLast(x, shape, inputLayout);
      const bits = await pack(x, { layout: 'nhwc', inputLayout, shape });
      expectWords(bits.dataSync(), refPack(logical, C));
      const back = unpack(bits);
      expect(Array.from(back.dataSync())).toEqual(signs(logical));
      bits.dispose();
      back.dispose();
    }
  });
});

describe('bit convention', () => {
  test('-0 and +0 pack to +1, +Inf to +1, -Inf and tiny negatives to -1', () => {
    const x = Float32Array.of(-0, 0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1);
    const bits = packSync(x, { layout: 'rows', shape: [1, 10] });
    expect(bits.dataSync()[0]).toBe(0b0101010111n);
    const back = unpack(bits);
    expect(Array.from(back.dataSync())).toEqual([1, 1, 1, -1, 1, -1, 1, -1, 1, -1]);
    bits.dispose();
    back.dispose();
  });

  test('padding bits past k are zero even when every value is +1', async () => {
    for (const C of [1, 3, 63, 65, 513]) {
      for (const inputLayout of ['nhwc', 'nchw'] as const) {
        const x = new Float32Array(2 * 2 * 3 * C).fill(0.5);
        const shape = inputLayout === 'nhwc' ? [2, 2, 3, C] : [2, C, 2, 3];
        const bits = await pack(x, { layout: 'nhwc', inputLayout, shape });
        const w = bits.dataSync();
        const last = C % 64 === 0 ? 0xffffffffffffffffn : (1n << BigInt(C % 64)) - 1n;
        for (let r = 0; r < bits.rows; r++) {
          for (let j = 0; j < bits.words - 1; j++) expect(w[r * bits.words + j]).toBe(0xffffffffffffffffn);
          expect(w[r * bits.words + bits.words - 1]).toBe(last);
        }
        bits.dispose();
      }
    }
  });
});

describe('NaN is a coded error with the index of the first NaN', () => {
  const live = () => bitgrad.memory().liveTensors;

  test('host input, async and sync, nhwc order', async () => {
    const x = values(5, 2 * 2 * 2 * 70);
    x[200] = NaN;
    x[150] = NaN;
    const before = live();
    const e = await rejected(pack(x, { layout: 'nhwc', shape: [2, 2, 2, 70] }));
    expect(e).toBeInstanceOf(bitgrad.ValidationError);
    expect(e.code).toBe('BITGRAD_NAN_IN_PACK');
    expect(e.index).toBe(150);
    const s = thrown(() => packSync(x, { layout: 'nhwc', shape: [2, 2, 2, 70] }));
    expect(s.code).toBe('BITGRAD_NAN_IN_PACK');
    expect(s.index).toBe(150);
    expect(live()).toBe(before);
  });

  test('nchw input reports the index in the input order', () => {
    const [N, C, H, W] = [2, 70, 3, 3];
    const x = values(8, N * C * H * W);
    const at = ((1 * C + 5) * H + 2) * W + 1; // n=1, c=5, h=2, w=1
    x[at] = NaN;
    x[at + 200] = NaN;
    const e = thrown(() => packSync(x, { layout: 'nhwc', inputLayout: 'nchw', shape: [N, C, H, W] }));
    expect(e.code).toBe('BITGRAD_NAN_IN_PACK');
    expect(e.index).toBe(at);
  });

  test.each(['scalar', 'avx2', 'avx512'] as const)('large input on a worker, %s path, NaN in the tail', async (path) => {
    bitgrad.setSimd(path);
    const n = 4 * 16 * 16 * 65;
    const x = values(13, n);
    x[n - 1] = NaN;
    const e = await rejected(pack(x, { layout: 'nhwc', shape: [4, 16, 16, 65] }));
    expect(e.code).toBe('BITGRAD_NAN_IN_PACK');
    expect(e.index).toBe(n - 1);
    x[n - 1] = 0;
    x[3] = NaN;
    const e2 = await rejected(pack(x, { layout: 'nhwc', inputLayout: 'nchw', shape: [4, 65, 16, 16] }));
    expect(e2.index).toBe(3);
    bitgrad.setSimd('auto');
  });
});

describe('SIMD paths and threads agree bit for bit with scalar', () => {
  const cases: [string, number[], Layout, 'nhwc' | 'nchw'][] = [
    ['C=1', [3, 5, 7, 1], 'nhwc', 'nhwc'],
    ['C=3', [3, 5, 7, 3], 'nhwc', 'nhwc'],
    ['C=63', [2, 9, 9, 63], 'weights', 'nhwc'],
    ['C=64', [2, 9, 9, 64], 'nhwc', 'nhwc'],
    ['C=65', [2, 9, 9, 65], 'nhwc', 'nhwc'],
    ['C=513', [2, 4, 5, 513], 'nhwc', 'nhwc'],
    ['NCHW C=3', [2, 3, 17, 19], 'nhwc', 'nchw'],
    ['NCHW C=65', [2, 65, 9, 11], 'nhwc', 'nchw'],
    ['NCHW C=513 (OIHW weights)', [5, 513, 3, 3], 'weights', 'nchw'],
    ['NCHW big', [2, 130, 40, 40], 'nhwc', 'nchw'],
    // Planes longer than the SIMD loops' pixel blocks (2048): full blocks and a partial one.
    ['NCHW long planes', [2, 70, 70, 70], 'nhwc', 'nchw'],
    ['rows big', [600, 1000], 'rows', 'nhwc'],
  ];
  test.each(cases)('%s', (_name, shape, layout, inputLayout) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = values(n, n);
    bitgrad.setSimd('scalar');
    const ref = packSync(x, { layout, inputLayout, shape });
    const refWords = ref.dataSync();
    const refBack = unpack(ref).dataSync();
    for (const path of ['avx2', 'avx512'] as const) {
      const info = bitgrad.setSimd(path);
      if (info.simd !== path) continue; // the CPU lacks it (reported, falls back)
      for (const threads of [1, 2]) {
        bitgrad.setNumThreads(threads);
        const b = packSync(x, { layout, inputLayout, shape });
        expectWords(b.dataSync(), refWords);
        const back = unpack(b);
        expect(back.dataSync()).toEqual(refBack);
        b.dispose();
        back.dispose();
      }
    }
    bitgrad.setSimd('auto');
    ref.dispose();
  });
});

describe('BitTensor', () => {
  test('dispose, disposed, using, toString, to()', () => {
    const b = packSync(Float32Array.of(1, -1, 2), { layout: 'rows', shape: [1, 3] });
    expect(String(b)).toBe('BitTensor(rows[1,3], k=3, words=1 @ cpu)');
    const c = b.to('cpu');
    expect(c).not.toBe(b);
    expect(c.dataSync()[0]).toBe(0b101n);
    b.dispose();
    b.dispose();
    expect(b.disposed).toBe(true);
    expect(String(b)).toContain('disposed');
    expect(thrown(() => b.dataSync()).code).toBe('BITGRAD_DISPOSED');
    expect(thrown(() => unpack(b)).code).toBe('BITGRAD_DISPOSED');
    {
      using u = c;
      expect(u.disposed).toBe(false);
    }
    expect(c.disposed).toBe(true);
  });

  test('fromWords round trip, and padding bits are checked', () => {
    const words = BigUint64Array.of(0xffffffffffffffffn, 0x1n, 0x0n, 0x1n);
    const b = BitTensor.fromWords(words, [2, 65], 'rows', { device: 'cpu' });
    expect(Array.from(b.dataSync())).toEqual(Array.from(words));
    const unpacked = unpack(b);
    const back = unpacked.dataSync();
    unpacked.dispose();
    expect(back[0]).toBe(1);
    expect(back[64]).toBe(1);
    expect(back[65]).toBe(-1);
    expect(back[65 + 64]).toBe(1);
    b.dispose();
    expect(thrown(() => BitTensor.fromWords(BigUint64Array.of(1n, 2n), [1, 65], 'rows')).code).toBe('BITGRAD_NONZERO_PADDING');
    expect(thrown(() => BitTensor.fromWords(BigUint64Array.of(1n), [1, 65], 'rows')).code).toBe('BITGRAD_SHAPE_MISMATCH');
    expect(thrown(() => BitTensor.fromWords([1n] as never, [1, 1], 'rows')).code).toBe('BITGRAD_INVALID_DTYPE');
    expect(thrown(() => BitTensor.fromWords(BigUint64Array.of(1n), [1, 1], 'nhwc')).code).toBe('BITGRAD_INVALID_SHAPE');
  });

  test('scopes dispose bit tensors made inside, except returned or kept ones', async () => {
    const live = () => bitgrad.memory().liveTensors;
    const before = live();
    let inner: InstanceType<typeof BitTensor> | undefined;
    let kept: InstanceType<typeof BitTensor> | undefined;
    const out = bitgrad.scope(() => {
      inner = packSync(Float32Array.of(1, 2), { layout: 'rows' });
      kept = bitgrad.keep(packSync(Float32Array.of(1, 2), { layout: 'rows' }));
      return { result: [packSync(Float32Array.of(-1), { layout: 'rows' })] };
    });
    expect(inner!.disposed).toBe(true);
    expect(kept!.disposed).toBe(false);
    expect(out.result[0].disposed).toBe(false);
    const asyncOut = await bitgrad.scopeAsync(async () => {
      const a = await pack(Float32Array.of(1), { layout: 'rows' });
      const t = unpack(a); // a tensor made from a bit tensor, both owned by the scope
      void t;
      return new Map([['b', await pack(Float32Array.of(2), { layout: 'rows' })]]);
    });
    expect(asyncOut.get('b')!.disposed).toBe(false);
    expect(thrown(() => bitgrad.scope(() => {
      packSync(Float32Array.of(1), { layout: 'rows' });
      throw new bitgrad.ValidationError('boom', 'BITGRAD_TEST');
    })).code).toBe('BITGRAD_TEST');
    out.result[0].dispose();
    kept!.dispose();
    asyncOut.get('b')!.dispose();
    expect(live()).toBe(before);
    expect(thrown(() => bitgrad.keep({ dispose() {} } as never)).code).toBe('BITGRAD_INVALID_ARGUMENT');
  });
});

describe('bad arguments give coded errors', () => {
  const x = Float32Array.of(1, 2, 3, 4);
  const cases: [string, () => unknown, string][] = [
    ['no options', () => packSync(x, undefined as never), 'BITGRAD_INVALID_ARGUMENT'],
    ['options not an object', () => packSync(x, 'rows' as never), 'BITGRAD_INVALID_ARGUMENT'],
    ['unknown layout', () => packSync(x, { layout: 'nchw' as never }), 'BITGRAD_INVALID_ARGUMENT'],
    ['unknown inputLayout', () => packSync(x, { layout: 'nhwc', inputLayout: 'chw' as never, shape: [1, 1, 2, 2] }), 'BITGRAD_INVALID_ARGUMENT'],
    ['nchw with rows', () => packSync(x, { layout: 'rows', inputLayout: 'nchw' }), 'BITGRAD_INVALID_ARGUMENT'],
    ['4-d layout without shape', () => packSync(x, { layout: 'nhwc' }), 'BITGRAD_INVALID_SHAPE'],
    ['3-d shape for nhwc', () => packSync(x, { layout: 'nhwc', shape: [1, 2, 2] }), 'BITGRAD_INVALID_SHAPE'],
    ['scalar shape for rows', () => packSync(Float32Array.of(1), { layout: 'rows', shape: [] }), 'BITGRAD_INVALID_SHAPE'],
    ['negative dim', () => packSync(x, { layout: 'rows', shape: [-4] }), 'BITGRAD_INVALID_SHAPE'],
    ['shape / length mismatch', () => packSync(x, { layout: 'rows', shape: [5] }), 'BITGRAD_SHAPE_MISMATCH'],
    ['Float64Array', () => packSync(new Float64Array(4) as never, { layout: 'rows' }), 'BITGRAD_INVALID_DTYPE'],
    ['plain array', () => packSync([1, 2] as never, { layout: 'rows' }), 'BITGRAD_INVALID_ARGUMENT'],
    ['int32 tensor', () => packSync(bitgrad.tensor(Int32Array.of(1), [1], { device: 'cpu' }) as never, { layout: 'rows' }), 'BITGRAD_INVALID_DTYPE'],
    ['unknown device', () => packSync(x, { layout: 'rows', device: 'tpu' as never }), 'BITGRAD_INVALID_DEVICE'],
    ['unpack of a tensor', () => unpack(bitgrad.tensor(x, [4], { device: 'cpu' }) as never), 'BITGRAD_INVALID_ARGUMENT'],
  ];
  test.each(cases)('%s', (_name, fn, code) => {
    const e = bitgrad.scope(() => thrown(fn)); // the scope frees tensors made for the case
    expect(e).toBeInstanceOf(bitgrad.BitgradError);
    expect(e.code).toBe(code);
  });

  test('disposed tensor, device mismatch, and a GPU that is not there', async () => {
    const t = bitgrad.tensor(x, [4], { device: 'cpu' });
    expect(thrown(() => packSync(t, { layout: 'rows', device: 'cuda:0' })).code).toBe('BITGRAD_DEVICE_MISMATCH');
    t.dispose();
    expect((await rejected(pack(t, { layout: 'rows' }))).code).toBe('BITGRAD_DISPOSED');
    if (bitgrad.backend().name !== 'cuda') {
      const e = thrown(() => packSync(x, { layout: 'rows', device: 'cuda:0' }));
      expect(e).toBeInstanceOf(bitgrad.DeviceError);
      expect(e.code).toBe('BITGRAD_NO_GPU');
    }
  });

  test('the native entry re-checks its spec', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { native } = require('../lib/loader') as typeof import('../lib/loader');
    const b = native().binding;
    const out = b.alloc(-1, 8);
    const base = { x, out, outer: 1, inner: 1, k: 4, words: 1, outerStride: 4, innerStride: 4, kStride: 1 };
    expect(() => b.packBits(base, false)).not.toThrow();
    const bad: [Record<string, unknown>, string][] = [
      [{ words: 0 }, 'BITGRAD_INVALID_ARGUMENT'],
      [{ k: -1 }, 'BITGRAD_INVALID_ARGUMENT'],
      [{ k: 1.5 }, 'BITGRAD_INVALID_ARGUMENT'],
      [{ kStride: 2 }, 'BITGRAD_SHAPE_MISMATCH'],
      [{ inner: 2 }, 'BITGRAD_SHAPE_MISMATCH'],
      [{ out: x }, 'BITGRAD_INVALID_ARGUMENT'],
      [{ x: new Int32Array(4) }, 'BITGRAD_INVALID_DTYPE'],
      [{ outer: 2 ** 40, inner: 2 ** 40 }, 'BITGRAD_INVALID_ARGUMENT'],
    ];
    for (const [patch, code] of bad) {
      const e = thrown(() => b.packBits({ ...base, ...patch } as never, false));
      expect([patch, e.code]).toEqual([patch, code]);
    }
    expect(thrown(() => b.unpackBits({ bits: out, out, rows: 1, k: 65, words: 1 })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => b.unpackBits({ bits: out, out, rows: 1, k: 64, words: 1 })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    out.dispose();
  });
});

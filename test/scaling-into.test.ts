// `into` output buffers of the scaling ops (lib/binarize/scaling.ts): the result written
// into a caller's buffer is bit-identical to the allocating call, the returned array /
// tensor is the given one, and every misuse throws a coded error before any work.
import * as bitgrad from '../lib';
import { rejected, rng, thrown, uniform } from './helpers';

const B = bitgrad.binarize;
type Row = bitgrad.binarize.RowBinarizer<bitgrad.binarize.RowOptions>;

const bits = (a: Float32Array): number[] => {
  if (!(a instanceof Float32Array) || a.length === 0) throw new Error('expected a non-empty Float32Array');
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
};
const cpu = (a: Float32Array, shape: number[]) => bitgrad.tensor(a, shape, { device: 'cpu' });
const garbage = (n: number) => new Float32Array(n).fill(NaN);

const ROWS: [string, Row, Record<string, unknown>][] = [
  ['magnitudeAwareSign', B.magnitudeAwareSign as Row, {}],
  ['xnor full', B.xnor as Row, { scaleGrad: 'full' }],
  ['xnorActivation', B.xnorActivation as Row, {}],
  ['dorefa layer-wide', B.dorefa as Row, { perChannel: false, steBoundary: 'exclusive' }],
  ['ternaryWeights', B.ternaryWeights as Row, {}],
  ['libraPB', B.libraPB as Row, { t: 2 }],
  ['recu', B.recu as Row, { tau: 0.9 }],
  ['bivitWeights', B.bivitWeights as Row, {}],
  ['multiBasis', B.multiBasis as Row, { bases: 3 }],
];

describe('into buffers', () => {
  const shape = [3, 40];
  const n = 120;
  const x = uniform(rng(7), n, -1.5, 1.5);
  const g = uniform(rng(8), n, -1, 1);

  test.each(ROWS)('%s: Float32Array, sync and async, forward and backward', async (_name, op, extra) => {
    const o = { ...extra, shape };
    const fwd = op.forwardSync(x, o);
    const bwd = op.backwardSync(x, g, o);
    const into = garbage(n);
    const f1 = op.forwardSync(x, { ...o, into });
    expect(f1.out).toBe(into);
    expect(bits(into)).toEqual(bits(fwd.out));
    expect(bits(f1.alpha)).toEqual(bits(fwd.alpha));
    into.fill(NaN);
    const f2 = await op.forward(x, { ...o, into });
    expect(f2.out).toBe(into);
    expect(bits(into)).toEqual(bits(fwd.out));
    into.fill(NaN);
    const b1 = op.backwardSync(x, g, { ...o, into });
    expect(b1.grad).toBe(into);
    expect(bits(into)).toEqual(bits(bwd.grad));
    if (bwd.alphaGrad) expect(bits(b1.alphaGrad!)).toEqual(bits(bwd.alphaGrad));
    into.fill(NaN);
    const b2 = await op.backward(x, g, { ...o, into });
    expect(b2.grad).toBe(into);
    expect(bits(into)).toEqual(bits(bwd.grad));
    // a view at an offset into a larger buffer is fine, and untouched around it
    const big = garbage(n + 8);
    const view = big.subarray(4, 4 + n);
    expect(op.forwardSync(x, { ...o, into: view }).out).toBe(view);
    expect(bits(view)).toEqual(bits(fwd.out));
    expect(Array.from(big.subarray(0, 4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(big.subarray(4 + n)).every(Number.isNaN)).toBe(true);
  });

  test.each(ROWS)('%s: CPU tensors', async (_name, op, extra) => {
    const xt = cpu(x, shape);
    const gt = cpu(g, shape);
    const fwd = op.forwardSync(xt, extra);
    const bwd = op.backwardSync(xt, gt, extra);
    const into = cpu(garbage(n), shape);
    const f1 = op.forwardSync(xt, { ...extra, into });
    expect(f1.out).toBe(into);
    expect(bits(into.dataSync() as Float32Array)).toEqual(bits(fwd.out.dataSync() as Float32Array));
    const f2 = await op.forward(xt, { ...extra, into });
    expect(f2.out).toBe(into);
    expect(bits(into.dataSync() as Float32Array)).toEqual(bits(fwd.out.dataSync() as Float32Array));
    const b1 = op.backwardSync(xt, gt, { ...extra, into });
    expect(b1.grad).toBe(into);
    expect(bits(into.dataSync() as Float32Array)).toEqual(bits(bwd.grad.dataSync() as Float32Array));
    const b2 = await op.backward(xt, gt, { ...extra, into });
    expect(b2.grad).toBe(into);
    expect(bits(into.dataSync() as Float32Array)).toEqual(bits(bwd.grad.dataSync() as Float32Array));
    expect(into.disposed).toBe(false);
    for (const t of [xt, gt, into, fwd.out, fwd.alpha, bwd.grad, f1.alpha, f2.alpha]) t.dispose();
    if (bwd.alphaGrad) bwd.alphaGrad.dispose();
    if (b1.alphaGrad) b1.alphaGrad.dispose();
    if (b2.alphaGrad) b2.alphaGrad.dispose();
  });

  test('large input (thread pool path) is bit-identical', () => {
    const X = uniform(rng(9), 4 * 40000, -2, 2);
    const G = uniform(rng(10), 4 * 40000, -1, 1);
    const o = { shape: [4, 40000], scaleGrad: 'full' as const };
    const into = garbage(X.length);
    expect(bits(B.xnor.forwardSync(X, { ...o, into }).out)).toEqual(bits(B.xnor.forwardSync(X, o).out));
    expect(bits(B.xnor.backwardSync(X, G, { ...o, into }).grad)).toEqual(bits(B.xnor.backwardSync(X, G, o).grad));
  });

  test('xnorK and xnorPlusPlus', async () => {
    const I = uniform(rng(11), 2 * 3 * 5 * 5, -1, 1);
    const ko = { shape: [2, 3, 5, 5], kernel: 3, padding: 1, stride: 2 };
    const K = B.xnorKSync(I, ko);
    const kInto = garbage(K.length);
    expect(B.xnorKSync(I, { ...ko, into: kInto })).toBe(kInto);
    expect(bits(kInto)).toEqual(bits(K));
    kInto.fill(NaN);
    expect(await B.xnorK(I, { ...ko, into: kInto })).toBe(kInto);
    expect(bits(kInto)).toEqual(bits(K));
    expect(thrown(() => B.xnorKSync(I, { ...ko, into: new Float32Array(I.length) })).code).toBe('BITGRAD_SHAPE_MISMATCH');
    const It = cpu(I, [2, 3, 5, 5]);
    const kt = cpu(garbage(K.length), [2, 3, 3]);
    expect(B.xnorKSync(It, { kernel: 3, padding: 1, stride: 2, into: kt })).toBe(kt);
    expect(bits(kt.dataSync() as Float32Array)).toEqual(bits(K));
    expect(thrown(() => B.xnorKSync(It, { kernel: 3, padding: 1, stride: 2, into: cpu(garbage(K.length), [18]) })).code).toBe('BITGRAD_SHAPE_MISMATCH');

    const y = uniform(rng(12), 2 * 3 * 4 * 5, -1, 1);
    const gy = uniform(rng(13), y.length, -1, 1);
    const po = { shape: [2, 3, 4, 5], o: uniform(rng(14), 3, 0.5, 1.5), h: uniform(rng(15), 4, 0.5, 1.5), w: uniform(rng(16), 5, 0.5, 1.5) };
    const into = garbage(y.length);
    expect(B.xnorPlusPlus.forwardSync(y, { ...po, into })).toBe(into);
    expect(bits(into)).toEqual(bits(B.xnorPlusPlus.forwardSync(y, po)));
    const want = B.xnorPlusPlus.backwardSync(y, gy, po);
    const got = await B.xnorPlusPlus.backward(y, gy, { ...po, into });
    expect(got.grad).toBe(into);
    expect(bits(into)).toEqual(bits(want.grad));
    expect(bits(got.oGrad)).toEqual(bits(want.oGrad));
    expect(thrown(() => B.xnorPlusPlus.backwardSync(y, gy, { ...po, into: gy })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    It.dispose();
    kt.dispose();
  });

  test('coded errors: Float32Array inputs', async () => {
    const o = { shape };
    const SM = 'BITGRAD_SHAPE_MISMATCH';
    expect(thrown(() => B.xnor.forwardSync(x, { ...o, into: new Float32Array(n - 1) })).code).toBe(SM);
    expect(thrown(() => B.xnor.backwardSync(x, g, { ...o, into: new Float32Array(n + 1) })).code).toBe(SM);
    expect(thrown(() => B.xnor.forwardSync(x, { ...o, into: new Float64Array(n) as never })).code).toBe(SM);
    expect(thrown(() => B.xnor.forwardSync(x, { ...o, into: [] as never })).code).toBe(SM);
    const t = cpu(new Float32Array(n), shape);
    expect(thrown(() => B.xnor.forwardSync(x, { ...o, into: t })).code).toBe(SM); // a tensor for host data
    t.dispose();
    expect((await rejected(B.libraPB.forward(x, { ...o, into: new Float32Array(3) }))).code).toBe(SM);
    expect((await rejected(B.recu.backward(x, g, { ...o, into: new Float32Array(3) }))).code).toBe(SM);
    // must not alias the input or g (row statistics read them after the output is written)
    expect(thrown(() => B.xnor.forwardSync(x, { ...o, into: x })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => B.xnor.backwardSync(x, g, { ...o, into: g })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    const shared = new Float32Array(2 * n);
    expect(thrown(() => B.xnor.forwardSync(shared.subarray(0, n), { ...o, into: shared.subarray(n - 1, 2 * n - 1) })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(B.xnor.forwardSync(shared.subarray(0, n), { ...o, into: shared.subarray(n) }).out).toBeInstanceOf(Float32Array);
  });

  test('coded errors: tensors', async () => {
    const xt = cpu(x, shape);
    const gt = cpu(g, shape);
    const SM = 'BITGRAD_SHAPE_MISMATCH';
    const wrongShape = cpu(new Float32Array(n), [n]);
    const wrongDtype = bitgrad.tensor(new Int32Array(n), shape, { device: 'cpu' });
    expect(thrown(() => B.xnor.forwardSync(xt, { into: wrongShape })).code).toBe(SM);
    expect(thrown(() => B.xnor.backwardSync(xt, gt, { into: wrongShape })).code).toBe(SM);
    expect(thrown(() => B.xnor.forwardSync(xt, { into: wrongDtype })).code).toBe(SM);
    expect(thrown(() => B.xnor.forwardSync(xt, { into: new Float32Array(n) })).code).toBe(SM); // host data for a tensor
    expect((await rejected(B.multiBasis.forward(xt, { into: wrongShape }))).code).toBe(SM);
    const disposed = cpu(new Float32Array(n), shape);
    disposed.dispose();
    expect(thrown(() => B.xnor.forwardSync(xt, { into: disposed })).code).toBe('BITGRAD_DISPOSED');
    expect(thrown(() => B.bivitWeights.backwardSync(xt, gt, { into: disposed })).code).toBe('BITGRAD_DISPOSED');
    expect((await rejected(B.recu.backward(xt, gt, { into: disposed }))).code).toBe('BITGRAD_DISPOSED');
    expect(thrown(() => B.xnor.forwardSync(xt, { into: xt })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    expect(thrown(() => B.xnor.backwardSync(xt, gt, { into: gt })).code).toBe('BITGRAD_INVALID_ARGUMENT');
    for (const t of [xt, gt, wrongShape, wrongDtype]) t.dispose();
  });
});

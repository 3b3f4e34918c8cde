// Shared test helpers: a seeded RNG, float64 references, tolerant comparisons.

// The seeded generator and uniform fill are shared with the plain-JS GPU parity cases.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shared = require('./gpu/parity.js') as { rng(seed: number): () => number; uniform(r: () => number, n: number, lo: number, hi: number): Float32Array };
export const rng = shared.rng;
export const uniform = shared.uniform;

/** float64 softplus, stable. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** PyTorch's binary_cross_entropy_with_logits per element, in float64. */
export function bceRef(x: number, y: number, w = 1, p = 1): { loss: number; grad: number } {
  const lw = 1 + (p - 1) * y;
  return {
    loss: w * ((1 - y) * x + lw * softplus(-x)),
    grad: w * ((p * y + 1 - y) * sigmoid(x) - p * y),
  };
}

/** Asserts |a - b| <= atol + rtol |b| elementwise, with a useful message. */
export function expectClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, rtol = 1e-5, atol = 1e-6): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  if (a.length !== e.length) throw new Error(`length ${a.length} != ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(e[i]) && Number.isNaN(a[i])) || Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    if (!ok) throw new Error(`element ${i}: got ${a[i]}, expected ${e[i]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Fails unless a and b have the same length and bytes (bit-identical floats). */
export function expectSameBits(a: Float32Array, b: Float32Array, label: string): void {
  if (a.length !== b.length) throw new Error(`${label}: length ${a.length} != ${b.length}`);
  if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 0)
    throw new Error(`${label}: the bits differ`);
}

/** Runs fn and returns the thrown error (fails if nothing is thrown). */
export function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

export async function rejected(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

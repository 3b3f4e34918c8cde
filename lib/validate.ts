/**
 * Argument checks shared by the ops. Everything a native call relies on is checked
 * here first; native code checks again and never trusts its caller.
 * @internal
 * @packageDocumentation
 */
import { ValidationError, show } from './errors';

/** Loss reductions, as in PyTorch. */
export type Reduction = 'none' | 'mean' | 'sum';

/** Native code of a reduction. */
export function reductionCode(r: unknown): 0 | 1 | 2 {
  if (r === undefined || r === 'mean') return 1;
  if (r === 'none') return 0;
  if (r === 'sum') return 2;
  throw new ValidationError(`reduction must be 'none', 'mean' or 'sum' (got ${show(r)})`, 'BITGRAD_INVALID_ARGUMENT');
}

/** Throws unless `v` is a plain options object (or undefined). */
export function checkOptions(v: unknown, name: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new ValidationError(`${name} options must be an object`, 'BITGRAD_INVALID_ARGUMENT');
  return v as Record<string, unknown>;
}

/** Throws unless `v` is a finite number. */
export function finiteNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValidationError(`${name} must be a finite number (got ${String(v)})`, 'BITGRAD_INVALID_ARGUMENT');
  return v;
}

/** Throws unless `v` is a boolean (undefined gives `dflt`). */
export function bool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ValidationError(`${name} must be a boolean`, 'BITGRAD_INVALID_ARGUMENT');
  return v;
}

/**
 * How an operand of shape `operand` broadcasts onto `input` (PyTorch rules, right
 * aligned). Returns the native (div, mod) form — element i reads operand[(i / div) %
 * mod] — or null when the broadcast dims are not one contiguous block (the caller
 * then expands the operand).
 */
export function broadcastForm(input: readonly number[], operand: readonly number[], name: string): { div: number; mod: number } | null {
  const r = input.length;
  if (operand.length > r)
    throw new ValidationError(`${name} of shape [${operand.join(', ')}] has more dims than the input [${input.join(', ')}]`, 'BITGRAD_SHAPE_MISMATCH');
  const o = [...new Array(r - operand.length).fill(1), ...operand];
  const active: boolean[] = [];
  for (let j = 0; j < r; j++) {
    if (o[j] !== 1 && o[j] !== input[j])
      throw new ValidationError(
        `${name} of shape [${operand.join(', ')}] does not broadcast to the input shape [${input.join(', ')}]`,
        'BITGRAD_SHAPE_MISMATCH',
      );
    active.push(o[j] === input[j] && input[j] !== 1);
  }
  const first = active.indexOf(true);
  if (first < 0) return { div: 1, mod: 1 };
  const last = active.lastIndexOf(true);
  for (let j = first; j <= last; j++) if (!active[j] && input[j] !== 1) return null;
  let mod = 1;
  for (let j = first; j <= last; j++) mod *= input[j];
  let div = 1;
  for (let j = last + 1; j < r; j++) div *= input[j];
  return { div, mod };
}

/** Expands `data` of shape `operand` to the full `input` shape (general broadcast). */
export function expand(data: Float32Array, input: readonly number[], operand: readonly number[]): Float32Array {
  const r = input.length;
  const o = [...new Array(r - operand.length).fill(1), ...operand];
  const n = input.reduce((a, b) => a * b, 1);
  const stride = new Array<number>(r).fill(0);
  let s = 1;
  for (let j = r - 1; j >= 0; j--) {
    stride[j] = o[j] === 1 ? 0 : s;
    s *= o[j];
  }
  const out = new Float32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let j = 0; j < r; j++) k += idx[j] * stride[j];
    out[i] = data[k];
    for (let j = r - 1; j >= 0; j--) {
      if (++idx[j] < input[j]) break;
      idx[j] = 0;
    }
  }
  return out;
}

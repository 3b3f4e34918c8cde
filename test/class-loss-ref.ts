// float64 references of crossEntropy / nllLoss / multiMarginLoss (PyTorch semantics,
// losses.md §1.3, §1.4, §1.7), for the class-loss tests.

export interface RefOpts {
  weight?: ArrayLike<number>;
  ignoreIndex?: number;
  eps?: number;
  reduction?: 'none' | 'mean' | 'sum';
  gradOutput?: number | ArrayLike<number>;
}

export interface RefResult {
  none: Float64Array;
  loss: number | Float64Array;
  grad: Float64Array;
}

function layout(shape: readonly number[]) {
  if (shape.length === 1) return { outer: 1, C: shape[0], inner: 1 };
  return { outer: shape[0], C: shape[1], inner: shape.slice(2).reduce((a, b) => a * b, 1) };
}

/** Cross-entropy; target: Int32Array (indices) or Float32Array / number[] of the input's size (probabilities). */
export function ceRef(x: ArrayLike<number>, shape: readonly number[], target: Int32Array | ArrayLike<number>, o: RefOpts = {}): RefResult {
  const { outer, C, inner } = layout(shape);
  const rows = outer * inner;
  const eps = o.eps ?? 0;
  const ign = o.ignoreIndex ?? -100;
  const w = (c: number) => (o.weight ? o.weight[c] : 1);
  const idx = target instanceof Int32Array;
  const at = (n: number, c: number, s: number) => (n * C + c) * inner + s;
  const none = new Float64Array(rows);
  const local = new Float64Array(x.length); // d none_r / d x
  let W = 0;
  let sumW = 0;
  for (let c = 0; c < C; c++) sumW += w(c);
  for (let r = 0; r < rows; r++) {
    const n = Math.floor(r / inner);
    const s = r % inner;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[at(n, c, s)]);
    let d = 0;
    for (let c = 0; c < C; c++) d += Math.exp(x[at(n, c, s)] - m);
    const lse = m + Math.log(d);
    const p = (c: number) => Math.exp(x[at(n, c, s)] - lse);
    if (idx) {
      const y = (target as Int32Array)[r];
      if (y === ign) continue;
      W += w(y);
      let S = 0;
      for (let c = 0; c < C; c++) S += w(c) * (lse - x[at(n, c, s)]);
      none[r] = (1 - eps) * w(y) * (lse - x[at(n, y, s)]) + (eps / C) * S;
      for (let c = 0; c < C; c++)
        local[at(n, c, s)] = (1 - eps) * w(y) * (p(c) - (c === y ? 1 : 0)) + (eps / C) * (p(c) * sumW - w(c));
    } else {
      const T = (c: number) => (target as ArrayLike<number>)[at(n, c, s)] * (1 - eps) + eps / C;
      let A = 0;
      let l = 0;
      for (let c = 0; c < C; c++) {
        A += w(c) * T(c);
        l += w(c) * T(c) * (lse - x[at(n, c, s)]);
      }
      none[r] = l;
      for (let c = 0; c < C; c++) local[at(n, c, s)] = p(c) * A - w(c) * T(c);
    }
  }
  const denom = idx ? W : rows;
  return finish(none, local, rows, C, inner, denom, o);
}

function finish(none: Float64Array, local: Float64Array, rows: number, C: number, inner: number, denom: number, o: RefOpts): RefResult {
  const red = o.reduction ?? 'mean';
  const sum = none.reduce((a, b) => a + b, 0);
  const grad = new Float64Array(local.length);
  for (let i = 0; i < local.length; i++) {
    const n = Math.floor(i / (C * inner));
    const s = i % inner;
    const r = n * inner + s;
    let sc: number;
    if (red === 'none') sc = o.gradOutput === undefined ? 1 : (o.gradOutput as ArrayLike<number>)[r];
    else sc = (typeof o.gradOutput === 'number' ? o.gradOutput : 1) / (red === 'mean' ? denom : 1);
    grad[i] = local[i] === 0 ? 0 : local[i] * sc;
  }
  return { none, loss: red === 'none' ? none : red === 'sum' ? sum : sum / denom, grad };
}

export function nllRef(x: ArrayLike<number>, shape: readonly number[], target: Int32Array, o: RefOpts = {}): RefResult {
  const { outer, C, inner } = layout(shape);
  const rows = outer * inner;
  const ign = o.ignoreIndex ?? -100;
  const none = new Float64Array(rows);
  const local = new Float64Array(x.length);
  let W = 0;
  for (let r = 0; r < rows; r++) {
    const y = target[r];
    if (y === ign) continue;
    const wy = o.weight ? o.weight[y] : 1;
    W += wy;
    const i = (Math.floor(r / inner) * C + y) * inner + (r % inner);
    none[r] = -wy * x[i];
    local[i] = -wy;
  }
  return finish(none, local, rows, C, inner, W, o);
}

export function multiMarginRef(x: ArrayLike<number>, shape: readonly number[], target: Int32Array, o: RefOpts & { p?: number; margin?: number } = {}): RefResult {
  const { outer, C } = layout(shape);
  const p = o.p ?? 1;
  const margin = o.margin ?? 1;
  const none = new Float64Array(outer);
  const local = new Float64Array(x.length);
  for (let n = 0; n < outer; n++) {
    const y = target[n];
    const wy = o.weight ? o.weight[y] : 1;
    let l = 0;
    for (let i = 0; i < C; i++) {
      if (i === y) continue;
      const z = margin - x[n * C + y] + x[n * C + i];
      if (z > 0) {
        l += p === 2 ? z * z : z;
        const g = ((p === 2 ? 2 * z : 1) * wy) / C;
        local[n * C + i] += g;
        local[n * C + y] -= g;
      }
    }
    none[n] = (l * wy) / C;
  }
  return finish(none, local, outer, C, 1, outer, o);
}

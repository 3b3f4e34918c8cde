// float64 references of the row-wise research losses (lib/losses/rowwise.ts), written
// from the spec formulas (shared/specs/losses.md Part 1b), one row at a time.
export type RowRef = { loss: number; grad: number[] };

export function lse(v: number[]): number {
  const m = Math.max(...v);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0));
}
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softmax = (v: number[]) => {
  const l = lse(v);
  return v.map((x) => Math.exp(x - l));
};

export function zRef(o: number[], c: number, a = 1, b = 0): RowRef {
  const D = o.length;
  const mu = o.reduce((s, x) => s + x, 0) / D;
  const sigma = Math.sqrt(o.reduce((s, x) => s + (x - mu) ** 2, 0) / D) + 1e-12;
  const z = o.map((x) => (x - mu) / sigma);
  const u = a * (b - z[c]);
  return { loss: softplus(u) / a, grad: z.map((zk, k) => (-sigmoid(u) * ((k === c ? 1 : 0) - (1 + z[c] * zk) / D)) / sigma) };
}

export function compSumRef(x: number[], y: number, tau: number): RowRef {
  const l = lse(x) - x[y];
  const loss = tau === 1 ? l : Math.expm1((1 - tau) * l) / (1 - tau);
  const A = Math.exp((1 - tau) * l);
  return { loss, grad: softmax(x).map((p, k) => A * (p - (k === y ? 1 : 0))) };
}

export function rmtRef(x: number[], t: number[]): RowRef {
  const lx = lse(x), lt = lse(t);
  const lp = x.map((v) => v - lx), lq = t.map((v) => v - lt);
  const p = lp.map(Math.exp), q = lq.map(Math.exp);
  const S = p.reduce((s, pk, k) => s + pk * lq[k], 0);
  const loss = -0.5 * q.reduce((s, qk, k) => s + qk * lp[k], 0) - 0.5 * S;
  return { loss, grad: p.map((pk, k) => 0.5 * (pk - q[k]) - 0.5 * pk * (lq[k] - S)) };
}

export function kdRef(s: number[], t: number[], T = 1): RowRef {
  const ss = s.map((v) => v / T), tt = t.map((v) => v / T);
  const ls = lse(ss), lt = lse(tt);
  let L = 0;
  for (let k = 0; k < s.length; k++) {
    const q = Math.exp(tt[k] - lt);
    if (q > 0) L += q * (tt[k] - lt - (ss[k] - ls));
  }
  return { loss: T * T * L, grad: s.map((_, k) => T * (Math.exp(ss[k] - ls) - Math.exp(tt[k] - lt))) };
}

export function dexmlRef(s: number[], m: number[]): RowRef {
  const P = m.reduce((a, v) => a + v, 0);
  if (P === 0) return { loss: 0, grad: s.map(() => 0) };
  const ln = lse(s.filter((_, k) => m[k] === 0));
  let L = 0, G = 0;
  s.forEach((v, k) => {
    if (m[k]) {
      L += softplus(ln - v);
      G += ln === -Infinity ? 0 : sigmoid(ln - v);
    }
  });
  return { loss: L / P, grad: s.map((v, k) => (m[k] ? -(ln === -Infinity ? 0 : sigmoid(ln - v)) / P : (Math.exp(v - ln) * G) / P)) };
}

export function pldRef(s: number[], t: number[], y: number, T = 1): RowRef {
  const C = s.length;
  const alpha = softmax(t.map((v) => v / T));
  const rest = [...Array(C).keys()].filter((k) => k !== y).sort((i, j) => t[j] - t[i] || i - j);
  const pi = [y, ...rest];
  let L = 0;
  const grad = alpha.map((a) => -a);
  for (let k = 0; k < C; k++) {
    const R = pi.slice(k);
    const l = lse(R.map((j) => s[j]));
    L += alpha[pi[k]] * (l - s[pi[k]]);
    for (const j of R) grad[j] += alpha[pi[k]] * Math.exp(s[j] - l);
  }
  return { loss: L, grad };
}

function scores(z: number[], mode: 'softplus' | 'l1'): { f: number[]; back: (gf: number[]) => number[] } {
  const K = z.length;
  if (mode === 'softplus') {
    const s = z.map(softplus);
    const S = s.reduce((a, v) => a + v, 0);
    const f = s.map((v) => (K * v) / S);
    return { f, back: (g) => { const G = g.reduce((a, gk, k) => a + gk * f[k], 0); return z.map((zj, j) => (sigmoid(zj) / S) * (K * g[j] - G)); } };
  }
  const S = z.reduce((a, v) => a + Math.abs(v), 0);
  const f = z.map((v) => (K * v) / S);
  return { f, back: (g) => { const G = g.reduce((a, gk, k) => a + gk * f[k], 0); return z.map((zj, j) => (K * g[j] - Math.sign(zj) * G) / S); } };
}

export function ldrRef(z: number[], y: number, c: number, lambda: number, mode: 'softplus' | 'l1' = 'softplus'): RowRef {
  const K = z.length;
  const { f, back } = scores(z, mode);
  const d = f.map((fk, k) => (k !== y ? c : 0) + fk - f[y]);
  const l = lse(d.map((v) => v / lambda));
  const g = d.map((v, k) => Math.exp(v / lambda - l) - (k === y ? 1 : 0));
  return { loss: lambda * (l - Math.log(K)), grad: back(g) };
}

export function aldrRef(z: number[], y: number, lamOld: number, lambda0: number, alpha: number, c: number, mode: 'softplus' | 'l1' = 'l1'): RowRef & { lambda: number; kl: number } {
  const K = z.length;
  const { f } = scores(z, mode);
  const p0 = softmax(f.map((v) => v / lamOld)).map((v) => v + 1e-5);
  const Z = p0.reduce((a, v) => a + v, 0);
  const kl = p0.reduce((a, v) => a + (v / Z) * Math.log((K * v) / Z), 0);
  const lambda = lambda0 * (1 - kl / (alpha * Math.log(K)));
  const r = ldrRef(z, y, c, lambda, mode);
  return { loss: r.loss - ((alpha * Math.log(K)) / (2 * lambda0)) * (lambda - lambda0) ** 2, grad: r.grad, lambda, kl };
}

/** CBC over all rows: mean form (pos mean + neg mean), or per-row terms. */
export function cbcRef(xs: number[][], ts: number[][], tauPos = 0.65, tauNeg = 0.1): { mean: number; rows: number[]; gradMean: number[][]; gradRows: number[][] } {
  const info = ts.map((t) => {
    const q = softmax(t);
    const lab = q.indexOf(Math.max(...q));
    return { lab, wp: Math.max(...q), wn: Math.min(...q), pos: Math.max(...q) >= tauPos, neg: Math.min(...q) < tauNeg };
  });
  const np = info.filter((i) => i.pos).length, nn = info.filter((i) => i.neg).length;
  const rows: number[] = [], gradRows: number[][] = [], gradMean: number[][] = [];
  let mp = 0, mn = 0;
  xs.forEach((x, r) => {
    const I = info[r];
    const p = softmax(x);
    let Lp = 0, Ln = 0;
    const gp = x.map(() => 0), gn = x.map(() => 0);
    if (I.pos) {
      Lp = -I.wp * Math.log(p[I.lab]);
      p.forEach((pk, k) => (gp[k] = I.wp * (pk - (k === I.lab ? 1 : 0))));
    }
    if (I.neg) {
      p.forEach((pc, cc) => {
        if (cc === I.lab) return;
        const om = 1 - pc;
        if (om < 1e-6) { Ln += -I.wn * Math.log(1e-6); return; }
        Ln += -I.wn * Math.log(om);
        p.forEach((pj, j) => (gn[j] += (I.wn * pc * ((j === cc ? 1 : 0) - pj)) / om));
      });
    }
    rows.push(Lp + Ln);
    gradRows.push(x.map((_, k) => gp[k] + gn[k]));
    mp += Lp;
    mn += Ln;
    gradMean.push(x.map((_, k) => (np ? gp[k] / np : 0) + (nn ? gn[k] / nn : 0)));
  });
  return { mean: (np ? mp / np : 0) + (nn ? mn / nn : 0), rows, gradMean, gradRows };
}

export function passRef(x: number[], y: number, N: number): RowRef & { F: number } {
  const p = softmax(x);
  const py = p[y];
  const cov = 1 - (1 - py) ** N;
  const F = N === 1 ? 1 : (N * (1 - py) ** (N - 1) * py) / cov;
  return { loss: -Math.log(cov), grad: p.map((pk, k) => F * (pk - (k === y ? 1 : 0))), F };
}

// Float64 references of the research losses (test/loss-research-*.test.ts), written
// independently of the kernels (direct 2-D SSIM window, brute-force pair loops), and
// central finite differences of them.
export type Vec = ArrayLike<number>;

export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Central differences of a scalar function of x. */
export function fdGrad(f: (x: Float64Array) => number, x0: Vec, h = 1e-6): Float64Array {
  const x = Float64Array.from(x0);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const a = f(x);
    x[i] = v - h;
    const b = f(x);
    x[i] = v;
    g[i] = (a - b) / (2 * h);
  }
  return g;
}

export function overlapRef(p: Vec, g: Vec, rows: number, cols: number, o: { dice?: boolean; jaccard?: boolean; snr: number; sdr: number; sq?: boolean }): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let I = 0, P = 0, G = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) {
      I += p[i] * g[i];
      P += o.sq ? p[i] * p[i] : p[i];
      G += o.sq ? g[i] * g[i] : g[i];
    }
    if (!o.dice) out.push(1 - (I + o.snr) / (P + G - I + o.sdr));
    else if (o.jaccard) out.push(1 - (2 * I + o.snr) / (2 * (P + G - I) + o.sdr));
    else out.push(1 - (2 * I + o.snr) / (P + G + o.sdr));
  }
  return out;
}

function gauss2d(): number[][] {
  const w = Array.from({ length: 11 }, (_, k) => Math.exp(-((k - 5) ** 2) / (2 * 1.5 * 1.5)));
  const s = w.reduce((a, b) => a + b, 0);
  const n = w.map((v) => v / s);
  return n.map((a) => n.map((b) => a * b));
}
const WIN = gauss2d();

function conv2(m: (y: number, x: number) => number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = -5; dy <= 5; dy++)
        for (let dx = -5; dx <= 5; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += WIN[dy + 5][dx + 5] * m(yy, xx);
        }
      out[y * W + x] = s;
    }
  return out;
}

/** Per-image BASNet hybrid loss, parts too. */
export function basnetRef(P: Vec, G: Vec, N: number, H: number, W: number, eps = 0): { loss: number[]; bce: number[]; ssim: number[]; iou: number[] } {
  const r = { loss: [] as number[], bce: [] as number[], ssim: [] as number[], iou: [] as number[] };
  const HW = H * W;
  for (let b = 0; b < N; b++) {
    const p = (y: number, x: number) => P[b * HW + y * W + x];
    const g = (y: number, x: number) => G[b * HW + y * W + x];
    const mu1 = conv2(p, H, W), mu2 = conv2(g, H, W);
    const e11 = conv2((y, x) => p(y, x) ** 2, H, W), e22 = conv2((y, x) => g(y, x) ** 2, H, W), e12 = conv2((y, x) => p(y, x) * g(y, x), H, W);
    let ssim = 0, bce = 0, I = 0, Ps = 0, Gs = 0;
    const C1 = 1e-4, C2 = 9e-4;
    for (let i = 0; i < HW; i++) {
      const s11 = e11[i] - mu1[i] ** 2, s22 = e22[i] - mu2[i] ** 2, s12 = e12[i] - mu1[i] * mu2[i];
      ssim += ((2 * mu1[i] * mu2[i] + C1) * (2 * s12 + C2)) / ((mu1[i] ** 2 + mu2[i] ** 2 + C1) * (s11 + s22 + C2));
      const pi = P[b * HW + i], gi = G[b * HW + i];
      bce -= gi * Math.max(Math.log(pi), -100) + (1 - gi) * Math.max(Math.log1p(-pi), -100);
      I += pi * gi;
      Ps += pi;
      Gs += gi;
    }
    const iou = (I + eps) / (Ps + Gs - I + eps);
    r.bce.push(bce / HW);
    r.ssim.push(ssim / HW);
    r.iou.push(iou);
    r.loss.push(bce / HW + 1 - ssim / HW + 1 - iou);
  }
  return r;
}

export function anyRef(p: Vec, y: Vec, L: number, metric: string, beta = 1, e = 0): number {
  let TP = 0, FN = 0, FP = 0, TN = 0;
  for (let i = 0; i < p.length; i++) {
    const a = 1 / (1 + Math.exp(-L * (p[i] - 0.5)));
    TP += y[i] * a;
    FN += y[i] * (1 - a);
    FP += (1 - y[i]) * a;
    TN += (1 - y[i]) * (1 - a);
  }
  const b2 = beta * beta;
  let m: number;
  if (metric === 'f1' || metric === 'fbeta') m = ((1 + b2) * TP) / ((1 + b2) * TP + b2 * FN + FP + e);
  else if (metric === 'accuracy') m = (TP + TN) / (TP + TN + FP + FN + e);
  else if (metric === 'balancedAccuracy') m = 0.5 * (TP / (TP + FN + e) + TN / (TN + FP + e));
  else m = (TP * TN) / ((TP + FN) * (TN + FP) + e);
  return 1 - m;
}

/** Per-query MW sums (the loss is their sum / B). */
export function mwRef(S: Vec, B: number, C: number, tau: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < B; i++) {
    let l = 0;
    for (let r = 0; r < B; r++)
      for (let c = 0; c < C; c++) if (c !== r) l += softplus(-(S[i * C + i] - S[r * C + c]) / tau);
    out.push(l);
  }
  return out;
}

/** Per-list PA-BCE losses. */
export function paRef(s: Vec, pnl: Vec, Q: number, M: number, k: number): number[] {
  const out: number[] = [];
  for (let q = 0; q < Q; q++) {
    const idx = Array.from({ length: M }, (_, i) => i).sort((u, v) => pnl[q * M + v] - pnl[q * M + u] || u - v);
    const kk = Math.min(k, M);
    let l = 0;
    for (let a = 0; a < kk; a++)
      for (let b = a + 1; b < kk; b++) {
        const i = q * M + idx[a], j = q * M + idx[b];
        l += Math.log10(pnl[i] - pnl[j] + 1) * softplus(-(s[i] - s[j]));
      }
    out.push(kk > 0 ? l / kk : 0);
  }
  return out;
}

export function triParts(zD: Vec, zS: Vec, y: Vec): { L: number; LD: number; LS: number } {
  let L = 0, LD = 0, LS = 0;
  const n = zD.length;
  for (let i = 0; i < n; i++) {
    L += softplus((zD[i] + zS[i]) / 2) - y[i] * (zD[i] + zS[i]) / 2;
    LD += softplus(zD[i]) - y[i] * zD[i];
    LS += softplus(zS[i]) - y[i] * zS[i];
  }
  return { L: L / n, LD: LD / n, LS: LS / n };
}

/** L_tri; with fixed weights (detached) when w is given. */
export function triRef(zD: Vec, zS: Vec, y: Vec, w?: { wD: number; wS: number }): number {
  const { L, LD, LS } = triParts(zD, zS, y);
  const wD = w ? w.wD : Math.max(0, LD - L);
  const wS = w ? w.wS : Math.max(0, LS - L);
  return L + wD * LD + wS * LS;
}

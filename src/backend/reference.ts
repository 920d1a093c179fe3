/**
 * The reference backend: each kernel as a short loop that is obviously right.
 * Arithmetic runs in float64 and rounds on store, so it is at least as accurate as
 * native. It is the oracle in tests and the fallback where the addon is missing.
 */
import { newTypedArray, type DType, type DTypeMap } from '../core/dtype.js';
import type { Backend, BinaryOp, CompareOp, ConvGeometry, PoolGeometry, ReduceOp, UnaryOp } from './backend.js';

type Dims = readonly number[];

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function sigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** erf in float64: its Maclaurin series below 2.5, the erfc continued fraction above (both near machine precision). */
function erf(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz), accurate for ax >= 2.5.
    let f = ax;
    let c = ax;
    let d = 0;
    for (let n = 1; n < 100; n++) {
      const an = n / 2;
      d = ax + an * d;
      d = 1 / d;
      c = ax + an / c;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  }
  return x < 0 ? -r : r;
}

function unaryFn(op: UnaryOp, p0: number, p1: number): (v: number) => number {
  switch (op) {
    case 'neg':
      return (v) => -v;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'sqrt':
      return Math.sqrt;
    case 'abs':
      return Math.abs;
    case 'relu':
      return (v) => (v > 0 ? v : Number.isNaN(v) ? v : 0);
    case 'sigmoid':
      return sigmoid;
    case 'tanh':
      return Math.tanh;
    case 'silu':
      return (v) => v * sigmoid(v);
    case 'gelu':
      return (v) => 0.5 * v * (1 + erf(v * SQRT_HALF));
    case 'geluTanh':
      return (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
    case 'hardswish':
      return (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    case 'hardsigmoid':
      return (v) => Math.min(Math.max(v + 3, 0), 6) / 6;
    case 'leakyRelu':
      return (v) => (v > 0 ? v : v * p0);
    case 'clamp':
      return (v) => (v < p0 ? p0 : v > p1 ? p1 : v);
    case 'powScalar':
      return (v) => (v === 1 || p0 === 0 ? 1 : Math.pow(v, p0));
    case 'affine':
      return (v) => v * p0 + p1;
    case 'sign':
      return (v) => (v > 0 ? 1 : v < 0 ? -1 : v);
    case 'rdiv':
      return (v) => p0 / v;
  }
}

/** f'(x) given x and y = f(x). */
function derivFn(op: UnaryOp, p0: number, p1: number): (x: number, y: number) => number {
  switch (op) {
    case 'neg':
      return () => -1;
    case 'exp':
      return (_x, y) => y;
    case 'log':
      return (x) => 1 / x;
    case 'sqrt':
      return (_x, y) => 0.5 / y;
    case 'abs':
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'relu':
      return (x) => (x > 0 ? 1 : 0);
    case 'sigmoid':
      return (_x, y) => y * (1 - y);
    case 'tanh':
      return (_x, y) => 1 - y * y;
    case 'silu':
      return (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x)));
    case 'gelu':
      return (x) => 0.5 * (1 + erf(x * SQRT_HALF)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
    case 'geluTanh':
      return (x) => {
        const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
        const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
      };
    case 'hardswish':
      return (x) => (x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6);
    case 'hardsigmoid':
      return (x) => (x > -3 && x < 3 ? 1 / 6 : 0);
    case 'leakyRelu':
      return (x) => (x > 0 ? 1 : p0);
    case 'clamp':
      return (x) => (x >= p0 && x <= p1 ? 1 : 0);
    case 'powScalar':
      return (x) => (p0 === 0 ? 0 : p0 * Math.pow(x, p0 - 1));
    case 'affine':
      return () => p0;
    case 'sign':
      return () => 0;
    case 'rdiv':
      return (x) => -p0 / (x * x);
  }
}

function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    // C's pow (and PyTorch's): 1^y = 1 and x^0 = 1 even for NaN, unlike Math.pow(1, NaN).
    case 'pow':
      return (a, b) => (a === 1 || b === 0 ? 1 : Math.pow(a, b));
    case 'maximum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
    case 'minimum':
      return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));
  }
}

function compareFn(op: CompareOp): (a: number, b: number) => boolean {
  switch (op) {
    case 'eq':
      return (a, b) => a === b;
    case 'ne':
      return (a, b) => a !== b;
    case 'lt':
      return (a, b) => a < b;
    case 'le':
      return (a, b) => a <= b;
    case 'gt':
      return (a, b) => a > b;
    case 'ge':
      return (a, b) => a >= b;
  }
}

/** Visits every multi-index of `shape` in row-major order, passing the flat offsets for each strides list. */
function forEachIndex(shape: Dims, strides: readonly Dims[], fn: (offsets: number[]) => void): void {
  const n = shape.reduce((a, d) => a * d, 1);
  if (n === 0) return;
  const idx = new Array<number>(shape.length).fill(0);
  const off = strides.map(() => 0);
  for (let count = 0; count < n; count++) {
    fn(off);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < strides.length; k++) off[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (let k = 0; k < strides.length; k++) off[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** The geometry with its spatial lists padded to three dimensions (leading size-1 axes). */
function conv3(g: ConvGeometry) {
  const pad3 = (a: Dims, fill: number) => [...Array(3 - a.length).fill(fill), ...a];
  return {
    inS: pad3(g.inSize, 1),
    k: pad3(g.kernel, 1),
    s: pad3(g.stride, 1),
    p: pad3(g.padding, 0),
    d: pad3(g.dilation, 1),
    outS: pad3(g.outSize, 1),
  };
}

/**
 * Visits every (image, output channel, input channel, output position, kernel
 * offset) whose input position is inside the image, with flat indices of x, w, y.
 * All three convolution passes are this loop with a different multiply-add.
 */
function forEachConvTap(g: ConvGeometry, fn: (xi: number, wi: number, yi: number) => void): void {
  const { inS, k, s, p, d, outS } = conv3(g);
  const cInG = g.cIn / g.groups;
  const cOutG = g.cOut / g.groups;
  const inVol = inS[0] * inS[1] * inS[2];
  const outVol = outS[0] * outS[1] * outS[2];
  const kVol = k[0] * k[1] * k[2];
  for (let n = 0; n < g.n; n++)
    for (let co = 0; co < g.cOut; co++) {
      const grp = Math.floor(co / cOutG);
      for (let ci = 0; ci < cInG; ci++) {
        const xBase = (n * g.cIn + grp * cInG + ci) * inVol;
        const wBase = (co * cInG + ci) * kVol;
        const yBase = (n * g.cOut + co) * outVol;
        for (let o0 = 0; o0 < outS[0]; o0++)
          for (let o1 = 0; o1 < outS[1]; o1++)
            for (let o2 = 0; o2 < outS[2]; o2++)
              for (let k0 = 0; k0 < k[0]; k0++) {
                const i0 = o0 * s[0] - p[0] + k0 * d[0];
                if (i0 < 0 || i0 >= inS[0]) continue;
                for (let k1 = 0; k1 < k[1]; k1++) {
                  const i1 = o1 * s[1] - p[1] + k1 * d[1];
                  if (i1 < 0 || i1 >= inS[1]) continue;
                  for (let k2 = 0; k2 < k[2]; k2++) {
                    const i2 = o2 * s[2] - p[2] + k2 * d[2];
                    if (i2 < 0 || i2 >= inS[2]) continue;
                    fn(xBase + (i0 * inS[1] + i1) * inS[2] + i2, wBase + (k0 * k[1] + k1) * k[2] + k2, yBase + (o0 * outS[1] + o1) * outS[2] + o2);
                  }
                }
              }
      }
    }
}

/**
 * Visits each output of a pooling op: fn(plane offset into x, output flat index,
 * list of in-bounds input offsets within the plane, divisor for average pooling).
 */
function forEachWindow(g: PoolGeometry, fn: (xBase: number, yi: number, taps: number[], divisor: number) => void): void {
  const pad3 = (a: Dims, fill: number) => [...Array(3 - a.length).fill(fill), ...a];
  const inS = pad3(g.inSize, 1);
  const outS = pad3(g.outSize, 1);
  const k = pad3(g.kernel, 1);
  const s = pad3(g.stride, 1);
  const p = pad3(g.padding, 0);
  const d = pad3(g.dilation, 1);
  // Per axis and output index: the input positions of the window, and its size counting padding.
  const windows = [0, 1, 2].map((a) =>
    Array.from({ length: outS[a] }, (_, o) => {
      if (g.adaptive) {
        const start = Math.floor((o * inS[a]) / outS[a]);
        const end = Math.ceil(((o + 1) * inS[a]) / outS[a]);
        return { taps: Array.from({ length: end - start }, (_, i) => start + i), padded: end - start };
      }
      const start = o * s[a] - p[a];
      const taps = Array.from({ length: k[a] }, (_, i) => start + i * d[a]).filter((i) => i >= 0 && i < inS[a]);
      // count_include_pad counts window positions up to the padded edge, not beyond it.
      const padded = Math.min(start + (k[a] - 1) * d[a] + 1, inS[a] + p[a]) - start;
      return { taps, padded };
    }),
  );
  const inVol = inS[0] * inS[1] * inS[2];
  const outVol = outS[0] * outS[1] * outS[2];
  for (let pl = 0; pl < g.planes; pl++)
    for (let o0 = 0; o0 < outS[0]; o0++)
      for (let o1 = 0; o1 < outS[1]; o1++)
        for (let o2 = 0; o2 < outS[2]; o2++) {
          const [w0, w1, w2] = [windows[0][o0], windows[1][o1], windows[2][o2]];
          const taps: number[] = [];
          for (const i0 of w0.taps) for (const i1 of w1.taps) for (const i2 of w2.taps) taps.push((i0 * inS[1] + i1) * inS[2] + i2);
          const divisor = g.countIncludePad && !g.adaptive ? w0.padded * w1.padded * w2.padded : taps.length;
          fn(pl * inVol, pl * outVol + (o0 * outS[1] + o1) * outS[2] + o2, taps, divisor);
        }
}

/** Runs a float64 accumulation into `out` (overwritten). */
function accumulateInto(out: Float32Array, fill: (acc: Float64Array) => void): void {
  const acc = new Float64Array(out.length);
  fill(acc);
  out.set(acc);
}

export const referenceBackend: Backend = {
  name: 'reference',

  alloc<D extends DType>(dtype: D, n: number): DTypeMap[D] {
    return newTypedArray(dtype, n);
  },

  unary(op, x, y, p0, p1) {
    const f = unaryFn(op, p0, p1);
    for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  },

  unaryBackward(op, x, y, gy, dx, p0, p1) {
    const d = derivFn(op, p0, p1);
    for (let i = 0; i < gy.length; i++) dx[i] = gy[i] * d(x[i], y[i]);
  },

  binary(op, shape, a, as, b, bs, out) {
    const f = binaryFn(op);
    let o = 0;
    forEachIndex(shape, [as, bs], ([ia, ib]) => {
      out[o++] = f(a[ia], b[ib]);
    });
  },

  compare(op, shape, a, as, b, bs, out) {
    const f = compareFn(op);
    let o = 0;
    forEachIndex(shape, [as, bs], ([ia, ib]) => {
      out[o++] = f(a[ia], b[ib]) ? 1 : 0;
    });
  },

  where(shape, cond, cs, a, as, b, bs, out) {
    let o = 0;
    forEachIndex(shape, [cs, as, bs], ([ic, ia, ib]) => {
      out[o++] = cond[ic] ? a[ia] : b[ib];
    });
  },

  reduce(op: ReduceOp, x, outer, r, inner, out) {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = op === 'sum' ? 0 : x[o * r * inner + i];
        for (let j = op === 'sum' ? 0 : 1; j < r; j++) {
          const v = x[(o * r + j) * inner + i];
          if (op === 'sum') acc += v;
          else if (Number.isNaN(v) || Number.isNaN(acc)) acc = NaN;
          else acc = op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
        }
        out[o * inner + i] = acc;
      }
    }
  },

  argReduce(isMax, x, outer, r, inner, out) {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = 0;
        for (let j = 0; j < r; j++) {
          const v = x[(o * r + j) * inner + i];
          if (Number.isNaN(v)) {
            best = j;
            break;
          }
          const b = x[(o * r + best) * inner + i];
          if (isMax ? v > b : v < b) best = j;
        }
        out[o * inner + i] = best;
      }
    }
  },

  softmax(x, outer, r, inner, log, y) {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => (o * r + j) * inner + i;
        let m = -Infinity;
        for (let j = 0; j < r; j++) m = Math.max(m, x[at(j)]);
        if (m === -Infinity) m = 0;
        let s = 0;
        for (let j = 0; j < r; j++) s += Math.exp(x[at(j)] - m);
        for (let j = 0; j < r; j++) y[at(j)] = log ? x[at(j)] - m - Math.log(s) : Math.exp(x[at(j)] - m) / s;
      }
    }
  },

  softmaxBackward(y, gy, outer, r, inner, log, dx) {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => (o * r + j) * inner + i;
        let s = 0;
        for (let j = 0; j < r; j++) s += log ? gy[at(j)] : gy[at(j)] * y[at(j)];
        for (let j = 0; j < r; j++) {
          dx[at(j)] = log ? gy[at(j)] - Math.exp(y[at(j)]) * s : y[at(j)] * (gy[at(j)] - s);
        }
      }
    }
  },

  copyStrided(shape, src, srcOffset, ss, dst, dstOffset, ds) {
    forEachIndex(shape, [ss, ds], ([is, id]) => {
      dst[dstOffset + id] = src[srcOffset + is];
    });
  },

  addStrided(shape, src, srcOffset, ss, dst, dstOffset, ds) {
    forEachIndex(shape, [ss, ds], ([is, id]) => {
      dst[dstOffset + id] += src[srcOffset + is];
    });
  },

  fill(out, value) {
    out.fill(value);
  },

  cast(src, dst) {
    for (let i = 0; i < src.length; i++) dst[i] = dst instanceof Float32Array ? src[i] : Math.trunc(src[i]);
  },

  indexSelect(x, outer, n, inner, idx, out) {
    const k = idx.length;
    for (let o = 0; o < outer; o++) for (let j = 0; j < k; j++) for (let i = 0; i < inner; i++) out[(o * k + j) * inner + i] = x[(o * n + idx[j]) * inner + i];
  },

  indexAdd(g, outer, n, inner, idx, out) {
    const k = idx.length;
    for (let o = 0; o < outer; o++) for (let j = 0; j < k; j++) for (let i = 0; i < inner; i++) out[(o * n + idx[j]) * inner + i] += g[(o * k + j) * inner + i];
  },

  gather(x, outer, n, inner, idx, out) {
    const k = outer * inner === 0 ? 0 : idx.length / (outer * inner);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < k; j++)
        for (let i = 0; i < inner; i++) {
          const t = (o * k + j) * inner + i;
          out[t] = x[(o * n + idx[t]) * inner + i];
        }
  },

  scatterAdd(g, outer, n, inner, idx, out) {
    const k = outer * inner === 0 ? 0 : idx.length / (outer * inner);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < k; j++)
        for (let i = 0; i < inner; i++) {
          const t = (o * k + j) * inner + i;
          out[(o * n + idx[t]) * inner + i] += g[t];
        }
  },

  maxPool(g, x, y, indices) {
    forEachWindow(g, (xBase, yi, taps) => {
      let best = -Infinity;
      let bi = taps.length ? taps[0] : 0;
      for (const t of taps) {
        const v = x[xBase + t];
        if (v > best || Number.isNaN(v)) {
          best = v;
          bi = t;
          if (Number.isNaN(v)) break;
        }
      }
      y[yi] = best;
      indices[yi] = bi;
    });
  },

  maxPoolBackward(planes, inPlane, outPlane, indices, dy, dx) {
    dx.fill(0);
    for (let pl = 0; pl < planes; pl++) for (let o = 0; o < outPlane; o++) dx[pl * inPlane + indices[pl * outPlane + o]] += dy[pl * outPlane + o];
  },

  avgPool(g, x, y) {
    forEachWindow(g, (xBase, yi, taps, divisor) => {
      let acc = 0;
      for (const t of taps) acc += x[xBase + t];
      y[yi] = acc / divisor;
    });
  },

  avgPoolBackward(g, dy, dx) {
    accumulateInto(dx, (acc) =>
      forEachWindow(g, (xBase, yi, taps, divisor) => {
        for (const t of taps) acc[xBase + t] += dy[yi] / divisor;
      }),
    );
  },

  batchNormStats(x, n, c, hw, eps, mean, variance, invstd) {
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) s += x[(i * c + ch) * hw + j];
      const m = s / (n * hw);
      let v = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) v += (x[(i * c + ch) * hw + j] - m) ** 2;
      v /= n * hw;
      mean[ch] = m;
      variance[ch] = v;
      invstd[ch] = 1 / Math.sqrt(v + eps);
    }
  },

  batchNormForward(x, n, c, hw, mean, invstd, gamma, beta, y) {
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++) {
        const scale = invstd[ch] * (gamma ? gamma[ch] : 1);
        const shift = beta ? beta[ch] : 0;
        for (let j = 0; j < hw; j++) {
          const k = (i * c + ch) * hw + j;
          y[k] = (x[k] - mean[ch]) * scale + shift;
        }
      }
  },

  batchNormBackward(x, dy, n, c, hw, mean, invstd, gamma, dx, dgamma, dbeta) {
    const m = n * hw;
    for (let ch = 0; ch < c; ch++) {
      let sdy = 0;
      let sdyx = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < hw; j++) {
          const k = (i * c + ch) * hw + j;
          sdy += dy[k];
          sdyx += dy[k] * (x[k] - mean[ch]) * invstd[ch];
        }
      dbeta[ch] = sdy;
      dgamma[ch] = sdyx;
      const g = gamma ? gamma[ch] : 1;
      // dx = gamma * invstd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
      for (let i = 0; i < n; i++)
        for (let j = 0; j < hw; j++) {
          const k = (i * c + ch) * hw + j;
          const xhat = (x[k] - mean[ch]) * invstd[ch];
          dx[k] = ((g * invstd[ch]) / m) * (m * dy[k] - sdy - xhat * sdyx);
        }
    }
  },

  adamStep(h, param, grad, expAvg, expAvgSq, maxExpAvgSq) {
    const f = Math.fround;
    const stepSize = f(h.lr / (1 - h.beta1 ** h.step));
    const bc2Sqrt = f(Math.sqrt(1 - h.beta2 ** h.step));
    const decay = f(1 - h.lr * h.weightDecay);
    for (let i = 0; i < param.length; i++) {
      let g = grad[i];
      if (h.weightDecay !== 0) {
        if (h.decoupled) param[i] = f(param[i] * decay);
        else g = f(g + f(f(h.weightDecay) * param[i]));
      }
      const m = f(f(expAvg[i] * f(h.beta1)) + f(f(1 - h.beta1) * g));
      let v = f(f(expAvgSq[i] * f(h.beta2)) + f(f(f(1 - h.beta2) * g) * g));
      expAvg[i] = m;
      expAvgSq[i] = v;
      if (h.amsgrad && maxExpAvgSq) {
        v = Math.max(maxExpAvgSq[i], v);
        maxExpAvgSq[i] = v;
      }
      const denom = f(f(Math.sqrt(v) / bc2Sqrt) + f(h.eps));
      param[i] = f(param[i] - f(stepSize * f(m / denom)));
    }
  },

  sgdStep(h, param, grad, buf) {
    const f = Math.fround;
    for (let i = 0; i < param.length; i++) {
      let d = grad[i];
      if (h.weightDecay !== 0) d = f(d + f(f(h.weightDecay) * param[i]));
      if (h.momentum !== 0 && buf) {
        const b = h.first ? d : f(f(buf[i] * f(h.momentum)) + f(f(1 - h.dampening) * d));
        buf[i] = b;
        d = h.nesterov ? f(d + f(f(h.momentum) * b)) : b;
      }
      param[i] = f(param[i] - f(f(h.lr) * d));
    }
  },

  rmspropStep(h, param, grad, squareAvg, gradAvg, buf) {
    const f = Math.fround;
    for (let i = 0; i < param.length; i++) {
      let g = grad[i];
      if (h.weightDecay !== 0) g = f(g + f(f(h.weightDecay) * param[i]));
      const sq = f(f(squareAvg[i] * f(h.alpha)) + f(f(f(1 - h.alpha) * g) * g));
      squareAvg[i] = sq;
      let avg: number;
      if (h.centered && gradAvg) {
        const ga = f(f(gradAvg[i] * f(h.alpha)) + f(f(1 - h.alpha) * g));
        gradAvg[i] = ga;
        avg = f(f(Math.sqrt(f(sq - f(ga * ga)))) + f(h.eps));
      } else {
        avg = f(f(Math.sqrt(sq)) + f(h.eps));
      }
      if (h.momentum > 0 && buf) {
        const b = f(f(buf[i] * f(h.momentum)) + f(g / avg));
        buf[i] = b;
        param[i] = f(param[i] - f(f(h.lr) * b));
      } else {
        param[i] = f(param[i] - f(f(h.lr) * f(g / avg)));
      }
    }
  },

  convForward(g, x, w, bias, y, act) {
    accumulateInto(y, (acc) => forEachConvTap(g, (xi, wi, yi) => (acc[yi] += x[xi] * w[wi])));
    if (bias) {
      const vol = g.outSize.reduce((a, b) => a * b, 1);
      for (let i = 0; i < y.length; i++) y[i] = Math.fround(y[i] + bias[Math.floor(i / vol) % g.cOut]);
    }
    if (act) this.unary(act.op, y, y, act.p0 ?? 0, act.p1 ?? 0);
  },

  convBackwardInput(g, w, dy, dx) {
    accumulateInto(dx, (acc) => forEachConvTap(g, (xi, wi, yi) => (acc[xi] += dy[yi] * w[wi])));
  },

  convBackwardWeight(g, x, dy, dw) {
    accumulateInto(dw, (acc) => forEachConvTap(g, (xi, wi, yi) => (acc[wi] += dy[yi] * x[xi])));
  },

  sgemm(batch, transA, transB, m, n, k, alpha, a, aOff, lda, sA, b, bOff, ldb, sB, beta, c, cOff, ldc, sC) {
    for (let p = 0; p < batch; p++) {
      const ab = aOff + p * sA;
      const bb = bOff + p * sB;
      const cb = cOff + p * sC;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let q = 0; q < k; q++) {
            const av = transA ? a[ab + q * lda + i] : a[ab + i * lda + q];
            const bv = transB ? b[bb + j * ldb + q] : b[bb + q * ldb + j];
            acc += av * bv;
          }
          const prev = beta === 0 ? 0 : beta * c[cb + i * ldc + j];
          c[cb + i * ldc + j] = alpha * acc + prev;
        }
      }
    }
  },
};

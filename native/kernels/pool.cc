#include "pool.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../threadpool.h"
#include "isa_kernels.h"
#include "strided.h"

namespace tsv {
namespace {

// For one axis and each output index: the first in-bounds input position of the
// window, the number of in-bounds taps, the distance between taps, and the
// window length counted up to the padded edge (for count_include_pad).
struct Axis {
  std::vector<int64_t> first, taps, padded;
  int64_t step = 1;
};

Axis axis_windows(const PoolGeom& g, int a) {
  Axis ax;
  int64_t in = g.in[a], out = g.out[a];
  ax.first.resize(out);
  ax.taps.resize(out);
  ax.padded.resize(out);
  ax.step = g.adaptive ? 1 : g.d[a];
  for (int64_t o = 0; o < out; o++) {
    if (g.adaptive) {
      int64_t start = o * in / out, end = ((o + 1) * in + out - 1) / out;
      ax.first[o] = start;
      ax.taps[o] = end - start;
      ax.padded[o] = end - start;
      continue;
    }
    int64_t start = o * g.s[a] - g.p[a], d = g.d[a], k = g.k[a];
    int64_t t0 = start < 0 ? (-start + d - 1) / d : 0;
    int64_t t1 = k;  // one past the last in-bounds tap
    while (t1 > t0 && start + (t1 - 1) * d >= in) t1--;
    ax.first[o] = start + t0 * d;
    ax.taps[o] = t1 > t0 ? t1 - t0 : 0;
    int64_t end = start + (k - 1) * d + 1;
    ax.padded[o] = (end < in + g.p[a] ? end : in + g.p[a]) - start;
  }
  return ax;
}

struct Windows {
  Axis ax[3];
  int64_t in_vol, out_vol;
  explicit Windows(const PoolGeom& g) {
    for (int a = 0; a < 3; a++) ax[a] = axis_windows(g, a);
    in_vol = g.in[0] * g.in[1] * g.in[2];
    out_vol = g.out[0] * g.out[1] * g.out[2];
  }
  int64_t divisor(const PoolGeom& g, int64_t o0, int64_t o1, int64_t o2) const {
    if (g.count_include_pad && !g.adaptive) return ax[0].padded[o0] * ax[1].padded[o1] * ax[2].padded[o2];
    return ax[0].taps[o0] * ax[1].taps[o1] * ax[2].taps[o2];
  }
};

// Calls fn(plane, out_index, o0, o1, o2) for every output, planes split across threads.
template <typename Fn>
void for_each_output(const PoolGeom& g, const Windows& w, Fn&& fn) {
  int64_t grain = 1 + kElementwiseGrain / (w.in_vol + 1);
  parallel_for(g.planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++)
      for (int64_t o0 = 0, oi = pl * w.out_vol; o0 < g.out[0]; o0++)
        for (int64_t o1 = 0; o1 < g.out[1]; o1++)
          for (int64_t o2 = 0; o2 < g.out[2]; o2++, oi++) fn(pl, oi, o0, o1, o2);
  });
}

// Calls tap(offset within the plane) for each in-bounds input of window (o0, o1, o2).
template <typename Tap>
inline void for_each_tap(const PoolGeom& g, const Windows& w, int64_t o0, int64_t o1, int64_t o2, Tap&& tap) {
  const Axis &a0 = w.ax[0], &a1 = w.ax[1], &a2 = w.ax[2];
  for (int64_t t0 = 0, i0 = a0.first[o0]; t0 < a0.taps[o0]; t0++, i0 += a0.step)
    for (int64_t t1 = 0, i1 = a1.first[o1]; t1 < a1.taps[o1]; t1++, i1 += a1.step) {
      int64_t row = (i0 * g.in[1] + i1) * g.in[2];
      for (int64_t t2 = 0, i2 = a2.first[o2]; t2 < a2.taps[o2]; t2++, i2 += a2.step) tap(row + i2);
    }
}

// True for 1-D and 2-D pooling whose windows all lie inside the input (no
// padding, no dilation, no partial window at the edge: MaxPool2d(2), AvgPool2d(3, 2)).
// Those take the direct loops below instead of the per-window bookkeeping.
bool full_2d_windows(const PoolGeom& g) {
  if (g.adaptive || g.in[0] != 1 || g.k[0] != 1) return false;
  for (int a = 1; a < 3; a++) {
    if (g.p[a] != 0 || g.d[a] != 1 || (g.out[a] - 1) * g.s[a] + g.k[a] > g.in[a]) return false;
  }
  return true;
}

// fn(window's first input, offset of that input in the plane, output index) over
// every window of every plane; windows are k[1] x k[2] with rows g.in[2] apart.
template <typename Fn>
void for_each_full_window(const PoolGeom& g, const float* x, Fn&& fn) {
  const int64_t in_vol = g.in[1] * g.in[2], out_vol = g.out[1] * g.out[2];
  parallel_for(g.planes, 1 + kElementwiseGrain / (in_vol + 1), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const float* xp = x + pl * in_vol;
      int64_t oi = pl * out_vol;
      for (int64_t o1 = 0; o1 < g.out[1]; o1++) {
        int64_t row = o1 * g.s[1] * g.in[2];
        for (int64_t o2 = 0, off = row; o2 < g.out[2]; o2++, oi++, off += g.s[2]) fn(xp + off, off, oi);
      }
    }
  });
}

}  // namespace

// One output row of a max pool over full windows: the first tap, then per tap a
// larger value or the first NaN, as the general loop chooses. The loop over the
// row's outputs is innermost and branch-free so that it vectorises (the
// comparisons are coin tosses on real data, which a branch predictor loses).
template <int S2>
void max_pool_row(const float* __restrict xr, int64_t row_off, int64_t n, int64_t s2_rt, int64_t k1, int64_t k2, int64_t w,
                  float* __restrict yr, int32_t* __restrict ir) {
  const int64_t s2 = S2 > 0 ? S2 : s2_rt;
  for (int64_t o = 0; o < n; o++) {
    yr[o] = xr[o * s2];
    ir[o] = static_cast<int32_t>(row_off + o * s2);
  }
  for (int64_t t1 = 0; t1 < k1; t1++)
    for (int64_t t2 = (t1 == 0 ? 1 : 0); t2 < k2; t2++) {
      const float* __restrict q = xr + t1 * w + t2;
      const int32_t base = static_cast<int32_t>(row_off + t1 * w + t2);
      for (int64_t o = 0; o < n; o++) {
        float v = q[o * s2], b = yr[o];
        bool take = (v > b) | ((v != v) & (b == b));
        yr[o] = take ? v : b;
        ir[o] = take ? base + static_cast<int32_t>(o * s2) : ir[o];
      }
    }
}

// True for 1-D and 2-D pooling with regular, undilated windows (padding allowed).
// Their rows run the vectorised row loop over the columns whose windows lie inside
// the input horizontally; rows are clipped to the input, and only the few edge
// columns take the per-window loop.
bool plain_2d(const PoolGeom& g) {
  return !g.adaptive && g.in[0] == 1 && g.k[0] == 1 && g.d[1] == 1 && g.d[2] == 1;
}

void max_pool(const PoolGeom& g, const float* x, float* y, int32_t* idx) {
  if (plain_2d(g)) {
    const int64_t h = g.in[1], w = g.in[2], in_vol = h * w, oh = g.out[1], ow = g.out[2], out_vol = oh * ow;
    const int64_t k1 = g.k[1], k2 = g.k[2], s1 = g.s[1], s2 = g.s[2], p1 = g.p[1], p2 = g.p[2];
    // columns [lo, hi) have every tap inside the row
    const int64_t lo = std::min(ow, (p2 + s2 - 1) / s2);
    const int64_t hi = std::max(lo, std::min(ow, w - k2 + p2 >= 0 ? (w - k2 + p2) / s2 + 1 : 0));
    parallel_for(g.planes, 1 + kElementwiseGrain / (in_vol + 1), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; pl++) {
        const float* xp = x + pl * in_vol;
        for (int64_t o1 = 0; o1 < oh; o1++) {
          const int64_t r0 = o1 * s1 - p1, t1a = std::max<int64_t>(0, -r0), t1b = std::min(k1, h - r0);
          const int64_t oi = pl * out_vol + o1 * ow;
          // an edge column: the window's taps clipped to the input, first maximum (or first NaN) wins
          auto edge = [&](int64_t o2) {
            const int64_t c0 = o2 * s2 - p2, t2a = std::max<int64_t>(0, -c0), t2b = std::min(k2, w - c0);
            float best = -__builtin_inff();
            int64_t bi = -1;
            for (int64_t t1 = t1a; t1 < t1b; t1++)
              for (int64_t t2 = t2a; t2 < t2b; t2++) {
                int64_t t = (r0 + t1) * w + c0 + t2;
                float v = xp[t];
                if (bi < 0 || v > best || (v != v && best == best)) {
                  best = v;
                  bi = t;
                }
              }
            y[oi + o2] = best;
            idx[oi + o2] = static_cast<int32_t>(bi < 0 ? 0 : bi);
          };
          for (int64_t o2 = 0; o2 < lo; o2++) edge(o2);
          for (int64_t o2 = hi; o2 < ow; o2++) edge(o2);
          if (hi > lo && t1b > t1a) {
            const int64_t off = (r0 + t1a) * w + lo * s2 - p2;
            if (s2 == 2) max_pool_row<2>(xp + off, off, hi - lo, s2, t1b - t1a, k2, w, y + oi + lo, idx + oi + lo);
            else if (s2 == 1) max_pool_row<1>(xp + off, off, hi - lo, s2, t1b - t1a, k2, w, y + oi + lo, idx + oi + lo);
            else max_pool_row<0>(xp + off, off, hi - lo, s2, t1b - t1a, k2, w, y + oi + lo, idx + oi + lo);
          } else {
            for (int64_t o2 = lo; o2 < hi; o2++) edge(o2);
          }
        }
      }
    });
    return;
  }
  Windows w(g);
  for_each_output(g, w, [&](int64_t pl, int64_t oi, int64_t o0, int64_t o1, int64_t o2) {
    const float* xp = x + pl * w.in_vol;
    float best = -__builtin_inff();
    int64_t bi = -1;
    for_each_tap(g, w, o0, o1, o2, [&](int64_t t) {
      float v = xp[t];
      if (bi < 0 || v > best || (v != v && best == best)) {
        best = v;
        bi = t;
      }
    });
    y[oi] = best;
    idx[oi] = static_cast<int32_t>(bi < 0 ? 0 : bi);
  });
}

void max_pool_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const int32_t* idx,
                       const float* dy, float* dx) {
  // Planes are independent, so splitting by plane never races.
  parallel_for(planes, 1 + kElementwiseGrain / (in_plane + 1), [&](int64_t b, int64_t e) {
    std::memset(dx + b * in_plane, 0, (e - b) * in_plane * sizeof(float));
    for (int64_t pl = b; pl < e; pl++) {
      float* d = dx + pl * in_plane;
      for (int64_t o = 0; o < out_plane; o++) d[idx[pl * out_plane + o]] += dy[pl * out_plane + o];
    }
  });
}

void avg_pool(const PoolGeom& g, const float* x, float* y) {
  const int64_t in_vol = g.in[0] * g.in[1] * g.in[2];
  if (g.adaptive && g.out[0] * g.out[1] * g.out[2] == 1) {
    // global pooling (squeeze-and-excitation, classifier heads): a blocked sum per plane
    const IsaKernels& k = isa_kernels();
    parallel_for(g.planes, 1 + kElementwiseGrain / (in_vol + 1), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; pl++) y[pl] = k.sum(x + pl * in_vol, in_vol) / static_cast<float>(in_vol);
    });
    return;
  }
  if (full_2d_windows(g)) {
    const int64_t k1 = g.k[1], k2 = g.k[2], w = g.in[2];
    const float n = static_cast<float>(k1 * k2);
    for_each_full_window(g, x, [&](const float* p, int64_t, int64_t oi) {
      float acc = 0.0f;
      for (int64_t t1 = 0; t1 < k1; t1++)
        for (int64_t t2 = 0; t2 < k2; t2++) acc += p[t1 * w + t2];
      y[oi] = acc / n;
    });
    return;
  }
  Windows w(g);
  for_each_output(g, w, [&](int64_t pl, int64_t oi, int64_t o0, int64_t o1, int64_t o2) {
    const float* xp = x + pl * w.in_vol;
    float acc = 0.0f;
    for_each_tap(g, w, o0, o1, o2, [&](int64_t t) { acc += xp[t]; });
    y[oi] = acc / static_cast<float>(w.divisor(g, o0, o1, o2));
  });
}

void avg_pool_backward(const PoolGeom& g, const float* dy, float* dx) {
  Windows w(g);
  parallel_for(g.planes, 1, [&](int64_t b, int64_t e) {
    std::memset(dx + b * w.in_vol, 0, (e - b) * w.in_vol * sizeof(float));
  });
  for_each_output(g, w, [&](int64_t pl, int64_t oi, int64_t o0, int64_t o1, int64_t o2) {
    float* dp = dx + pl * w.in_vol;
    float v = dy[oi] / static_cast<float>(w.divisor(g, o0, o1, o2));
    for_each_tap(g, w, o0, o1, o2, [&](int64_t t) { dp[t] += v; });
  });
}

}  // namespace tsv

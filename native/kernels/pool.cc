#include "pool.h"

#include <cstring>
#include <vector>

#include "../threadpool.h"
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

}  // namespace

void max_pool(const PoolGeom& g, const float* x, float* y, int32_t* idx) {
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

// Convolution by im2col + SGEMM. For each image and group, the input is unfolded
// into cols [cin/groups * kvol, outvol] (one row per input channel and kernel
// offset, zeros where the window hangs over the padding), then
//   forward:          y[n,g]  = W[g] · cols
//   input gradient:   dx[n,g] = col2im(W[g]ᵀ · dy[n,g])     (col2im is im2col's adjoint)
//   weight gradient:  dW[g]  += dy[n,g] · colsᵀ
// A 1x1 kernel with stride 1 and no padding needs no unfolding: cols is x itself.
// Work is spread over (image, group) items when there are enough of them, each
// thread with its own cols buffer (and its own dW partial sum); otherwise items
// run one by one and the GEMM itself is multi-threaded.
#include "conv.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "../threadpool.h"
#include "../cpu.h"
#include "gemm.h"
#include "isa_kernels.h"

namespace tsv {
namespace {

// Multiply-adds below which a depthwise pass stays on the calling thread.
constexpr int64_t kElementwiseGrainConv = 65536;

struct Dims {
  int64_t cin_g, cout_g, kvol, invol, outvol, krows;
  bool direct;  // 1x1, stride 1, no padding: cols is the input itself
};

Dims dims_of(const ConvGeom& g) {
  Dims d;
  d.cin_g = g.cin / g.groups;
  d.cout_g = g.cout / g.groups;
  d.kvol = g.k[0] * g.k[1] * g.k[2];
  d.invol = g.in[0] * g.in[1] * g.in[2];
  d.outvol = g.out[0] * g.out[1] * g.out[2];
  d.krows = d.cin_g * d.kvol;
  d.direct = d.kvol == 1;
  for (int a = 0; a < 3; a++) d.direct = d.direct && g.s[a] == 1 && g.p[a] == 0;
  return d;
}

// The valid output range [lo, hi) along the last axis for kernel offset k2: the
// outputs whose input position o*s - p + k2*d falls inside [0, in).
inline void valid_range(const ConvGeom& g, int64_t k2, int64_t* lo, int64_t* hi) {
  int64_t off = k2 * g.d[2] - g.p[2];  // input position of output 0
  int64_t s = g.s[2];
  int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t b = g.in[2] - off <= 0 ? 0 : (g.in[2] - off + s - 1) / s;
  *lo = a < g.out[2] ? a : g.out[2];
  *hi = b < g.out[2] ? b : g.out[2];
  if (*hi < *lo) *hi = *lo;
}

// Walks every row of cols and every (o0, o1) line of it, calling
// line(cols_line, x_line or null when the line is entirely padding, lo, hi).
// x_line points at input position (i0, i1, i2 of output 0) — possibly before the
// start of the row; only [lo, hi) is read through it with stride s2. With a range,
// only the rows of (channel, k0, k1) groups [r0, r1) are walked.
template <typename Line>
void for_each_line(const ConvGeom& g, const Dims& d, float* cols, const float* x, Line&& line, int64_t r0 = 0, int64_t r1 = -1) {
  if (r1 < 0) r1 = d.cin_g * g.k[0] * g.k[1];
  for (int64_t r = r0; r < r1; r++) {
    const int64_t ci = r / (g.k[0] * g.k[1]), k0 = r / g.k[1] % g.k[0], k1 = r % g.k[1];
    for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
      float* row = cols + (r * g.k[2] + k2) * d.outvol;  // row (ci, k0, k1, k2) of cols
      int64_t lo, hi;
      valid_range(g, k2, &lo, &hi);
      for (int64_t o0 = 0; o0 < g.out[0]; o0++) {
        int64_t i0 = o0 * g.s[0] - g.p[0] + k0 * g.d[0];
        for (int64_t o1 = 0; o1 < g.out[1]; o1++) {
          int64_t i1 = o1 * g.s[1] - g.p[1] + k1 * g.d[1];
          float* dst = row + (o0 * g.out[1] + o1) * g.out[2];
          bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1];
          const float* src = inside ? x + ((ci * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + (k2 * g.d[2] - g.p[2]) : nullptr;
          line(dst, src, inside ? lo : 0, inside ? hi : 0);
        }
      }
    }
  }
}

// cols = unfold(x) for one image and group; x is [cin_g, in...]. With `parallel`
// (a lone image: the caller is not itself one of several threads), the (channel,
// k0, k1) groups of rows are split across the pool (by channel alone, an RGB
// stem would give one thread two of its three channels).
void im2col(const ConvGeom& g, const Dims& d, const float* x, float* cols, bool parallel) {
  int64_t s2 = g.s[2], w = g.out[2];
  auto groups = [&](int64_t r0, int64_t r1) {
    for_each_line(
        g, d, cols, x,
        [&](float* dst, const float* src, int64_t lo, int64_t hi) {
          for (int64_t o = 0; o < lo; o++) dst[o] = 0.0f;
          if (s2 == 1) {
            if (hi > lo) std::memcpy(dst + lo, src + lo, (hi - lo) * sizeof(float));
          } else if (s2 == 2) {  // a constant stride, so the copy vectorises
            for (int64_t o = lo; o < hi; o++) dst[o] = src[2 * o];
          } else {
            for (int64_t o = lo; o < hi; o++) dst[o] = src[o * s2];
          }
          for (int64_t o = hi; o < w; o++) dst[o] = 0.0f;
        },
        r0, r1);
  };
  const int64_t n = d.cin_g * g.k[0] * g.k[1];
  if (parallel) parallel_for(n, 1 + kElementwiseGrainConv / (g.k[2] * d.outvol + 1), groups);
  else groups(0, n);
}

// x += fold(cols): the adjoint of im2col; x must be initialised by the caller.
void col2im(const ConvGeom& g, const Dims& d, float* cols, float* x) {
  int64_t s2 = g.s[2];
  for_each_line(g, d, cols, x, [&](float* src_line, const float* dst_c, int64_t lo, int64_t hi) {
    float* dst = const_cast<float*>(dst_c);
    for (int64_t o = lo; o < hi; o++) dst[o * s2] += src_line[o];
  });
}

float* scratch(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

thread_local std::vector<float> tl_cols;
thread_local std::vector<float> tl_dw;  // a depthwise plane, padded (isa_kernels.h)

// The cols matrix of one image and group: the input itself for a direct (1x1,
// stride 1, unpadded) convolution, else its unfolding into this thread's buffer.
const float* unfolded(const ConvGeom& g, const Dims& d, const float* xg, bool parallel) {
  if (d.direct) return xg;
  float* c = scratch(tl_cols, d.krows * d.outvol);
  im2col(g, d, xg, c, parallel);
  return c;
}

// Whether for_items runs items one after another on the calling thread (then each
// item may use the whole pool).
bool items_in_turn(int64_t items) { return items < 2 * num_threads(); }

// Runs item(i, tid) for every (image, group) item: in parallel across items when
// there are at least two per thread, else one after another (the GEMMs inside
// are then multi-threaded). Items that write their own outputs are claimed one at
// a time (`dynamic`): a thread that starts late (a worker waking from sleep, a
// vCPU lent to another process) just does fewer. Items that add into per-thread
// partial sums are split statically instead, so each sum always covers the same
// items in the same order and results do not change from run to run.
template <typename Item>
void for_items(int64_t items, bool dynamic, Item&& item) {
  int nt = num_threads();
  if (items >= 2 * nt) {
    std::atomic<int64_t> next{0};
    run_parallel([&](int tid, int n) {
      if (dynamic) {
        for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < items;) item(i, tid);
      } else {
        for (int64_t i = items * tid / n; i < items * (tid + 1) / n; i++) item(i, tid);
      }
    });
  } else {
    for (int64_t i = 0; i < items; i++) item(i, 0);
  }
}

// Depthwise (one filter per channel) 1-D or 2-D convolutions run a direct
// kernel: as a GEMM each would be a single row, far from the tiles' shape.
bool is_depthwise(const ConvGeom& g) {
  return g.groups == g.cin && g.cout == g.cin && g.groups > 1 && g.in[0] == 1 && g.k[0] == 1;
}

DwPlane dw_plane(const ConvGeom& g) {
  return {g.in[1], g.in[2], g.out[1], g.out[2], g.k[1], g.k[2], g.s[1], g.s[2], g.p[1], g.p[2], g.d[1], g.d[2]};
}

// Runs fn(plane) for each (image, channel) plane, planes split across threads.
template <typename Fn>
void for_planes(const ConvGeom& g, Fn&& fn) {
  int64_t work = g.in[1] * g.in[2] * g.k[1] * g.k[2];
  parallel_for(g.n * g.cin, 1 + kElementwiseGrainConv / (work + 1), fn);
}

// The epilogue on `rows` output rows of `len` values, channels c0, c0+1, ...
inline void epilogue_rows(const IsaKernels& k, const ConvEpilogue& ep, float* y, int64_t rows, int64_t len, int64_t c0) {
  for (int64_t r = 0; r < rows; r++) {
    float* yr = y + r * len;
    if (ep.bias) k.affine(yr, yr, len, 1.0f, ep.bias[c0 + r]);
    if (ep.op >= 0) k.unary(static_cast<UnaryOp>(ep.op), yr, yr, len, ep.p0, ep.p1);
  }
}

}  // namespace

void conv_forward(const ConvGeom& g, const float* x, const float* w, const ConvEpilogue& ep, float* y) {
  Dims d = dims_of(g);
  const IsaKernels& k = isa_kernels();
  if (is_depthwise(g)) {
    DwPlane p = dw_plane(g);
    for_planes(g, [&](int64_t b, int64_t e) {
      float* pad = scratch(tl_dw, dw_scratch_floats(p));
      for (int64_t pl = b; pl < e; pl++) {
        float* yp = y + pl * d.outvol;
        const int64_t c = pl % g.cin;
        k.dw_forward(p, x + pl * d.invol, w + c * d.kvol, ep.bias ? ep.bias[c] : 0.0f, yp, pad);
        if (ep.op >= 0) k.unary(static_cast<UnaryOp>(ep.op), yp, yp, d.outvol, ep.p0, ep.p1);
      }
    });
    return;
  }
  const bool in_turn = items_in_turn(g.n * g.groups);
  for_items(g.n * g.groups, true, [&](int64_t item, int) {
    int64_t n = item / g.groups, gr = item % g.groups;
    const float* cols = unfolded(g, d, x + (n * g.cin + gr * d.cin_g) * d.invol, in_turn);
    float* yg = y + (n * g.cout + gr * d.cout_g) * d.outvol;
    sgemm(false, false, d.cout_g, d.outvol, d.krows, 1.0f, w + gr * d.cout_g * d.krows, d.krows, cols,
          d.outvol, 0.0f, yg, d.outvol);
    if (ep.bias == nullptr && ep.op < 0) return;
    if (!in_turn) {
      epilogue_rows(k, ep, yg, d.cout_g, d.outvol, gr * d.cout_g);
      return;
    }
    // a lone image: the GEMM used every thread, so the epilogue does too
    parallel_for(d.cout_g, 1 + kElementwiseGrainConv / (d.outvol + 1), [&](int64_t b, int64_t e) {
      epilogue_rows(k, ep, yg + b * d.outvol, e - b, d.outvol, gr * d.cout_g + b);
    });
  });
}

void conv_backward_input(const ConvGeom& g, const float* w, const float* dy, float* dx) {
  Dims d = dims_of(g);
  if (is_depthwise(g)) {
    const IsaKernels& k = isa_kernels();
    DwPlane p = dw_plane(g);
    for_planes(g, [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; pl++)
        k.dw_backward_input(p, w + (pl % g.cin) * d.kvol, dy + pl * d.outvol, dx + pl * d.invol);
    });
    return;
  }
  for_items(g.n * g.groups, true, [&](int64_t item, int) {
    int64_t n = item / g.groups, gr = item % g.groups;
    float* dxg = dx + (n * g.cin + gr * d.cin_g) * d.invol;
    const float* wg = w + gr * d.cout_g * d.krows;
    const float* dyg = dy + (n * g.cout + gr * d.cout_g) * d.outvol;
    if (d.direct) {
      sgemm(true, false, d.krows, d.outvol, d.cout_g, 1.0f, wg, d.krows, dyg, d.outvol, 0.0f, dxg, d.outvol);
      return;
    }
    float* c = scratch(tl_cols, d.krows * d.outvol);
    sgemm(true, false, d.krows, d.outvol, d.cout_g, 1.0f, wg, d.krows, dyg, d.outvol, 0.0f, c, d.outvol);
    std::memset(dxg, 0, d.cin_g * d.invol * sizeof(float));
    col2im(g, d, c, dxg);
  });
}

void conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  Dims d = dims_of(g);
  if (is_depthwise(g)) {
    // Split over channels, so each thread owns its filters and needs no reduction.
    const IsaKernels& k = isa_kernels();
    DwPlane p = dw_plane(g);
    std::memset(dw, 0, g.cout * d.kvol * sizeof(float));
    parallel_for(g.cin, 1 + kElementwiseGrainConv / (g.n * d.invol * d.kvol + 1), [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; c++)
        for (int64_t n = 0; n < g.n; n++) {
          int64_t pl = n * g.cin + c;
          k.dw_backward_weight(p, x + pl * d.invol, dy + pl * d.outvol, dw + c * d.kvol);
        }
    });
    return;
  }
  int64_t wsize = g.cout * d.krows;
  int nt = num_threads();
  bool parallel_items = g.n * g.groups >= 2 * nt;
  // Each thread sums its images into its own copy of dW; the copies are added at the end.
  std::vector<std::vector<float>> partial(parallel_items ? nt - 1 : 0, std::vector<float>(wsize));
  std::vector<char> touched(nt, 0);
  std::memset(dw, 0, wsize * sizeof(float));
  for_items(g.n * g.groups, false, [&](int64_t item, int tid) {
    int64_t n = item / g.groups, gr = item % g.groups;
    float* acc = tid == 0 ? dw : partial[tid - 1].data();
    touched[tid] = 1;
    const float* cols = unfolded(g, d, x + (n * g.cin + gr * d.cin_g) * d.invol, !parallel_items);
    sgemm(false, true, d.cout_g, d.krows, d.outvol, 1.0f, dy + (n * g.cout + gr * d.cout_g) * d.outvol,
          d.outvol, cols, d.outvol, 1.0f, acc + gr * d.cout_g * d.krows, d.krows);
  });
  for (int t = 1; t < nt && parallel_items; t++) {
    if (!touched[t]) continue;
    const float* p = partial[t - 1].data();
    for (int64_t i = 0; i < wsize; i++) dw[i] += p[i];
  }
}

}  // namespace tsv

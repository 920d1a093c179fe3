// Walking N operands that share one logical shape but have their own strides
// (broadcast dimensions have stride 0). The shape is first collapsed (adjacent
// dimensions merge when every operand is contiguous across them), then the work is
// a set of rows: all dimensions but the last, each an inner loop along the last.
#pragma once
#include <cstdint>

#include "../threadpool.h"

namespace tsv {

constexpr int kMaxDims = 12;

// Row-major strides of a contiguous array of `shape` (the output of a kernel).
inline void contiguous_strides(int ndim, const int64_t* shape, int64_t* strides) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
}

template <int N>
struct Strided {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t stride[N][kMaxDims];

  Strided(int nd, const int64_t* shp, const int64_t* const* strides) {
    // Drop size-1 dimensions, then merge mergeable neighbours.
    for (int d = 0; d < nd; d++) {
      if (shp[d] == 1) continue;
      shape[ndim] = shp[d];
      for (int k = 0; k < N; k++) stride[k][ndim] = strides[k][d];
      ndim++;
    }
    int w = 0;
    for (int d = 0; d < ndim; d++) {
      if (w > 0) {
        bool merge = true;
        for (int k = 0; k < N; k++)
          if (stride[k][w - 1] != stride[k][d] * shape[d]) merge = false;
        if (merge) {
          shape[w - 1] *= shape[d];
          for (int k = 0; k < N; k++) stride[k][w - 1] = stride[k][d];
          continue;
        }
      }
      shape[w] = shape[d];
      for (int k = 0; k < N; k++) stride[k][w] = stride[k][d];
      w++;
    }
    ndim = w;
    if (ndim == 0) {  // a scalar: one row of one element
      ndim = 1;
      shape[0] = 1;
      for (int k = 0; k < N; k++) stride[k][0] = 0;
    }
  }

  int64_t inner() const { return shape[ndim - 1]; }
  int64_t rows() const {
    int64_t r = 1;
    for (int d = 0; d < ndim - 1; d++) r *= shape[d];
    return r;
  }

  // Calls fn(off[N], inner_len, inner_strides[N]) for each row in [row_begin, row_end).
  template <typename Fn>
  void for_rows(int64_t row_begin, int64_t row_end, Fn&& fn) const {
    int64_t idx[kMaxDims] = {0};
    int64_t off[N] = {0};
    int64_t r = row_begin;
    for (int d = ndim - 2; d >= 0; d--) {
      idx[d] = r % shape[d];
      r /= shape[d];
      for (int k = 0; k < N; k++) off[k] += idx[d] * stride[k][d];
    }
    int64_t in_stride[N];
    for (int k = 0; k < N; k++) in_stride[k] = stride[k][ndim - 1];
    for (int64_t row = row_begin; row < row_end; row++) {
      fn(off, inner(), in_stride);
      for (int d = ndim - 2; d >= 0; d--) {  // odometer increment
        idx[d]++;
        for (int k = 0; k < N; k++) off[k] += stride[k][d];
        if (idx[d] < shape[d]) break;
        for (int k = 0; k < N; k++) off[k] -= stride[k][d] * shape[d];
        idx[d] = 0;
      }
    }
  }

  // Runs for_rows over all rows, split across the pool in chunks of ~grain
  // elements. When there are fewer rows than threads (a fully contiguous
  // operation collapses to one row), the rows themselves are cut into pieces.
  template <typename Fn>
  void parallel_rows(int64_t grain_elems, Fn&& fn) const {
    int64_t in = inner(), nrows = rows();
    if (nrows < num_threads() && in >= 2 * grain_elems) {
      int64_t pieces = (in + grain_elems - 1) / grain_elems;
      parallel_for(nrows * pieces, 1, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; t++) {
          int64_t row = t / pieces, piece = t % pieces;
          int64_t lo = in * piece / pieces, hi = in * (piece + 1) / pieces;
          for_rows(row, row + 1, [&](const int64_t* off, int64_t, const int64_t* st) {
            int64_t shifted[N];
            for (int k = 0; k < N; k++) shifted[k] = off[k] + lo * st[k];
            fn(shifted, hi - lo, st);
          });
        }
      });
      return;
    }
    int64_t row_grain = in >= grain_elems ? 1 : grain_elems / (in == 0 ? 1 : in);
    parallel_for(nrows, row_grain, [&](int64_t b, int64_t e) { for_rows(b, e, fn); });
  }
};

// Elementwise work below this many elements stays on the calling thread.
constexpr int64_t kElementwiseGrain = 32768;

}  // namespace tsv

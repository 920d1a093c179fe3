// Max and average pooling over 1 to 3 spatial dimensions (fewer dims given with
// leading size-1 axes), regular or adaptive windows; see PoolGeometry in
// src/backend/backend.ts for the window rules.
#pragma once
#include <cstdint>

namespace tsv {

struct PoolGeom {
  int64_t planes;
  int64_t in[3], out[3], k[3], s[3], p[3], d[3];
  bool adaptive, count_include_pad;
};

// y = max over each window; idx = flat index of the max within its input plane.
void max_pool(const PoolGeom& g, const float* x, float* y, int32_t* idx);
// dx (overwritten) = dy scattered to idx.
void max_pool_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const int32_t* idx,
                       const float* dy, float* dx);
void avg_pool(const PoolGeom& g, const float* x, float* y);
// dx (overwritten) = dy spread evenly over each window.
void avg_pool_backward(const PoolGeom& g, const float* dy, float* dx);

}  // namespace tsv

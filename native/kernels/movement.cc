#include "movement.h"

#include <cstring>
#include <type_traits>

#include "strided.h"

namespace tsv {

namespace {

template <typename T>
void copy_typed(int ndim, const int64_t* shape, const T* src, const int64_t* ss, T* dst,
                const int64_t* ds) {
  const int64_t* strides[2] = {ds, ss};
  Strided<2> it(ndim, shape, strides);
  it.parallel_rows(kElementwiseGrain, [&](const int64_t* off, int64_t n, const int64_t* st) {
    T* d = dst + off[0];
    const T* s = src + off[1];
    if (st[0] == 1 && st[1] == 1) {
      std::memcpy(d, s, n * sizeof(T));
    } else if (st[1] == 0) {
      T v = s[0];
      for (int64_t i = 0; i < n; i++) d[i * st[0]] = v;
    } else {
      for (int64_t i = 0; i < n; i++) d[i * st[0]] = s[i * st[1]];
    }
  });
}

}  // namespace

void copy_strided(int elem_size, int ndim, const int64_t* shape, const void* src,
                  int64_t src_offset, const int64_t* ss, void* dst, int64_t dst_offset,
                  const int64_t* ds) {
  if (elem_size == 4)
    copy_typed(ndim, shape, static_cast<const uint32_t*>(src) + src_offset, ss,
               static_cast<uint32_t*>(dst) + dst_offset, ds);
  else
    copy_typed(ndim, shape, static_cast<const uint8_t*>(src) + src_offset, ss,
               static_cast<uint8_t*>(dst) + dst_offset, ds);
}

void add_strided(int ndim, const int64_t* shape, const float* src, int64_t src_offset,
                 const int64_t* ss, float* dst, int64_t dst_offset, const int64_t* ds) {
  const int64_t* strides[2] = {ds, ss};
  Strided<2> it(ndim, shape, strides);
  // Serial: destinations may repeat across rows (overlapping windows).
  it.for_rows(0, it.rows(), [&](const int64_t* off, int64_t n, const int64_t* st) {
    float* d = dst + dst_offset + off[0];
    const float* s = src + src_offset + off[1];
    for (int64_t i = 0; i < n; i++) d[i * st[0]] += s[i * st[1]];
  });
}

void fill(float* out, int64_t n, float value) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) out[i] = value;
  });
}

void cast(int from, const void* src, int to, void* dst, int64_t n) {
  auto run = [&](auto* s, auto* d) {
    using D = std::remove_pointer_t<decltype(d)>;
    parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) d[i] = static_cast<D>(s[i]);
    });
  };
  auto with_dst = [&](auto* s) {
    if (to == 0) run(s, static_cast<float*>(dst));
    else if (to == 1) run(s, static_cast<int32_t*>(dst));
    else run(s, static_cast<uint8_t*>(dst));
  };
  if (from == 0) with_dst(static_cast<const float*>(src));
  else if (from == 1) with_dst(static_cast<const int32_t*>(src));
  else with_dst(static_cast<const uint8_t*>(src));
}

void index_select(const float* x, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
                  int64_t k, float* out) {
  parallel_for(outer * k, inner >= kElementwiseGrain ? 1 : kElementwiseGrain / (inner + 1) + 1,
               [&](int64_t b, int64_t e) {
                 for (int64_t t = b; t < e; t++) {
                   int64_t o = t / k, j = t % k;
                   std::memcpy(out + t * inner, x + (o * n + idx[j]) * inner, inner * sizeof(float));
                 }
               });
}

void index_add(const float* g, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
               int64_t k, float* out) {
  // Parallel over `outer` only: within one o, two j may hit the same row.
  parallel_for(outer, 1, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; o++)
      for (int64_t j = 0; j < k; j++) {
        float* d = out + (o * n + idx[j]) * inner;
        const float* s = g + (o * k + j) * inner;
        for (int64_t i = 0; i < inner; i++) d[i] += s[i];
      }
  });
}

void gather(const float* x, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
            int64_t k, float* out) {
  parallel_for(outer, 1 + kElementwiseGrain / (k * inner + 1), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; o++)
      for (int64_t j = 0; j < k; j++)
        for (int64_t i = 0; i < inner; i++) {
          int64_t t = (o * k + j) * inner + i;
          out[t] = x[(o * n + idx[t]) * inner + i];
        }
  });
}

void scatter_add(const float* g, int64_t outer, int64_t n, int64_t inner, const int32_t* idx,
                 int64_t k, float* out) {
  parallel_for(outer, 1 + kElementwiseGrain / (k * inner + 1), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; o++)
      for (int64_t j = 0; j < k; j++)
        for (int64_t i = 0; i < inner; i++) {
          int64_t t = (o * k + j) * inner + i;
          out[(o * n + idx[t]) * inner + i] += g[t];
        }
  });
}

}  // namespace tsv

#include "reduce.h"

#include <cmath>
#include <vector>

#include "isa_kernels.h"
#include "strided.h"

namespace tsv {

#define TSV_NAME_ENTRY(name) #name ","
const char* reduce_op_names() { return TSV_REDUCE_OPS(TSV_NAME_ENTRY); }
#undef TSV_NAME_ENTRY

namespace {

// Parallel over the outer*inner output positions, grouped so that each task
// touches whole rows: for inner == 1 a task is a set of contiguous vectors, for
// inner > 1 it is a set of (o, inner-block) pairs whose rows are reduced together.
template <typename F>
void for_outputs(int64_t outer, int64_t r, int64_t inner, F&& f) {
  int64_t work_per_outer = r * inner;
  int64_t grain = work_per_outer >= kElementwiseGrain ? 1 : kElementwiseGrain / (work_per_outer + 1) + 1;
  parallel_for(outer, grain, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; o++) f(o);
  });
}

}  // namespace

void reduce(ReduceOp op, const float* x, int64_t outer, int64_t r, int64_t inner, float* out) {
  if (outer == 0 || inner == 0) return;
  if (op == ReduceOp::sum && inner == 1 && outer < 4 && r >= 4 * kElementwiseGrain) {
    // A few long vectors: split each vector across threads instead.
    const IsaKernels& k = isa_kernels();
    for (int64_t o = 0; o < outer; o++) {
      const float* p = x + o * r;
      int nt = num_threads();
      std::vector<double> part(nt, 0.0);
      run_parallel([&](int tid, int n) {
        int64_t b = r * tid / n, e = r * (tid + 1) / n;
        part[tid] = k.sum(p + b, e - b);
      });
      double s = 0;
      for (double v : part) s += v;
      out[o] = static_cast<float>(s);
    }
    return;
  }
  const IsaKernels& k = isa_kernels();
  for_outputs(outer, r, inner, [&](int64_t o) {
    const float* p = x + o * r * inner;
    float* q = out + o * inner;
    if (op == ReduceOp::sum) {
      if (inner == 1) {
        q[0] = k.sum(p, r);
        return;
      }
      for (int64_t i = 0; i < inner; i++) q[i] = 0.0f;
      for (int64_t j = 0; j < r; j++) k.accumulate(q, p + j * inner, inner);
      return;
    }
    bool is_max = op == ReduceOp::max;
    for (int64_t i = 0; i < inner; i++) q[i] = p[i];
    for (int64_t j = 1; j < r; j++) {
      const float* row = p + j * inner;
      for (int64_t i = 0; i < inner; i++) {
        float v = row[i], c = q[i];
        bool take = is_max ? (v > c) : (v < c);
        if (take || v != v) q[i] = (c != c) ? c : v;
      }
    }
  });
}

void arg_reduce(bool is_max, const float* x, int64_t outer, int64_t r, int64_t inner,
                int32_t* out) {
  if (outer == 0 || inner == 0) return;
  for_outputs(outer, r, inner, [&](int64_t o) {
    const float* p = x + o * r * inner;
    for (int64_t i = 0; i < inner; i++) {
      float best = p[i];
      int32_t bi = 0;
      if (best == best) {
        for (int64_t j = 1; j < r; j++) {
          float v = p[j * inner + i];
          if (v != v) {
            bi = static_cast<int32_t>(j);
            break;
          }
          if (is_max ? v > best : v < best) {
            best = v;
            bi = static_cast<int32_t>(j);
          }
        }
      }
      out[o * inner + i] = bi;
    }
  });
}

void softmax(const float* x, int64_t outer, int64_t r, int64_t inner, bool log, float* y) {
  if (outer == 0 || inner == 0 || r == 0) return;
  if (inner == 1) {  // the common case (classes last): contiguous rows
    const IsaKernels& k = isa_kernels();
    for_outputs(outer, r, 1, [&](int64_t o) { k.softmax_row(x + o * r, y + o * r, r, log); });
    return;
  }
  for_outputs(outer, r, inner, [&](int64_t o) {
    const float* p = x + o * r * inner;
    float* q = y + o * r * inner;
    for (int64_t i = 0; i < inner; i++) {
      float m = -INFINITY;
      for (int64_t j = 0; j < r; j++) m = std::fmax(m, p[j * inner + i]);
      if (m == -INFINITY) m = 0.0f;  // all -inf: keep exp finite; result is NaN as in PyTorch
      double s = 0.0;  // long rows: a float sum of 10^5 terms drifts by ~1e-4
      if (log) {
        for (int64_t j = 0; j < r; j++) s += std::exp(p[j * inner + i] - m);
        float lse = m + static_cast<float>(std::log(s));
        for (int64_t j = 0; j < r; j++) q[j * inner + i] = p[j * inner + i] - lse;
      } else {
        for (int64_t j = 0; j < r; j++) {
          float e = std::exp(p[j * inner + i] - m);
          q[j * inner + i] = e;
          s += e;
        }
        float inv = static_cast<float>(1.0 / s);
        for (int64_t j = 0; j < r; j++) q[j * inner + i] *= inv;
      }
    }
  });
}

void softmax_backward(const float* y, const float* gy, int64_t outer, int64_t r, int64_t inner,
                      bool log, float* dx) {
  if (outer == 0 || inner == 0 || r == 0) return;
  if (inner == 1) {
    const IsaKernels& k = isa_kernels();
    for_outputs(outer, r, 1, [&](int64_t o) {
      k.softmax_backward_row(y + o * r, gy + o * r, dx + o * r, r, log);
    });
    return;
  }
  for_outputs(outer, r, inner, [&](int64_t o) {
    const float* py = y + o * r * inner;
    const float* pg = gy + o * r * inner;
    float* pd = dx + o * r * inner;
    for (int64_t i = 0; i < inner; i++) {
      double s = 0.0;
      if (log) {
        // dx = gy - softmax * sum(gy)
        for (int64_t j = 0; j < r; j++) s += pg[j * inner + i];
        for (int64_t j = 0; j < r; j++)
          pd[j * inner + i] = pg[j * inner + i] - std::exp(py[j * inner + i]) * static_cast<float>(s);
      } else {
        // dx = y * (gy - sum(gy * y))
        for (int64_t j = 0; j < r; j++) s += pg[j * inner + i] * py[j * inner + i];
        float sf = static_cast<float>(s);
        for (int64_t j = 0; j < r; j++) pd[j * inner + i] = py[j * inner + i] * (pg[j * inner + i] - sf);
      }
    }
  });
}

}  // namespace tsv

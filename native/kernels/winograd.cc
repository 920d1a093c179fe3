// 3x3 stride-1 convolution by Winograd's minimal filtering, F(4x4, 3x3): each 4x4
// block of outputs ("tile") is computed from a 6x6 block of input as
//
//   Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
//
// so a tile costs 36 multiplies per (input, output) channel pair instead of 144. Summed
// over input channels, the elementwise product becomes 36 independent GEMMs, one per
// position ξ of the 6x6 transformed tile:
//
//   M[ξ] (cout x tiles) = U[ξ] (cout x cin) · V[ξ] (cin x tiles)
//
// with U = G g G^T the transformed weights (winograd_weights, computed once by the
// caller) and V = B^T d B the transformed input tiles. Three passes: the input transform
// (per image and channel plane: copied with its zero padding into phase-split rows, see
// isa_kernels_impl.h, then transformed a tile row at a time), the batched GEMM, and the
// output transform with the bias, then the activation on each plane while it is in cache.
// The transforms' constants (up to 8 in A, 5 in B) make the float32 results differ from
// the direct method's in the last digits: used for inference only (see ops/conv.ts).
#include "winograd.h"

#include <algorithm>
#include <vector>

#include "../threadpool.h"
#include "gemm.h"
#include "isa_kernels.h"

namespace tsv {
namespace {

constexpr int kTile = 4;                   // outputs per tile side
constexpr int kPoints = 36;                // transformed tile: 6 x 6
constexpr int64_t kChunkBytes = 24 << 20;  // V and M of one chunk of images: about the L3's share

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

thread_local std::vector<float> tl_plane;     // one phase-split padded plane
thread_local std::vector<float> tl_v, tl_m;  // V and M of one chunk of images

float* grow(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

// G (6x3) of F(4x4, 3x3).
constexpr float kG[6][3] = {{1.0f / 4, 0, 0},
                            {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                            {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                            {1.0f / 24, 1.0f / 12, 1.0f / 6},
                            {1.0f / 24, -1.0f / 12, 1.0f / 6},
                            {0, 0, 1}};

}  // namespace

bool winograd_applies(const ConvGeom& g) {
  return g.groups == 1 && g.in[0] == 1 && g.k[0] == 1 && g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 1 && g.s[2] == 1 &&
         g.d[1] == 1 && g.d[2] == 1 && g.out[1] > 0 && g.out[2] > 0;
}

void winograd_weights(int64_t cout, int64_t cin, const float* w, float* u) {
  const int64_t pairs = cout * cin;
  parallel_for(pairs, 256, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; p++) {
      const float* k = w + p * 9;
      float t[6][3];  // G g
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++) t[i][j] = kG[i][0] * k[j] + kG[i][1] * k[3 + j] + kG[i][2] * k[6 + j];
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)  // (G g G^T)[i][j]
          u[(6 * i + j) * pairs + p] = t[i][0] * kG[j][0] + t[i][1] * kG[j][1] + t[i][2] * kG[j][2];
    }
  });
}

void winograd_forward(const ConvGeom& g, const float* x, const float* u, const ConvEpilogue& ep, float* y) {
  const IsaKernels& k = isa_kernels();
  const int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2], ph = g.p[1], pw = g.p[2];
  const int64_t th = ceil_div(oh, kTile), tw = ceil_div(ow, kTile), tiles = th * tw;
  // A padded plane: rows of 4 phases of pl entries; tile row ty reads rows 4ty .. 4ty+5.
  const int64_t pl = ceil_div(tw, 8) * 8 + 1, pitch = 4 * pl, rows = kTile * th + 2;
  const int64_t per_image = kPoints * (g.cin + g.cout) * tiles * int64_t(sizeof(float));
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(g.n, kChunkBytes / per_image));

  for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
    const int64_t images = std::min(chunk, g.n - n0), t_all = images * tiles;
    // +8: the output transform reads whole groups of 8 tiles past a row's end
    float* v = grow(tl_v, kPoints * g.cin * t_all + 8);
    float* m = grow(tl_m, kPoints * g.cout * t_all + 8);

    // V[ξ][c][t] for t = (image, tile row, tile column)
    parallel_for(images * g.cin, 1 + 65536 / (ih * iw * 9 + 1), [&](int64_t b, int64_t e) {
      float* plane = grow(tl_plane, rows * pitch);
      for (int64_t item = b; item < e; item++) {
        const int64_t img = item / g.cin, c = item % g.cin;
        const float* src = x + ((n0 + img) * g.cin + c) * ih * iw;
        std::fill(plane, plane + rows * pitch, 0.0f);
        for (int64_t r = 0; r < ih && r + ph < rows; r++) {
          float* row = plane + (r + ph) * pitch;
          for (int64_t col = 0; col < iw; col++) {
            const int64_t pc = col + pw;  // padded column: phase pc % 4, entry pc / 4
            if (pc < kTile * tw + 2) row[(pc & 3) * pl + (pc >> 2)] = src[r * iw + col];
          }
        }
        float* vt = v + c * t_all + img * tiles;
        for (int64_t ty = 0; ty < th; ty++)
          k.wino_input_row(plane + kTile * ty * pitch, pitch, pl, tw, vt + ty * tw, g.cin * t_all);
      }
    });

    sgemm_batched(kPoints, false, false, g.cout, t_all, g.cin, 1.0f, u, g.cin, g.cout * g.cin, v, t_all, g.cin * t_all,
                  0.0f, m, t_all, g.cout * t_all);

    parallel_for(images * g.cout, 1 + 65536 / (oh * ow * 4 + 1), [&](int64_t b, int64_t e) {
      for (int64_t item = b; item < e; item++) {
        const int64_t img = item / g.cout, c = item % g.cout;
        float* dst = y + ((n0 + img) * g.cout + c) * oh * ow;
        const float* mt = m + c * t_all + img * tiles;
        const float bias = ep.bias ? ep.bias[c] : 0.0f;
        for (int64_t ty = 0; ty < th; ty++) {
          const int out_rows = static_cast<int>(std::min<int64_t>(kTile, oh - kTile * ty));
          k.wino_output_row(mt + ty * tw, g.cout * t_all, tw, bias, dst + kTile * ty * ow, ow, out_rows, ow);
        }
        if (ep.op >= 0) k.unary(static_cast<UnaryOp>(ep.op), dst, dst, oh * ow, ep.p0, ep.p1);
      }
    });
  }
}

}  // namespace tsv

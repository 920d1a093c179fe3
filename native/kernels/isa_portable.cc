// The elementwise/reduction/softmax loops for the baseline target (SSE2 on
// x86-64, NEON on arm64). See isa_kernels.h.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "isa_kernels.h"
#include "vmath.h"

namespace tsv {
namespace portable {
#include "isa_kernels_impl.h"
}  // namespace portable
}  // namespace tsv

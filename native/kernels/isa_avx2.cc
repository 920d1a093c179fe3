// The elementwise/reduction/softmax loops compiled for avx2. See isa_kernels.h.
// Every standard header is included before the target pragma: an inline library
// function instantiated under the pragma could otherwise be chosen by the linker
// for the whole program and crash CPUs without avx2.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "isa_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "vmath.h"

namespace tsv {
namespace avx2 {
#include "isa_kernels_impl.h"
}  // namespace avx2
}  // namespace tsv
#pragma GCC pop_options
#else
namespace tsv {
namespace avx2 {
const IsaKernels kKernels = {};  // never selected off x86-64
}  // namespace avx2
}  // namespace tsv
#endif

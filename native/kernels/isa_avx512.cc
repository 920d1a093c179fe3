// The elementwise/reduction/softmax loops compiled for avx512. See isa_kernels.h.
// Every standard header is included before the target pragma: an inline library
// function instantiated under the pragma could otherwise be chosen by the linker
// for the whole program and crash CPUs without avx512.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "isa_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#include "vmath.h"

namespace tsv {
namespace avx512 {
#include "isa_kernels_impl.h"
}  // namespace avx512
}  // namespace tsv
#pragma GCC pop_options
#else
namespace tsv {
namespace avx512 {
const IsaKernels kKernels = {};  // never selected off x86-64
}  // namespace avx512
}  // namespace tsv
#endif

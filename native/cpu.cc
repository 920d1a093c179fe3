#include "cpu.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define TSV_X86 1
#endif

namespace tsv {
namespace {

Isa detect() {
#if TSV_X86
  __builtin_cpu_init();
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  // The OS must save the wide registers (XCR0: SSE|AVX, and opmask|ZMM for AVX-512).
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return Isa::Portable;  // OSXSAVE
  unsigned xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  bool os_avx = (xcr0_lo & 0x6) == 0x6;
  bool os_avx512 = (xcr0_lo & 0xe6) == 0xe6;
  if (avx512 && os_avx512) return Isa::Avx512;
  if (avx2 && os_avx) return Isa::Avx2;
#endif
  return Isa::Portable;
}

Isa cap_from_env(Isa isa) {
  const char* env = std::getenv("TSVISION_ISA");
  if (!env) return isa;
  Isa want = isa;
  if (!std::strcmp(env, "portable")) want = Isa::Portable;
  else if (!std::strcmp(env, "avx2")) want = Isa::Avx2;
  else if (!std::strcmp(env, "avx512")) want = Isa::Avx512;
  return want < isa ? want : isa;
}

Isa& detected() {
  static Isa isa = detect();
  return isa;
}

Isa& current() {
  static Isa isa = cap_from_env(detected());
  return isa;
}

}  // namespace

Isa active_isa() { return current(); }

void force_isa(Isa isa) { current() = isa < detected() ? isa : detected(); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "portable";
  }
}

}  // namespace tsv

// Run-time CPU feature detection. Kernels are compiled for several instruction
// sets (per-file `#pragma GCC target`), and one is chosen here at load, never by
// -march=native, so a single build runs on any x86-64.
#pragma once

namespace tsv {

enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };

// The best instruction set this CPU and OS support, capped by TSVISION_ISA
// ("portable", "avx2", "avx512") when that is set.
Isa active_isa();
const char* isa_name(Isa isa);
// Overrides the detected ISA (tests use it to run every path); clamps to what the CPU has.
void force_isa(Isa isa);

}  // namespace tsv

{
  "targets": [
    {
      "target_name": "tsvision",
      "sources": [
        "native/addon.cc",
        "native/allocator.cc",
        "native/cpu.cc",
        "native/threadpool.cc",
        "native/kernels/conv.cc",
        "native/kernels/elementwise.cc",
        "native/kernels/gemm.cc",
        "native/kernels/gemm_avx2.cc",
        "native/kernels/gemm_avx512.cc",
        "native/kernels/isa_avx2.cc",
        "native/kernels/isa_avx512.cc",
        "native/kernels/isa_portable.cc",
        "native/kernels/movement.cc",
        "native/kernels/norm.cc",
        "native/kernels/optim.cc",
        "native/kernels/pool.cc",
        "native/kernels/reduce.cc",
        "native/kernels/winograd.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fexceptions", "-Wall", "-Wno-unused-function"],
      "cflags": ["-O3"],
      "ldflags": ["-pthread"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17" }
    }
  ]
}

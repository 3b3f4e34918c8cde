{
  # CPU-only source build (platforms without a prebuilt binary). The CUDA build is
  # CMakeLists.txt; both read the one source list in native/sources.json.
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "BITGRAD_VERSION=\"<!(node -p \"require('./package.json').version\")\""],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-fvisibility=hidden"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    },
    "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"]}}
  },
  "targets": [
    {
      "target_name": "bitgrad",
      "sources": [
        "<!@(node scripts/sources.js core)",
        "<!@(node scripts/sources.js stub)"
      ],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["bitgrad_avx2", "bitgrad_avx512"]}],
        ["OS=='linux'", {"libraries": ["-lpthread"]}]
      ]
    },
    {
      "target_name": "bitgrad_avx2",
      "type": "static_library",
      "sources": ["<!@(node scripts/sources.js avx2)"],
      "cflags_cc": ["-mavx2", "-mfma"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]}
    },
    {
      "target_name": "bitgrad_avx512",
      "type": "static_library",
      "sources": ["<!@(node scripts/sources.js avx512)"],
      "cflags_cc": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma", "-mavx2"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma", "-mavx2"]}
    }
  ]
}

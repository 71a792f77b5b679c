{
  "variables": { "sanitize%": 0 },
  "targets": [
    {
      "target_name": "vmsim_native",
      "sources": [
        "native/binding.cc",
        "native/batch_accel.cc",
        "native/cpu.cc",
        "native/frames.cc",
        "native/hierarchy.cc",
        "native/lackey_scan.cc",
        "native/page_table.cc",
        "native/ram.cc",
        "native/reclaim.cc",
        "native/tlb.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-O2"],
      "cflags": ["-O3", "-fexceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-falign-loops=64", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CFLAGS": ["-O3"] },
      "conditions": [
        ["sanitize==1", {
          "cflags": ["-fsanitize=address,undefined,float-cast-overflow", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"],
          "cflags_cc": ["-fsanitize=address,undefined,float-cast-overflow", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address,undefined,float-cast-overflow"]
        }]
      ]
    }
  ]
}

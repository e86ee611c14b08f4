// What every fuzz target asserts: a parser answers bad bytes with lpl::Error (one clear message).
// Anything else (a crash, a sanitizer report, std::bad_alloc from a size taken on trust, another
// exception type) escapes to libFuzzer as a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common.h"

template <class F>
int lpl_fuzz_expect_error_or_success(F&& parse) {
  try {
    parse();
  } catch (const lpl::Error&) {
  }
  return 0;
}

inline std::string lpl_fuzz_string(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }
inline std::vector<uint8_t> lpl_fuzz_bytes(const uint8_t* data, size_t size) { return std::vector<uint8_t>(data, data + size); }

// Helpers of the spiking tests: test-data paths and fresh temporary output folders.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace lpl::spiking::test {

inline std::string data_dir() {
  const char* d = std::getenv("LPL_TEST_DATA");
  return std::string(d ? d : "data") + "/spiking";
}

inline std::string temp_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("lpl_spiking_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace lpl::spiking::test

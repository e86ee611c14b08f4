// Fetching an official dataset archive when its files are absent: curl with a progress bar, MD5
// verification, extraction with tar. Offline (or LPL_OFFLINE=1) it fails with a message that says
// which file to fetch from where and where to put it.
#pragma once
#include <string>

namespace lpl::data::detail {

struct Archive {
  std::string dataset;     // "cifar10"
  std::string url;         // official address
  std::string md5;         // of the archive
  std::string probe;       // a file (relative to the data folder) that exists once extracted
};

// Ensures dir/probe exists, downloading and extracting the archive into dir when it does not.
// $LPL_MIRROR (a base URL) replaces the official folder of the address (mirrors, tests).
void ensure_dataset(const Archive& a, const std::string& dir);

// MD5 of a file as 32 lowercase hex digits (md5sum).
std::string md5_of_file(const std::string& path);

}  // namespace lpl::data::detail

// File helpers of the dataset readers (data/readers.h), apart from the readers so that parsers
// can be built alone (fuzz/).
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

std::string default_data_dir(const std::string& name) {
  if (const char* root = std::getenv("LPL_DATA_ROOT"); root && *root) return std::string(root) + "/" + name;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/data/datasets/" + name;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void require_file(const std::string& path, const std::string& what) {
  if (file_exists(path)) return;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(what + ": " + path + " is a directory, expected a file");
  fail(what + ": missing file " + path);
}

std::vector<uint8_t> read_file(const std::string& path, const std::string& what) {
  require_file(path, what);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(what + ": cannot open " + path);
  std::streamsize n = f.tellg();
  f.seekg(0);
  std::vector<uint8_t> buf(static_cast<size_t>(n));
  if (n > 0 && !f.read(reinterpret_cast<char*>(buf.data()), n)) fail(what + ": cannot read " + path);
  return buf;
}

}  // namespace lpl::data::detail

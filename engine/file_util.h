// Files that survive a kill at any instant: written to a temporary file beside the target, flushed,
// fsynced and renamed over it (then the directory is fsynced), so readers see the old or the new file.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lpl {

void atomic_write_file(const std::string& path, std::string_view bytes);
// Several pieces written in order into one file (avoids building one big buffer).
void atomic_write_file(const std::string& path, const std::vector<std::string_view>& pieces);
std::string read_file(const std::string& path);  // whole file; clear error when missing/unreadable
bool file_exists(const std::string& path);
void make_dirs(const std::string& path);  // mkdir -p; error names the path

}  // namespace lpl

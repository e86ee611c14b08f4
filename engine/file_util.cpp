#include "engine/file_util.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "engine/common.h"

namespace lpl {

namespace {
[[noreturn]] void io_fail(const std::string& what, const std::string& path) {
  fail(fmt::format("{} '{}': {}", what, path, std::strerror(errno)));
}

void write_all(int fd, std::string_view b, const std::string& path) {
  while (!b.empty()) {
    ssize_t n = ::write(fd, b.data(), b.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail("cannot write", path);
    }
    b.remove_prefix(static_cast<size_t>(n));
  }
}
}  // namespace

void atomic_write_file(const std::string& path, const std::vector<std::string_view>& pieces) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::string tmp = (p.parent_path() / fmt::format(".{}.tmp-{}", p.filename().string(), ::getpid())).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail("cannot create", tmp);
  try {
    for (auto piece : pieces) write_all(fd, piece, tmp);
    if (::fsync(fd) != 0) io_fail("cannot fsync", tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    io_fail("cannot close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    io_fail("cannot rename temporary file onto", path);
  }
  // The rename itself is durable only once the directory entry is on disk.
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void atomic_write_file(const std::string& path, std::string_view bytes) {
  atomic_write_file(path, std::vector<std::string_view>{bytes});
}

std::string read_file(const std::string& path) {
  // (an ifstream opens a directory and fails on reading it with "basic_filebuf::underflow")
  if (std::filesystem::is_directory(path)) fail(fmt::format("'{}' is a directory, expected a file", path));
  std::ifstream f(path, std::ios::binary);
  if (!f) io_fail("cannot open", path);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) io_fail("cannot read", path);
  return s;
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) fail(fmt::format("cannot create directory '{}': {}", path, ec.message()));
}

}  // namespace lpl

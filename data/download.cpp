// Downloads run curl and tar as child processes (no network library in the engine).
#include "data/download.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
int run(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return st == -1 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}
}  // namespace

std::string md5_of_file(const std::string& path) {
  FILE* p = popen(("md5sum " + quote(path) + " 2>/dev/null").c_str(), "r");
  if (!p) fail("cannot run md5sum on " + path);
  char buf[64] = {};
  size_t n = std::fread(buf, 1, 32, p);
  pclose(p);
  return n == 32 ? std::string(buf, 32) : std::string();
}

void ensure_dataset(const Archive& a, const std::string& dir) {
  if (file_exists(dir + "/" + a.probe)) return;
  const std::string name = a.url.substr(a.url.find_last_of('/') + 1);
  std::string url = a.url;
  if (const char* m = std::getenv("LPL_MIRROR"); m && *m) url = std::string(m) + "/" + name;
  const std::string manual = strf("%s: missing %s/%s. Download %s (md5 %s) and extract it into %s "
                                  "(tar -xzf %s -C %s), or pass --data_dir to a folder that holds it",
                                  a.dataset.c_str(), dir.c_str(), a.probe.c_str(), a.url.c_str(), a.md5.c_str(),
                                  dir.c_str(), name.c_str(), dir.c_str());
  if (const char* off = std::getenv("LPL_OFFLINE"); off && *off && std::string(off) != "0") fail(manual + " (LPL_OFFLINE is set)");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(manual + " (cannot create " + dir + ": " + ec.message() + ")");
  const std::string archive = dir + "/" + name, part = archive + ".part";
  if (!file_exists(archive) || md5_of_file(archive) != a.md5) {
    std::fprintf(stderr, "%s: downloading %s to %s\n", a.dataset.c_str(), url.c_str(), archive.c_str());
    int rc = run("curl -fL --retry 2 --connect-timeout 20 --progress-bar -o " + quote(part) + " " + quote(url));
    if (rc != 0) {
      std::filesystem::remove(part, ec);
      fail(manual + strf(" (the download failed: curl exit status %d; offline?)", rc));
    }
    std::string got = md5_of_file(part);
    if (got != a.md5) {
      std::filesystem::remove(part, ec);
      fail(manual + " (the downloaded file's checksum " + (got.empty() ? std::string("?") : got) + " does not match)");
    }
    std::filesystem::rename(part, archive, ec);
    if (ec) fail(manual + " (cannot rename " + part + ": " + ec.message() + ")");
  }
  std::fprintf(stderr, "%s: extracting %s\n", a.dataset.c_str(), archive.c_str());
  if (run("tar -xzf " + quote(archive) + " -C " + quote(dir)) != 0) fail(manual + " (tar could not extract " + archive + ")");
  if (!file_exists(dir + "/" + a.probe)) fail(manual + " (the archive did not contain " + a.probe + ")");
}

}  // namespace lpl::data::detail
